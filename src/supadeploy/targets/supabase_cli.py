"""The official Supabase CLI as an engine: find the project's CLI, check its version, drive it, read its output.

Supported: 2.117.0 and newer 2.x, and 3.x (pinned and tested: 2.117.0 and 3.1.0). The two majors are pointed at a
database differently: 2.x takes ``--db-url URL`` / ``--project-id REF``, 3.x ``--remote=URL`` / ``--remote=REF``
(its ``--db-url`` is deprecated, and without ``--remote`` it targets the local stack). Both get ``--yes`` (3.x
answers "No" to a hosted change otherwise) and ``--output-format text`` (both switch to JSON when they detect an
AI agent in the environment; the text is what is parsed here, and it is the same in both majors).

supadeploy does its own plan, lock and drift check around the run (see ``supadeploy.engines``); this module
only drives the binary. The database password never goes on the command line (where `ps` would show it): the
URL is passed without it and the password in ``PGPASSWORD``, which the CLI's Postgres driver reads.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from supadeploy.errors import SupadeployError
from supadeploy.redact import redact_text

MINIMUM_VERSION = (2, 117, 0)
NEWEST_MAJOR = 3
CLI_VARIABLE = "SUPABASE_CLI"
SUPPORTED_VERSIONS = "2.117.0 or newer, up to 3.x"
INSTALL_HINT = ("add it to the project with `npm install --save-dev --save-exact supabase@3.1.0` (or 2.117.0), "
                "or point $SUPABASE_CLI at it; supadeploy uses the `supabase` of the project's package.json "
                "(node_modules/.bin), then $SUPABASE_CLI, then PATH, then ./node_modules/.bin and "
                "./.tools/node_modules/.bin")
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")
_EXACT_VERSION = re.compile(r"^=?v?(\d+\.\d+\.\d+)$")
APPLYING_LINE = re.compile(r"^Applying migration (?P<file>\S+?)\.\.\.\s*$")
_SQL_ERROR = re.compile(r"^ERROR: (?P<message>.*?)(?: \(SQLSTATE (?P<sqlstate>[0-9A-Z]{5})\))?\s*$")
_AT_STATEMENT = re.compile(r"^At statement:? (?P<index>\d+)\s*$")
_DEPENDENCY_SECTIONS = ("devDependencies", "dependencies")


class CliNotInstalled(SupadeployError):
    pass


class CliVersionTooOld(SupadeployError):
    pass


@dataclass(frozen=True)
class SupabaseCli:
    path: Path
    version: tuple[int, int, int]
    source: str = "PATH"   # how it was found, for `describe_supabase_cli`

    @property
    def version_text(self) -> str:
        return ".".join(str(part) for part in self.version)

    def database_flags(self, url: str) -> list[str]:
        """Point a database command at ``url``: ``--db-url URL`` (2.x) or ``--remote=URL`` (3.x)."""
        return ["--db-url", url] if self.version[0] < 3 else [f"--remote={url}"]

    def project_flags(self, project_ref: str) -> list[str]:
        """Point a command at a hosted project: ``--project-id REF`` (2.x) or ``--remote=REF`` (3.x)."""
        return ["--project-id", project_ref] if self.version[0] < 3 else [f"--remote={project_ref}"]


@dataclass(frozen=True)
class CliSqlFailure:
    """What the CLI printed about the statement that failed."""

    file_name: str | None
    message: str
    sqlstate: str | None
    statement_index: int | None
    statement_line: str | None
    caret_column: int | None


@dataclass
class CliPushRun:
    returncode: int
    output: list[str] = field(default_factory=list)
    applying: list[str] = field(default_factory=list)   # file names, in the order the CLI started them
    sql_failure: CliSqlFailure | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def find_supabase_cli(workdir: Path) -> SupabaseCli:
    """The project's Supabase CLI, checked to be a supported version.

    In order: ``supabase`` declared in the project's package.json (then node_modules/.bin/supabase must be
    installed, and be the pinned version when the pin is exact), ``$SUPABASE_CLI``, PATH, and
    last ./node_modules/.bin and ./.tools/node_modules/.bin of the project.
    """
    declared = declared_in_package_json(workdir)
    if declared is not None:
        return _pinned_cli(workdir, *declared)
    configured = os.environ.get(CLI_VARIABLE, "").strip()
    if configured:
        if not _is_executable(Path(configured)):
            raise CliNotInstalled(f"the Supabase CLI is not installed at ${CLI_VARIABLE} ({configured})",
                                  fix=f"point ${CLI_VARIABLE} at the `supabase` executable, or unset it; "
                                      + INSTALL_HINT)
        return _checked(Path(configured), f"${CLI_VARIABLE}")
    on_path = shutil.which("supabase")
    if on_path:
        return _checked(Path(on_path), "PATH")
    for folder in (workdir / "node_modules" / ".bin", workdir / ".tools" / "node_modules" / ".bin"):
        if _is_executable(folder / "supabase"):
            return _checked(folder / "supabase", str(folder))
    raise CliNotInstalled("the Supabase CLI is not installed", fix=INSTALL_HINT)


def cli_is_installed(workdir: Path) -> SupabaseCli | None:
    try:
        return find_supabase_cli(workdir)
    except CliNotInstalled:
        return None


def describe_supabase_cli(workdir: Path) -> str:
    """One line for `supadeploy status`: which CLI the project uses, and how it was chosen (never raises)."""
    try:
        cli = find_supabase_cli(workdir)
    except SupadeployError as error:
        return f"Supabase CLI: unavailable ({error.what}" + (f"; {error.fix})" if error.fix else ")")
    return f"Supabase CLI {cli.version_text} at {cli.path} (from {cli.source})"


def declared_in_package_json(workdir: Path) -> tuple[str, str] | None:
    """(section, version spec) of ``supabase`` in the project's package.json, or None."""
    path = workdir / "package.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise SupadeployError(f"cannot read {path}: {exc}", fix="fix the file's permissions or encoding") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SupadeployError(f"package.json is not valid JSON: {exc.msg}", where=f"{path}:{exc.lineno}:{exc.colno}",
                              fix="fix the JSON (supadeploy reads it to find the project's `supabase`)") from None
    for section in _DEPENDENCY_SECTIONS:
        dependencies = document.get(section) if isinstance(document, dict) else None
        if isinstance(dependencies, dict) and isinstance(dependencies.get("supabase"), str):
            return section, dependencies["supabase"].strip()
    return None


