"""``supadeploy reconcile``: explain every mismatch between the remote history and the local files.

The Supabase CLI's "Remote migration versions not found in local migrations directory" usually means a
migration was applied through the dashboard, an assistant or the Management API, which stamped its own
timestamp as the version. ``supabase migration repair --status reverted`` makes the error go away by
erasing the record of a change that really is in production. reconcile classifies instead:

``renamed``
    a remote-only row and a local-only file hold the same statements (identical, or the same parse trees
    once comments, whitespace and statement splitting are set aside). Fix: rewrite the remote row to the
    local version, name and statements (default), or rename the local file to the remote version.
``remote-only``
    a remote row with no local counterpart. Fix: write ``VERSION_name.sql`` from its stored statements,
    byte for byte like ``supabase migration fetch``. Deleting the row needs ``revert_remote_only``.
``out-of-order``
    a local file not in the history, older than the newest remote version.
``edited``
    a version in both whose local statements differ from the stored ones (``cosmetic`` when only comments
    or whitespace changed).

Nothing is changed without ``apply``; no history row is ever deleted without ``revert_remote_only``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supadeploy.errors import SupadeployError
from supadeploy.migrations.equivalence import only_comments_differ
from supadeploy.migrations.files import Migration
from supadeploy.migrations.history import HistoryEdit, HistoryEntry, HistoryRow
from supadeploy.rollback import down_file_candidates
from supadeploy.targets.base import Target

RENAMED, REMOTE_ONLY, OUT_OF_ORDER, EDITED = "renamed", "remote-only", "out-of-order", "edited"
REWRITE_REMOTE, RENAME_LOCAL = "rewrite-remote", "rename-local"


@dataclass(frozen=True)
class Mismatch:
    kind: str
    local: Migration | None
    remote: HistoryRow | None
    detail: str
    proposal: str

    @property
    def version(self) -> str:
        return self.remote.version if self.remote is not None else self.local.version if self.local else "?"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "remote_version": self.remote.version if self.remote else None,
                "remote_name": self.remote.name if self.remote else None,
                "local_file": str(self.local.path) if self.local else None,
                "detail": self.detail, "proposal": self.proposal}


@dataclass
class ReconcileReport:
    mismatches: list[Mismatch]
    in_sync: int
    pending: list[Migration]

    def of_kind(self, kind: str) -> list[Mismatch]:
        return [m for m in self.mismatches if m.kind == kind]


def same_statements(local: Migration, remote: HistoryRow) -> str | None:
    """``identical``, ``equivalent`` (same parse trees) or None."""
    if remote.statements is None:
        return None
    if tuple(local.statement_texts) == remote.statements:
        return "identical"
    return "equivalent" if only_comments_differ(local.statement_texts, remote.statements) else None


def reconcile(local: list[Migration], history: list[HistoryRow]) -> ReconcileReport:
    """Classify every difference between ``local`` files and remote ``history`` (pure: no database access)."""
    files = {m.version: m for m in local}
    rows = {r.version: r for r in history}
    newest_remote = max(rows, default=None)
    mismatches: list[Mismatch] = []
    in_sync = 0
    for version in sorted(set(files) & set(rows)):
        migration, row = files[version], rows[version]
        if row.statements is None or tuple(migration.statement_texts) == row.statements:
            in_sync += 1
            continue
        cosmetic = same_statements(migration, row) == "equivalent"
        mismatches.append(Mismatch(
            EDITED, migration, row,
            f"{migration.file_name} was edited after it was applied"
            + (" (only comments or whitespace)" if cosmetic else ""),
            "revert the edit and put the change in a new migration" if not cosmetic else
            f"harmless: push goes on and notes it; `supadeploy repair {version} --status applied` records the new "
            "text"))
    local_only = [files[v] for v in sorted(set(files) - set(rows))]
    remote_only = [rows[v] for v in sorted(set(rows) - set(files))]
    matched: set[str] = set()
    for row in remote_only:
        match = next(((m, how) for m in local_only if m.version not in matched
                      and (how := same_statements(m, row)) is not None), None)
        if match is not None:
            migration, how = match
            matched.add(migration.version)
            mismatches.append(Mismatch(
                RENAMED, migration, row,
                f"remote version {row.version} ({row.name or 'no name'}) holds the {how} statements as "
                f"{migration.file_name}: it was applied under another version",
                f"rewrite the remote row to version {migration.version} (reconcile --apply), or rename the file "
                f"to {row.version}_{migration.name}.sql (reconcile --apply --strategy rename-local)"))
            continue
        proposal = (f"write {fetched_file_name(row)} from the stored statements (reconcile --apply)"
                    if row.statements is not None else "no statements were stored: restore the file from version "
                    "control, or remove the row with --revert-remote-only")
        mismatches.append(Mismatch(REMOTE_ONLY, None, row,
                                   f"remote version {row.version} ({row.name or 'no name'}) has no local file",
                                   proposal))
    pending = []
    for migration in local_only:
        if migration.version in matched:
            continue
        if newest_remote is not None and migration.version < newest_remote:
            mismatches.append(Mismatch(
                OUT_OF_ORDER, migration, None,
                f"{migration.file_name} is not applied and is older than the newest remote version {newest_remote}",
                f"rename it to a version after {newest_remote}, or push with --include-all"))
        else:
            pending.append(migration)
    mismatches.sort(key=lambda m: m.version)
    return ReconcileReport(mismatches=mismatches, in_sync=in_sync, pending=pending)


def fetched_file_name(row: HistoryRow) -> str:
    """The file ``supabase migration fetch`` writes for a history row."""
    return f"{row.version}_{row.name or ''}.sql"


def fetched_file_text(row: HistoryRow) -> str:
    """The text ``supabase migration fetch`` writes: each statement followed by ';' and a newline."""
    return ";\n".join(row.statements or ()) + ";\n"


# --- applying ----------------------------------------------------------------------------------------


@dataclass
class ReconcileActions:
    rewritten: list[tuple[str, str]] = field(default_factory=list)
    """(remote version, new version) of rewritten history rows."""
    renamed_files: list[tuple[str, str]] = field(default_factory=list)
    written_files: list[str] = field(default_factory=list)
    reverted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def apply_reconcile(target: Target, report: ReconcileReport, migrations_dir: Path, *,
                    strategy: str = REWRITE_REMOTE, revert_remote_only: bool = False) -> ReconcileActions:
    """Carry out the proposals for ``renamed`` and ``remote-only`` mismatches (history writes in one
    transaction); ``out-of-order`` and ``edited`` are left for a human."""
    if strategy not in (REWRITE_REMOTE, RENAME_LOCAL):
        raise SupadeployError(f"unknown strategy '{strategy}'", exit_code=2,
                              fix=f"pass --strategy {REWRITE_REMOTE} or --strategy {RENAME_LOCAL}")
    actions = ReconcileActions()
    renames = report.of_kind(RENAMED)
    remote_only = [m for m in report.of_kind(REMOTE_ONLY) if m.remote is not None]
    if strategy == RENAME_LOCAL:
        _rename_files(renames, actions)
    rewrite: list[tuple[str, HistoryEntry]] = []
    if strategy == REWRITE_REMOTE:
        for mismatch in renames:
            assert mismatch.local is not None and mismatch.remote is not None
            rewrite.append((mismatch.remote.version, HistoryEntry.of(mismatch.local)))
            actions.rewritten.append((mismatch.remote.version, mismatch.local.version))
    reverted = [m.remote.version for m in remote_only if m.remote is not None] if revert_remote_only else []
    edit = HistoryEdit(delete=tuple(reverted), rewrite=tuple(rewrite))
    if not edit.empty:
        target.edit_history(edit)
    actions.reverted.extend(reverted)
    if not revert_remote_only:
        _write_fetched_files(remote_only, migrations_dir, actions)
    return actions


def _rename_files(renames: list[Mismatch], actions: ReconcileActions) -> None:
    moves: list[tuple[Path, Path]] = []
    for mismatch in renames:
        assert mismatch.local is not None and mismatch.remote is not None
        old = mismatch.local.path
        moves.append((old, old.with_name(f"{mismatch.remote.version}_{mismatch.local.name}.sql")))
        for down in down_file_candidates(mismatch.local):
            if down.exists():
                moves.append((down, down.with_name(f"{mismatch.remote.version}_{mismatch.local.name}.down.sql")))
    taken = [new for _, new in moves if new.exists()]
    if taken:
        raise SupadeployError(f"cannot rename: {', '.join(str(p) for p in taken)} already exists",
                              fix="move that file away, or use --strategy rewrite-remote")
    for old, new in moves:
        old.rename(new)
        actions.renamed_files.append((str(old), str(new)))


def _write_fetched_files(remote_only: list[Mismatch], migrations_dir: Path, actions: ReconcileActions) -> None:
    for mismatch in remote_only:
        row = mismatch.remote
        assert row is not None
        path = migrations_dir / fetched_file_name(row)
        if row.statements is None or path.exists():
            actions.skipped.append(f"{row.version}: " + ("no statements stored" if row.statements is None
                                                         else f"{path} already exists"))
            continue
        path.write_text(fetched_file_text(row), encoding="utf-8")
        actions.written_files.append(str(path))
