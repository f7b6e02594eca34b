"""A backup before a protected deploy: pg_dump over a direct connection, or a Management API restore point.

pg_dump runs in custom format (schema and data) into ``<backup_dir>/<environment>-<UTC timestamp>.dump``, a
0600 file in a 0700 folder git does not track (supadeploy.backup_files). The password never reaches its
command line: libpq's own parser splits the URL (every form: ``user:pass@``, ``?password=``, percent-encoding,
``host=/socket``), pg_dump gets the rest as a key=value connection string and the password in PGPASSWORD. A
table lock held by another session stops it after ``[push] lock_timeout`` (pg_dump's --lock-wait-timeout)
instead of an hour later, naming the holder. It is used only when a pg_dump at least as new as the server is
installed; otherwise the caller must choose another way (restore point, or --no-backup).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from supadeploy.backup_files import backup_file_name, create_private_file, prepare_backup_folder, prune_backups
from supadeploy.errors import SupadeployError
from supadeploy.redact import redact_text

if TYPE_CHECKING:
    from supadeploy.config import ProjectConfig
    from supadeploy.targets.base import Target

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
_LOCKED_TABLE = re.compile(r"LOCK TABLE (?P<table>.+?) IN ACCESS SHARE MODE")
_ACCESS_EXCLUSIVE_HOLDERS = """
SELECT a.pid, a.application_name, a.usename, host(a.client_addr), a.backend_start, a.state
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'relation' AND l.granted AND l.mode = 'AccessExclusiveLock'
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.relation = to_regclass(%s::text)
ORDER BY a.backend_start
"""
DUMP_TIMEOUT_SECONDS = 3600
BACKUP_DIR_VARIABLE = "SUPADEPLOY_BACKUP_DIR"
"""Overrides [push] backup_dir: the generated deploy workflows point it at $RUNNER_TEMP, outside the workspace,
and upload the file as a workflow artifact."""
SECRET_KEYWORDS = ("password", "sslpassword")


@dataclass(frozen=True)
class Backup:
    kind: str  # "pg_dump" | "restore-point"
    location: str  # a file path, or the restore point's name


@dataclass(frozen=True)
class PgDumpRequest:
    url: str
    server_major: int
    workdir: Path
    backup_dir: Path
    """$SUPADEPLOY_BACKUP_DIR, else [push] backup_dir: absolute, or relative to ``workdir``"""
    environment: str
    lock_wait_timeout: str = "10000ms"
    """as Postgres settings accept it; "0" waits as long as it takes"""
    keep: int | None = None
    """[push] keep_backups: how many backups of the environment to keep (None: all)"""

    @classmethod
    def for_project(cls, project: ProjectConfig, environment: str, url: str, server_major: int) -> PgDumpRequest:
        from supadeploy.config import postgres_duration

        settings = project.push
        backup_dir = os.environ.get(BACKUP_DIR_VARIABLE) or settings.backup_dir
        return cls(url=url, server_major=server_major, workdir=project.workdir, backup_dir=Path(backup_dir),
                   environment=environment,
                   lock_wait_timeout=postgres_duration(settings.lock_timeout, where="[push] lock_timeout"),
                   keep=settings.keep_backups)


def find_pg_dump(server_major: int) -> tuple[Path, int] | None:
    """The newest pg_dump on PATH or in the usual package folders; None when none is new enough."""
    from supadeploy.local import SEARCH_GLOBS

    candidates: list[Path] = []
    on_path = shutil.which("pg_dump")
    if on_path:
        candidates.append(Path(on_path))
    for pattern in SEARCH_GLOBS:
        candidates += [Path(p) / "pg_dump" for p in sorted(glob.glob(pattern))]
    best: tuple[Path, int] | None = None
    for candidate in candidates:
        major = _major_version(candidate)
        if major is not None and major >= server_major and (best is None or major > best[1]):
            best = (candidate, major)
    return best


def _major_version(binary: Path) -> int | None:
    if not binary.exists():
        return None
    try:
        output = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(output)
    return int(match.group(1)) if match else None


def split_password(url: str) -> tuple[str, dict[str, str]]:
    """(a key=value connection string without secrets, the secrets as libpq environment variables)."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        parameters = {key: str(value) for key, value in conninfo_to_dict(url).items() if value is not None}
    except ProgrammingError:
        raise SupadeployError("the database URL cannot be parsed for pg_dump",
                              fix="write it as postgresql://USER:PASSWORD@HOST:PORT/DATABASE") from None
    secrets = {keyword: parameters.pop(keyword) for keyword in SECRET_KEYWORDS if keyword in parameters}
    if "sslpassword" in secrets:  # libpq reads no variable for it: it cannot be passed safely
        raise SupadeployError("the database URL has an sslpassword, which pg_dump could only get on its command line",
                              fix="use an unencrypted client key (readable only by you), or pass --no-backup")
    environment = {"PGPASSWORD": secrets["password"]} if "password" in secrets else {}
    return make_conninfo("", **parameters), environment


