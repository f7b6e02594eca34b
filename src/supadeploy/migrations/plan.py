"""What a push would do: compare local migration files with the remote history."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from supadeploy.errors import PlanError
from supadeploy.migrations.files import Migration
from supadeploy.migrations.history import HistoryRow

StoredStatements = Callable[[list[str]], Mapping[str, Sequence[str]]]
"""Reads the stored statements of the given versions (one query), for history rows read as digests."""


@dataclass(frozen=True)
class Drift:
    """An applied migration whose local file no longer holds the statements that ran."""

    migration: Migration
    stored: HistoryRow


@dataclass(frozen=True)
class Plan:
    pending: list[Migration]
    applied: list[Migration]
    out_of_order: list[Migration]
    remote_only: list[HistoryRow]
    drifted: list[Drift]
    history: list[HistoryRow]
    comment_only: list[Drift] = field(default_factory=list)
    """Applied migrations edited since they ran only in comments or whitespace: reported, not drift."""

    @property
    def newest_applied_version(self) -> str | None:
        return max((row.version for row in self.history), default=None)


def build_plan(local: list[Migration], history: list[HistoryRow]) -> Plan:
    """Classify every local migration and history row (pure: no database access)."""
    applied_rows = {row.version: row for row in history}
    local_versions = {migration.version for migration in local}
    newest_applied = max(applied_rows, default=None)
    pending: list[Migration] = []
    applied: list[Migration] = []
    out_of_order: list[Migration] = []
    drifted: list[Drift] = []
    for migration in local:
        row = applied_rows.get(migration.version)
        if row is None:
            pending.append(migration)
            if newest_applied is not None and migration.version < newest_applied:
                out_of_order.append(migration)
            continue
        applied.append(migration)
        if row.matches(migration) is False:
            drifted.append(Drift(migration=migration, stored=row))
    remote_only = [row for row in history if row.version not in local_versions]
    return Plan(pending=pending, applied=applied, out_of_order=out_of_order, remote_only=remote_only,
                drifted=drifted, history=history)


def set_aside_comment_only_edits(plan: Plan, stored_statements: StoredStatements) -> Plan:
    """``plan`` with the drifted migrations whose statements parse as the stored ones moved to ``comment_only``.

    Rows read as digests get their statements from ``stored_statements``, called once and only for them."""
    if not plan.drifted:
        return plan
    from supadeploy.migrations.equivalence import only_comments_differ

    digest_only = [drift.stored.version for drift in plan.drifted if drift.stored.statements is None]
    fetched = stored_statements(digest_only) if digest_only else {}
    drifted: list[Drift] = []
    comment_only: list[Drift] = []
    for drift in plan.drifted:
        stored = drift.stored.statements if drift.stored.statements is not None else fetched.get(drift.stored.version)
        same = stored is not None and only_comments_differ(drift.migration.statement_texts, stored)
        (comment_only if same else drifted).append(drift)
    return replace(plan, drifted=drifted, comment_only=[*plan.comment_only, *comment_only])


def check_plan(plan: Plan, *, include_all: bool, allow_drift: bool) -> None:
    """Stop a push whose plan is unsafe, naming the versions and the remedy."""
    if plan.remote_only:
        versions = ", ".join(_label(row) for row in plan.remote_only)
        raise PlanError(
            f"the database has applied migrations that are not in your migrations folder: {versions}",
            fix="restore those files from version control (git pull), or if they were never meant to exist run "
                f"`supadeploy repair {' '.join(r.version for r in plan.remote_only)} --status reverted`",
        )
    if plan.out_of_order and not include_all:
        versions = ", ".join(m.file_name for m in plan.out_of_order)
        raise PlanError(
            f"pending migrations are older than the newest applied one ({plan.newest_applied_version}): {versions}",
            fix="rename them to a newer version, or pass --include-all to apply them out of order",
        )
    if plan.drifted and not allow_drift:
        files = ", ".join(str(d.migration.path) for d in plan.drifted)
        versions = " ".join(d.migration.version for d in plan.drifted)
        raise PlanError(
            f"applied migrations were edited after they ran (local statements differ from the history): {files}",
            fix="revert the edits (git checkout) and put the change in a new migration (`supadeploy migration new`); "
                "or pass --allow-drift to push anyway; or, if the database really holds the edited statements, "
                f"record them with `supadeploy repair {versions} --status applied`",
        )


def comment_only_note(drift: Drift) -> str:
    """The line push prints for an applied file whose edit changed only comments or whitespace."""
    return (f"{drift.migration.file_name} changed only in comments/whitespace since it ran; not drift (the history "
            f"keeps the text that ran: `supadeploy repair {drift.migration.version} --status applied` records the "
            "new text)")


def newest_versions_text(versions: Sequence[str], shown: int = 5) -> str:
    """The newest ``shown`` of ``versions`` (oldest first), after an ellipsis when some are left out."""
    return ("…, " if len(versions) > shown else "") + ", ".join(versions[-shown:])


def _label(row: HistoryRow) -> str:
    return f"{row.version}_{row.name}" if row.name else row.version

