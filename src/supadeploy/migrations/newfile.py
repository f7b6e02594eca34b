"""`supadeploy migration new NAME`: the next file, in the folder's own numbering style."""

from __future__ import annotations

import datetime as dt
import getpass
import re
from pathlib import Path

from supadeploy.errors import MigrationFileError
from supadeploy.migrations.files import MIGRATION_FILE_PATTERN

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
TIMESTAMP_DIGITS = 14

HEADER_TEMPLATE = """\
-- Migration: {version}_{name}
-- Purpose: TODO: what this migration changes and why
-- Date: {date}
-- Author: {author}
-- Breaking Changes: none
-- Rollback:
--   TODO: the SQL that undoes this migration

"""


def next_version(directory: Path, now: dt.datetime) -> str:
    """The next NNN (zero-padded like the existing files) or, by default, a UTC timestamp."""
    versions = [m.group(1) for p in directory.glob("*.sql") if (m := MIGRATION_FILE_PATTERN.match(p.name))]
    short = [v for v in versions if len(v) < TIMESTAMP_DIGITS]
    if short and len(short) == len(versions):
        width = max(len(v) for v in short)
        return str(max(int(v) for v in short) + 1).zfill(width)
    timestamp = now.strftime("%Y%m%d%H%M%S")
    newest = max(versions, default="")
    if timestamp <= newest:  # two files in the same second, or a clock behind the folder
        timestamp = str(int(newest) + 1)
    return timestamp


def create_migration_file(directory: Path, name: str, *, author: str | None = None,
                          now: dt.datetime | None = None) -> Path:
    if not SAFE_NAME.match(name):
        raise MigrationFileError(
            f"'{name}' is not a safe migration name",
            fix="use letters, digits, '_' and '-' only, starting with a letter or digit (e.g. add_user_email)",
        )
    if not directory.is_dir():
        raise MigrationFileError("migrations folder not found", where=str(directory),
                                 fix="run `supadeploy init` first, or pass --workdir")
    now = now or dt.datetime.now(dt.timezone.utc)
    version = next_version(directory, now)
    path = directory / f"{version}_{name}.sql"
    content = HEADER_TEMPLATE.format(version=version, name=name, date=now.date().isoformat(),
                                     author=author or _default_author())
    with path.open("x", encoding="utf-8") as handle:
        handle.write(content)
    return path


def _default_author() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"
