"""The official Supabase CLI as an engine: find it, check its version, run `supabase db push`, read its failure.

supadeploy does its own plan, lock and drift check around the run (see ``supadeploy.engines``); this module
only drives the binary. The database password never goes on the command line (where `ps` would show it): the
URL is passed without it and the password in ``PGPASSWORD``, which the CLI's Postgres driver reads.
"""

from __future__ import annotations

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
INSTALL_HINT = ("install it with `npm install --save-dev --save-exact supabase@2.117.0` (or `brew install "
                "supabase/tap/supabase`); supadeploy looks on PATH, then in ./node_modules/.bin and "
                "./.tools/node_modules/.bin, or where $SUPABASE_CLI points")
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")
APPLYING_LINE = re.compile(r"^Applying migration (?P<file>\S+?)\.\.\.\s*$")
_SQL_ERROR = re.compile(r"^ERROR: (?P<message>.*?)(?: \(SQLSTATE (?P<sqlstate>[0-9A-Z]{5})\))?\s*$")
_AT_STATEMENT = re.compile(r"^At statement:? (?P<index>\d+)\s*$")


class CliVersionTooOld(SupadeployError):
    pass


@dataclass(frozen=True)
class SupabaseCli:
    path: Path
    version: tuple[int, int, int]


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


def find_supabase_cli(workdir: Path, *, explicit: str | None = None) -> SupabaseCli:
    """The Supabase CLI on PATH or in the project's tools folder, checked to be new enough."""
    candidates = [explicit or os.environ.get("SUPABASE_CLI") or "", shutil.which("supabase") or "",
                  str(workdir / "node_modules" / ".bin" / "supabase"),
                  str(workdir / ".tools" / "node_modules" / ".bin" / "supabase")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return SupabaseCli(Path(candidate), _version_of(Path(candidate)))
    raise SupadeployError("the Supabase CLI is not installed", fix=INSTALL_HINT)


def cli_is_installed(workdir: Path) -> SupabaseCli | None:
    try:
        return find_supabase_cli(workdir)
    except CliVersionTooOld:
        raise
    except SupadeployError:
        return None


def _version_of(path: Path) -> tuple[int, int, int]:
    try:
        completed = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SupadeployError(f"cannot run the Supabase CLI at {path}: {exc}", fix=INSTALL_HINT) from None
    match = _VERSION.search(completed.stdout + completed.stderr)
    if completed.returncode != 0 or match is None:
        raise SupadeployError(f"{path} --version did not print a version", fix=INSTALL_HINT)
    found = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if found < MINIMUM_VERSION:
        minimum = ".".join(map(str, MINIMUM_VERSION))
        raise CliVersionTooOld(
            f"the Supabase CLI at {path} is {'.'.join(map(str, found))}; supadeploy needs {minimum} or newer",
            fix=f"upgrade it: npm install --save-dev --save-exact supabase@{minimum} (or newer)")
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


def run_db_push(cli: SupabaseCli, workdir: Path, *, db_url: str | None = None, linked: bool = False,
                include_all: bool = False, extra_env: dict[str, str] | None = None,
                on_output: Callable[[str], None] | None = None, secrets: tuple[str, ...] = ()) -> CliPushRun:
    """`supabase db push --yes` with ``--db-url`` (or ``--linked``), streaming each output line, redacted."""
    command = [str(cli.path), "db", "push", "--yes", "--workdir", str(workdir)]
    environment = {**os.environ, **(extra_env or {})}
    hidden = list(secrets)
    if db_url:
        bare_url, password = split_password(db_url)
        command += ["--db-url", bare_url]
        if password is not None:
            environment["PGPASSWORD"] = password
            hidden.append(password)
    elif linked:
        command.append("--linked")
    else:
        raise ValueError("run_db_push needs db_url or linked=True")
    if include_all:
        command.append("--include-all")
    run = CliPushRun(returncode=-1)
    process = subprocess.Popen(command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=environment, errors="replace")
    assert process.stdout is not None
    with process:
        for raw in process.stdout:
            line = redact_text(raw.rstrip("\n"), tuple(hidden))
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
