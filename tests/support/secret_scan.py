"""A pytest plugin: every test's outputs are scanned for the secrets the tests used; any hit fails that test.

Registered by ``pytest_plugins`` in tests/conftest.py, it applies to the whole suite.

What is scanned, per test:

* the stdout and stderr of every in-process CLI run (``typer.testing.CliRunner.invoke``: JSON documents included)
  and of every ``supadeploy`` child process (``subprocess.Popen.communicate``, which ``subprocess.run`` uses);
* the files (names and contents) that such a run created or changed under the test's ``tmp_path``: GitHub step
  summary and output files, backups, generated type files, manifests, reports;
* log records (a handler on the root logger);
* what pytest captured (stdout, stderr, log) in each phase;
* the deploy log rows (``supabase_migrations.supadeploy_deployments``) of every test database, read just before
  the ``make_db`` fixture drops it.

The secrets: a registry seeded with the suite's known ones (the access tokens and keys of the local Management
API server, the password of ``$SUPADEPLOY_TEST_ADMIN_URL``), plus, per test, every secret a test hands to
supadeploy: passwords in ``--db-url`` and in any URL argument, ``SUPABASE_ACCESS_TOKEN`` / ``SUPABASE_DB_PASSWORD``
/ ``*_DB_URL`` in the environment a run is given, the tokens a ``ManagementApiServer`` is started with, and
whatever a test registers itself with :func:`register_secret`. Values shorter than 6 characters and the public
default password ``postgres`` are not secrets. Each text is scanned when it is produced, against the secrets known
then (a test registers its secrets before it uses them), so nothing is kept in memory.

A hit fails the test (or, for deploy log rows found at teardown, errors it) with where the secret was found and
which one, the secret itself replaced by ``<secret:LABEL>``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import subprocess
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pluggy
import pytest

if TYPE_CHECKING:
    from typer import Typer
    from typer.testing import Result

MIN_LENGTH = 6
PUBLIC_VALUES = frozenset({"postgres", "password", "[YOUR-PASSWORD]", "****"})
SECRET_VARIABLES = ("SUPABASE_ACCESS_TOKEN", "SUPABASE_DB_PASSWORD", "SUPADEPLOY_DB_URL", "SUPADEPLOY_TEST_ADMIN_URL",
                    "SUPABASE_SERVICE_ROLE_KEY")
MAX_FILE_BYTES = 4_000_000
_URL_WITH_PASSWORD = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/@:]*:[^\s@]+@[^\s]+")


@dataclass
class Hit:
    where: str
    label: str
    excerpt: str


@dataclass
class Totals:
    tests: int = 0
    texts: int = 0
    bytes: int = 0
    files: int = 0
    deploy_log_rows: int = 0
    log_records: int = 0
    secrets: set[str] = field(default_factory=set)
    hits: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"tests": self.tests, "texts": self.texts, "bytes": self.bytes, "files": self.files,
                "deploy_log_rows": self.deploy_log_rows, "log_records": self.log_records,
                "distinct_secrets": len(self.secrets), "hits": self.hits}


class SecretRegistry:
    """The secrets to look for: permanent ones (the whole session) and the current test's."""

    def __init__(self) -> None:
        self.permanent: dict[str, str] = {}
        self.per_test: dict[str, str] = {}

    def register(self, value: str | None, label: str, *, permanent: bool = False) -> None:
        if not value or len(value) < MIN_LENGTH or value in PUBLIC_VALUES:
            return
        table = self.permanent if permanent else self.per_test
        for variant in {value, unquote(value)}:
            if len(variant) >= MIN_LENGTH and variant not in PUBLIC_VALUES:
                table.setdefault(variant, label)

    def register_url(self, url: str, label: str, *, permanent: bool = False) -> None:
        try:
            password = urlsplit(url).password
        except ValueError:
            password = None
        if password is None and "@" in url and "://" in url:  # malformed: what sits between user: and the last @
            userinfo = url.split("://", 1)[1].rpartition("@")[0]
            password = userinfo.partition(":")[2] or None
        self.register(password, label, permanent=permanent)

    def register_text(self, text: str, label: str) -> None:
        """Passwords of every URL found in ``text`` (a command-line argument, an environment value)."""
        if "://" in text:
            self.register_url(text, label)
            for match in _URL_WITH_PASSWORD.finditer(text):
                self.register_url(match.group(0), label)

    def register_environment(self, env: Mapping[str, str | None] | None, label: str) -> None:
        for name, value in (env or {}).items():
            if value is None:
                continue
            if name in SECRET_VARIABLES or name.endswith("_DB_URL"):
                if "://" in value:
                    self.register_url(value, f"{name} of {label}")
                else:
                    self.register(value, f"${name} of {label}")

    def new_test(self) -> None:
        self.per_test = {}

    def items(self) -> list[tuple[str, str]]:
        return [*self.permanent.items(), *self.per_test.items()]