def _pinned_cli(workdir: Path, section: str, spec: str) -> SupabaseCli:
    path = workdir / "node_modules" / ".bin" / "supabase"
    where = str(workdir / "package.json")
    if not _is_executable(path):
        raise CliNotInstalled(f"package.json pins supabase {spec} ({section}), but {path} is not installed",
                              where=where, fix=f"run `npm ci` (or `npm install`) in {workdir}")
    cli = _checked(path, f"package.json {section}: supabase {spec}")
    exact = _EXACT_VERSION.match(spec)
    if exact and exact.group(1) != cli.version_text:
        raise SupadeployError(f"package.json pins supabase {exact.group(1)}, but {path} is {cli.version_text}",
                              where=where, fix=f"run `npm ci` in {workdir} to install the pinned version")
    return cli


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _checked(path: Path, source: str) -> SupabaseCli:
    stat = path.stat()
    return SupabaseCli(path, _version_of(str(path), stat.st_mtime_ns, stat.st_size), source)


@functools.lru_cache(maxsize=8)
def _version_of(path: str, _mtime_ns: int, _size: int) -> tuple[int, int, int]:
    """`supabase --version`, once per binary (the file's mtime and size are part of the key)."""
    try:
        completed = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60,
                                   stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SupadeployError(f"cannot run the Supabase CLI at {path}: {exc}", fix=INSTALL_HINT) from None
    match = _VERSION.search(completed.stdout + completed.stderr)
    if completed.returncode != 0 or match is None:
        raise SupadeployError(f"{path} --version did not print a version", fix=INSTALL_HINT)
    found = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
    found_text = ".".join(map(str, found))
    if found < MINIMUM_VERSION:
        minimum = ".".join(map(str, MINIMUM_VERSION))
        raise CliVersionTooOld(
            f"the Supabase CLI at {path} is {found_text}; supadeploy needs {minimum} or newer",
            fix=f"upgrade it: npm install --save-dev --save-exact supabase@{minimum} (or newer)")
    if found[0] > NEWEST_MAJOR:
        raise SupadeployError(
            f"the Supabase CLI at {path} is {found_text}; supadeploy supports {SUPPORTED_VERSIONS}",
            fix="pin a supported CLI: npm install --save-dev --save-exact supabase@3.1.0, or use --engine native")
    return found