def pg_dump_backup(request: PgDumpRequest, target: Target | None = None,
                   announce: Callable[[str], None] = lambda line: None) -> Backup:
    """Back up the database with pg_dump; ``target`` (a connection to it) names a lock holder that stops it."""
    found = find_pg_dump(request.server_major)
    if found is None:
        raise SupadeployError(
            f"no pg_dump {request.server_major} or newer is installed, so no backup can be taken",
            fix=f"install the PostgreSQL {request.server_major} client tools (e.g. apt-get install "
                f"postgresql-client-{request.server_major}), use --engine api for a restore point, or pass "
                "--no-backup to deploy without one",
        )
    conninfo, secret_variables = split_password(request.url)
    folder = prepare_backup_folder(request.workdir, request.backup_dir, request.environment)
    for note in folder.notes:
        announce(f"note: {note}")
    path = create_private_file(folder.path, request.environment)
    announce(f"backup: pg_dump of environment '{request.environment}' into {path} ...")
    arguments = [str(found[0]), "--format=custom", "--no-password", f"--file={path}", f"--dbname={conninfo}"]
    if request.lock_wait_timeout != "0":
        arguments.append(f"--lock-wait-timeout={request.lock_wait_timeout}")
    try:
        completed = subprocess.run(arguments, capture_output=True, text=True, timeout=DUMP_TIMEOUT_SECONDS,
                                   env={**os.environ, **secret_variables})
    except (OSError, subprocess.SubprocessError) as error:
        path.unlink(missing_ok=True)
        raise SupadeployError(f"the backup with pg_dump could not run: {type(error).__name__}",
                              fix="fix the cause and rerun, or pass --no-backup to deploy without a backup") from None
    if completed.returncode != 0:
        path.unlink(missing_ok=True)
        raise _dump_failed(completed.stderr, request, target, tuple(secret_variables.values()))
    if request.keep is not None:
        for removed in prune_backups(folder.path, request.environment, request.keep):
            announce(f"backup: removed {removed.name} ([push] keep_backups = {request.keep})")
    return Backup(kind="pg_dump", location=str(path))


def _dump_failed(stderr: str, request: PgDumpRequest, target: Target | None,
                 secrets: tuple[str, ...]) -> SupadeployError:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    locked = next((match for line in lines if (match := _LOCKED_TABLE.search(line))), None)
    if locked is not None:
        table = locked.group("table")
        return SupadeployError(
            f"the backup with pg_dump stopped: another session holds a lock on {table} and pg_dump waited "
            f"{request.lock_wait_timeout} ([push] lock_timeout) for it; it is held by {_lock_holders(target, table)}",
            fix="let that session finish (or end it with pg_terminate_backend(pid)) and rerun; raise [push] "
                "lock_timeout to wait longer, or pass --no-backup to deploy without a backup",
        )
    reason = redact_text(lines[-1] if lines else "failed", secrets)
    return SupadeployError(f"the backup with pg_dump failed: {reason}",
                           fix="fix the cause and rerun, or pass --no-backup to deploy without a backup")


def _lock_holders(target: Target | None, table: str) -> str:
    unknown = "a session supadeploy could not name (see pg_locks)"
    if target is None:
        return unknown
    from supadeploy.targets.postgres import describe_lock_holder

    try:
        rows = target.query(_ACCESS_EXCLUSIVE_HOLDERS, (table,))
    except Exception:  # naming the holder is a courtesy; the refusal is what the user must see
        return unknown
    return describe_lock_holder(rows) if rows else "a session that has finished since"


def restore_point_backup(create_restore_point: object, project_ref: str, environment: str) -> Backup:
    """A Management API restore point (``client.create_restore_point`` is passed in to keep httpx lazy)."""
    name = backup_file_name(environment).removesuffix(".dump")
    try:
        point = create_restore_point(project_ref, f"supadeploy-{name}")  # type: ignore[operator]
    except SupadeployError as error:
        raise SupadeployError(f"the restore point could not be created: {error.what}",
                              fix="fix the cause and rerun, or pass --no-backup to deploy without a backup") from None
    return Backup(kind="restore-point", location=f"restore point {point.name} ({point.status})")