REGISTRY = SecretRegistry()
TOTALS = Totals()


def register_secret(value: str, label: str = "registered by the test") -> None:
    """Tell the scanner about a secret the current test uses: any output containing it fails the test."""
    REGISTRY.register(value, label)


class _Scanner:
    """The current test's findings."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.item: pytest.Item | None = None
        self.active = False

    def scan(self, where: str, text: str | bytes | None) -> None:
        if not text:
            return
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        TOTALS.texts += 1
        TOTALS.bytes += len(text)
        for secret, label in REGISTRY.items():
            TOTALS.secrets.add(secret)
            index = text.find(secret)
            if index >= 0:
                self.hits.append(Hit(where, label, _excerpt(text, index, secret, label)))

    # --- files written under the test's tmp dirs ------------------------------------------------------------

    def tmp_dirs(self) -> list[Path]:
        """The test's ``tmp_path`` once it exists (read from the fixture cache: fixtures run CLIs too)."""
        if self.item is None:
            return []
        value = getattr(self.item, "funcargs", {}).get("tmp_path")
        if value is None:
            definitions = getattr(getattr(self.item, "_request", None), "_fixture_defs", {})
            cached = getattr(definitions.get("tmp_path"), "cached_result", None)
            value = cached[0] if cached else None
        return [Path(value)] if isinstance(value, Path) else []

    def snapshot(self) -> dict[Path, tuple[int, int]]:
        files: dict[Path, tuple[int, int]] = {}
        for root in self.tmp_dirs():
            for directory, _, names in os.walk(root):
                for name in names:
                    path = Path(directory) / name
                    with contextlib.suppress(OSError):
                        stat = path.lstat()
                        files[path] = (stat.st_mtime_ns, stat.st_size)
        return files

    def scan_written(self, before: dict[Path, tuple[int, int]], by: str) -> None:
        for path, signature in self.snapshot().items():
            if before.get(path) == signature or path.is_symlink():
                continue
            TOTALS.files += 1
            self.scan(f"the name of a file written by {by}", str(path))
            with contextlib.suppress(OSError):
                if path.stat().st_size <= MAX_FILE_BYTES:
                    self.scan(f"file {path} written by {by}", path.read_bytes())


SCANNER = _Scanner()


def _excerpt(text: str, index: int, secret: str, label: str) -> str:
    start = max(0, index - 60)
    excerpt = text[start:index + len(secret) + 60]
    for known, known_label in REGISTRY.items():
        excerpt = excerpt.replace(known, f"<secret:{known_label}>")
    return excerpt.replace(secret, f"<secret:{label}>")


def _redacted(text: str) -> str:
    for known, label in REGISTRY.items():
        text = text.replace(known, f"<secret:{label}>")
    return text


def _describe(args: Sequence[str]) -> str:
    shown = " ".join(str(arg) for arg in args)
    for known, label in REGISTRY.items():
        shown = shown.replace(known, f"<secret:{label}>")
    return shown[:160]


# --- what is patched -------------------------------------------------------------------------------------------


def _patch_cli_runner() -> None:
    from typer.testing import CliRunner

    original = CliRunner.invoke

    def invoke(self: CliRunner, app: Typer, args: str | Sequence[str] | None = None, *rest: Any,
               **kwargs: Any) -> Result:
        if not SCANNER.active:
            return original(self, app, args, *rest, **kwargs)
        arguments = [args] if isinstance(args, str) else [str(arg) for arg in (args or [])]
        _register_arguments(arguments, "a CLI argument")
        REGISTRY.register_environment(kwargs.get("env"), "a CLI run")
        before = SCANNER.snapshot()
        result = original(self, app, args, *rest, **kwargs)
        by = f"`supadeploy {_describe(arguments)}`"
        for stream in ("stdout", "stderr"):
            with contextlib.suppress(ValueError, AttributeError):
                SCANNER.scan(f"{stream} of {by}", getattr(result, stream))
        SCANNER.scan_written(before, by)
        return result

    CliRunner.invoke = invoke  # type: ignore[method-assign]


def _register_arguments(arguments: Sequence[str], label: str) -> None:
    for index, argument in enumerate(arguments):
        REGISTRY.register_text(argument, label)
        if argument in ("--password", "--token", "--access-token") and index + 1 < len(arguments):
            REGISTRY.register(arguments[index + 1], label)


def _is_supadeploy(args: Any) -> bool:
    parts = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args or [])
    text = [str(part) for part in parts]
    return any(part == "supadeploy" or part.endswith("/supadeploy") for part in text)