def split_password(url: str) -> tuple[str, str | None]:
    """The URL without its password, and the password (decoded), so it can travel in PGPASSWORD."""
    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}@{host}" + (f":{parts.port}" if parts.port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), unquote(parts.password)


def cli_environment(db_url: str, extra_env: dict[str, str] | None = None, secrets: tuple[str, ...] = ()
                    ) -> tuple[str, dict[str, str], tuple[str, ...]]:
    """The URL without its password, the CLI's environment (the password in PGPASSWORD), what to redact."""
    bare_url, password = split_password(db_url)
    environment = {**os.environ, **(extra_env or {})}
    hidden = list(secrets)
    if password is not None:
        environment["PGPASSWORD"] = password
        hidden.append(password)
    return bare_url, environment, tuple(hidden)


def run_db_push(cli: SupabaseCli, workdir: Path, *, db_url: str, include_all: bool = False,
                extra_env: dict[str, str] | None = None, on_output: Callable[[str], None] | None = None,
                secrets: tuple[str, ...] = ()) -> CliPushRun:
    """`supabase db push --yes` to ``db_url`` (flags of the CLI's major), streaming each output line, redacted."""
    bare_url, environment, hidden = cli_environment(db_url, extra_env, secrets)
    command = [str(cli.path), "db", "push", "--yes", "--output-format", "text", "--workdir", str(workdir),
               *cli.database_flags(bare_url)]
    if include_all:
        command.append("--include-all")
    run = CliPushRun(returncode=-1)
    process = subprocess.Popen(command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=environment, errors="replace")
    assert process.stdout is not None
    with process:
        for raw in process.stdout:
            line = redact_text(raw.rstrip("\n"), hidden)
            run.output.append(line)
            applying = APPLYING_LINE.match(line.strip())
            if applying:
                run.applying.append(applying.group("file"))
            if on_output is not None:
                on_output(line)
    run.returncode = process.returncode
    if not run.ok:
        run.sql_failure = parse_failure(run.output, run.applying[-1] if run.applying else None)
    return run


def parse_failure(lines: list[str], file_name: str | None) -> CliSqlFailure | None:
    """Read `ERROR: ... (SQLSTATE x)` / `At statement: N` / the statement line / a caret from the CLI's output."""
    for index, line in enumerate(lines):
        error = _SQL_ERROR.match(line.strip())
        if error is None:
            continue
        statement_index = statement_line = caret_column = None
        following = lines[index + 1:]
        if following and (at := _AT_STATEMENT.match(following[0].strip())):
            statement_index = int(at.group("index"))
            # The statement follows, whole; a caret line sits under the line that holds the error.
            for offset in range(2, len(following)):
                if following[offset].strip() == "^":
                    statement_line = following[offset - 1]
                    caret_column = following[offset].index("^") + 1
                    break
                if following[offset].startswith(("Try rerunning", "ERROR:")):
                    break
        return CliSqlFailure(file_name, error.group("message"), error.group("sqlstate"), statement_index,
                             statement_line, caret_column)
    return None


def failure_summary(run: CliPushRun) -> str:
    """The CLI's own words, for failures that are not a SQL error."""
    meaningful = [line for line in run.output if line.strip() and not line.startswith("Try rerunning")]
    return "\n  ".join(meaningful[-6:]) or f"exit code {run.returncode}"
