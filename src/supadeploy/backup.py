"""A backup before a protected deploy: pg_dump over a direct connection, or a Management API restore point.

pg_dump runs with the password in PGPASSWORD (never on the command line), in custom format (schema and data),
into ``<backup_dir>/<environment>-<UTC timestamp>.dump``. It is used only when a pg_dump at least as new as
the server is installed; otherwise the caller must choose another way (restore point, or --no-backup).
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from supadeploy.errors import SupadeployError
from supadeploy.redact import redact_text

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class Backup:
    kind: str  # "pg_dump" | "restore-point"
    location: str  # a file path, or the restore point's name


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


def backup_file_name(environment: str, now: dt.datetime | None = None) -> str:
    moment = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    safe_environment = re.sub(r"[^A-Za-z0-9_-]", "_", environment)
    return f"{safe_environment}-{moment}.dump"


def pg_dump_backup(url: str, server_major: int, directory: Path, environment: str) -> Backup:
    found = find_pg_dump(server_major)
    if found is None:
        raise SupadeployError(
            f"no pg_dump {server_major} or newer is installed, so no backup can be taken",
            fix=f"install the PostgreSQL {server_major} client tools (e.g. apt-get install postgresql-client-"
                f"{server_major}), use --engine api for a restore point, or pass --no-backup to deploy without one",
        )
    binary, _ = found
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / backup_file_name(environment)
    parts = urlsplit(url)
    password = unquote(parts.password) if parts.password else None
    host = parts.hostname or ""
    netloc = (f"{parts.username}@" if parts.username else "") + (f"[{host}]" if ":" in host else host) + \
        (f":{parts.port}" if parts.port else "")
    url_without_password = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    environment_variables = dict(os.environ)
    if password:
        environment_variables["PGPASSWORD"] = password
    completed = subprocess.run(
        [str(binary), "--format=custom", "--no-password", f"--file={path}", f"--dbname={url_without_password}"],
        capture_output=True, text=True, env=environment_variables, timeout=3600,
    )
    if completed.returncode != 0:
        path.unlink(missing_ok=True)
        reason = redact_text(completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else "failed",
                             (password,) if password else ())
        raise SupadeployError(f"the backup with pg_dump failed: {reason}",
                              fix="fix the cause and rerun, or pass --no-backup to deploy without a backup")
    return Backup(kind="pg_dump", location=str(path))


def restore_point_backup(create_restore_point: object, project_ref: str, environment: str) -> Backup:
    """A Management API restore point (``client.create_restore_point`` is passed in to keep httpx lazy)."""
    name = backup_file_name(environment).removesuffix(".dump")
    try:
        point = create_restore_point(project_ref, f"supadeploy-{name}")  # type: ignore[operator]
    except SupadeployError as error:
        raise SupadeployError(f"the restore point could not be created: {error.what}",
                              fix="fix the cause and rerun, or pass --no-backup to deploy without a backup") from None
    return Backup(kind="restore-point", location=f"restore point {point.name} ({point.status})")
