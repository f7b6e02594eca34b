"""``supadeploy repair``: mark versions applied or reverted in the history, exactly like
``supabase migration repair`` (Supabase CLI 2.117.0, checked by tests/test_repair.py against the real CLI).

* ``--status applied VERSION...``: each version needs a local file ``VERSION_name.sql``; its row is written
  as the CLI writes it (version, name, statements split the CLI's way), replacing a row already there.
* ``--status reverted VERSION...``: the rows are deleted; versions not in the history are ignored.
* no VERSION: the whole history is made to match: emptied, then (``applied``) one row per local file.
* versions are digits only; the history table is created first when missing. All of it runs in one
  transaction, and nothing is written when one version has no local file.

One difference, on purpose: ``NNN_name.down.sql`` files are never taken for a migration (the CLI's
``NNN_*.sql`` glob picks the down file first when one exists).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from supadeploy.errors import MigrationFileError, SupadeployError
from supadeploy.migrations.files import Migration
from supadeploy.migrations.history import HistoryEdit, HistoryEntry
from supadeploy.targets.base import Target

APPLIED, REVERTED = "applied", "reverted"
_VERSION = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class RepairResult:
    status: str
    versions: list[str]
    whole_history: bool
    rows_written: int
    rows_deleted: int


def check_repair_arguments(versions: list[str], status: str) -> None:
    if status not in (APPLIED, REVERTED):
        raise SupadeployError(f"--status must be 'applied' or 'reverted', not '{status}'", exit_code=2,
                              fix="pass --status applied or --status reverted")
    for version in versions:
        if not _VERSION.match(version):
            raise SupadeployError(f"'{version}' is not a migration version: versions are digits only",
                                  fix="pass the number at the start of the file name, e.g. 20240101120000 or 004")


def repair(target: Target, local: list[Migration], versions: list[str], status: str) -> RepairResult:
    """Write the history like ``supabase migration repair VERSION... --status STATUS``."""
    check_repair_arguments(versions, status)
    files = {m.version: m for m in local}
    chosen: list[Migration] = []
    if status == APPLIED:
        missing = [v for v in versions if v not in files]
        if missing:
            raise MigrationFileError(f"no local migration file for version(s) {', '.join(missing)}",
                                     fix="--status applied records a local file: pass versions that have one")
        chosen = [files[v] for v in dict.fromkeys(versions)] if versions else list(local)
    target.ensure_history_table()
    edit = HistoryEdit(delete_all=not versions, delete=tuple(versions) if status == REVERTED else (),
                       upsert=tuple(HistoryEntry.of(m) for m in chosen))
    deleted = target.edit_history(edit)
    return RepairResult(status=status, versions=list(versions) or [m.version for m in chosen],
                        whole_history=not versions, rows_written=len(chosen), rows_deleted=max(deleted, 0))