def _patch_subprocess() -> None:
    original_init = subprocess.Popen.__init__
    original_communicate = subprocess.Popen.communicate

    def init(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        original_init(self, args, *rest, **kwargs)
        if SCANNER.active and _is_supadeploy(args):
            arguments = [str(arg) for arg in (args if isinstance(args, (list, tuple)) else [args])]
            _register_arguments(arguments, "a CLI argument")
            REGISTRY.register_environment(kwargs.get("env"), "a CLI process")
            self._secret_scan = (f"`{_describe(arguments)}` (process)", SCANNER.snapshot())  # type: ignore[attr-defined]

    def communicate(self: subprocess.Popen[Any], *rest: Any, **kwargs: Any) -> Any:
        result = original_communicate(self, *rest, **kwargs)
        watched = getattr(self, "_secret_scan", None)
        if watched is not None and SCANNER.active:
            by, before = watched
            stdout, stderr = result
            SCANNER.scan(f"stdout of {by}", stdout)
            SCANNER.scan(f"stderr of {by}", stderr)
            SCANNER.scan_written(before, by)
        return result

    subprocess.Popen.__init__ = init  # type: ignore[method-assign]
    subprocess.Popen.communicate = communicate  # type: ignore[method-assign]


def _patch_api_server() -> None:
    from tests.support import management_api_server as api

    for value, label in ((api.TEST_TOKEN, "the local API server's access token"),
                         ("test-service-role-key", "the service_role key of the local API server"),
                         ("test-jwt-secret-that-is-long-enough-000000", "the JWT secret of the local API server")):
        REGISTRY.register(value, label, permanent=True)
    original = api.ManagementApiServer.__init__

    def init(self: api.ManagementApiServer, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        REGISTRY.register(self.token, "an access token of the local API server")
        for token in self.tokens_without_access:
            REGISTRY.register(token, "an access token of the local API server")

    api.ManagementApiServer.__init__ = init  # type: ignore[method-assign]


def _patch_drop_database() -> None:
    from tests.support import databases

    original = databases.drop_database

    def drop_database(admin_url: str, url: str) -> None:
        if SCANNER.active:
            with contextlib.suppress(Exception):  # the database may be gone or unreachable: nothing to scan
                for row in deploy_log_rows(url):
                    TOTALS.deploy_log_rows += 1
                    SCANNER.scan("a deploy log row (supabase_migrations.supadeploy_deployments)", row)
        original(admin_url, url)

    databases.drop_database = drop_database


def deploy_log_rows(url: str) -> list[str]:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        (exists,) = conn.execute(
            "select to_regclass('supabase_migrations.supadeploy_deployments') is not null").fetchone() or (False,)
        if not exists:
            return []
        return [str(row[0]) for row in conn.execute("select d::text from supabase_migrations.supadeploy_deployments d")]


class _LogScanner(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if SCANNER.active:
            TOTALS.log_records += 1
            with contextlib.suppress(Exception):
                SCANNER.scan(f"log record of {record.name}", record.getMessage())


# --- hooks -----------------------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    _patch_cli_runner()
    _patch_subprocess()
    _patch_api_server()
    _patch_drop_database()
    REGISTRY.register_url(os.environ.get("SUPADEPLOY_TEST_ADMIN_URL", ""), "the test server's password",
                          permanent=True)
    logging.getLogger().addHandler(_LogScanner(level=logging.DEBUG))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    REGISTRY.new_test()
    SCANNER.hits = []
    SCANNER.item = item
    SCANNER.active = True
    TOTALS.tests += 1
    try:
        yield
    finally:
        SCANNER.active = False
        SCANNER.item = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                               ) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    outcome = yield
    report = outcome.get_result()
    for name, content in report.sections:
        if name.endswith(f" {report.when}"):  # each phase's capture once ("Captured stdout call", ...)
            SCANNER.scan(f"pytest's {name.lower()}", content)
    if report.when == "setup" or not SCANNER.hits or report.skipped:
        return
    hits, SCANNER.hits = SCANNER.hits, []
    TOTALS.hits += len(hits)
    report.sections = [(name, _redacted(content)) for name, content in report.sections]  # pytest prints them
    if report.failed:
        report.sections.append(("secret scan", _render(hits)))
        return
    report.outcome = "failed"
    report.longrepr = _render(hits)


def _render(hits: list[Hit]) -> str:
    lines = [f"secret leak: {len(hits)} output(s) of this test contain a secret it used"]
    for hit in hits[:10]:
        lines.append(f"- {hit.label}, in {hit.where}:\n    ...{hit.excerpt}...")
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    figures = TOTALS.as_dict()
    terminalreporter.write_line("secret scan: " + ", ".join(f"{key.replace('_', ' ')} {value:,}"
                                                            for key, value in figures.items()))
    path = os.environ.get("SUPADEPLOY_RELIABILITY_FIGURES")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"test": "secret scan (whole run)", **figures}) + "\n")
