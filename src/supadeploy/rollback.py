"""Undo applied migrations, newest first, with their down SQL.

Down SQL of migration ``NNN_name.sql`` comes from, in this order:

1. ``NNN_name.down.sql`` next to the migration;
2. ``down/NNN_name.down.sql`` in the migrations folder (the Supabase CLI ignores sub-folders, so a team
   that also runs ``supabase db push`` keeps its down files there);
3. the runbook header's ``-- Rollback:`` field, one or more comment lines of SQL.

Each migration is undone in one transaction together with the removal of its history row: all of it or
none of it. A migration without down SQL (or whose file is missing) stops the rollback before anything runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from pglast import parse_sql
from pglast.parser import ParseError

from supadeploy.errors import Interrupted, PlanError, SupadeployError
from supadeploy.migrations.failure import MigrationFailed
from supadeploy.migrations.files import DOWN_FILE_SUFFIX, Migration, read_text
from supadeploy.migrations.header import HEADER_FIELDS, leading_comment_lines
from supadeploy.migrations.history import HistoryRow
from supadeploy.migrations.plan import newest_versions_text
from supadeploy.targets.base import SessionLimits, Target

if TYPE_CHECKING:
    from supadeploy.migrations.executable import ExecutableSql

DOWN_FOLDER = "down"
_FIELD_LINE = re.compile(r"^--\s*([A-Za-z][A-Za-z ]*?)\s*:")
_ROLLBACK_FIELD = re.compile(r"^(--\s*rollback\s*:)", re.IGNORECASE)


@dataclass(frozen=True)
class DownSql:
    """The down SQL of one migration, as a Migration whose locations point into the file that holds it."""

    migration: Migration
    source: str
    """``file`` (a .down.sql file) or ``header`` (the -- Rollback: field of the migration file)."""

    @property
    def path(self) -> Path:
        return self.migration.path


def down_file_candidates(migration: Migration) -> list[Path]:
    name = f"{migration.version}_{migration.name}{DOWN_FILE_SUFFIX}"
    return [migration.path.with_name(name), migration.path.parent / DOWN_FOLDER / name]


def down_sql_for(migration: Migration) -> DownSql | None:
    """The down SQL of ``migration``, or None when it has none (a header that is not SQL counts as none)."""
    for candidate in down_file_candidates(migration):
        if candidate.is_file():
            text = read_text(candidate)
            return DownSql(migration=_as_migration(migration, candidate, text), source="file")
    header_sql = rollback_header_sql(migration.sql)
    if header_sql is None or not _is_sql(header_sql):
        return None
    return DownSql(migration=_as_migration(migration, migration.path, header_sql), source="header")


def rollback_header_sql(sql: str) -> str | None:
    """The ``-- Rollback:`` field's SQL, padded so that every character keeps its line and column in the file
    (comment markers become spaces, other lines become empty); None without SQL in the field."""
    lines = leading_comment_lines(sql)
    start = next((i for i, (_, text) in enumerate(lines) if _ROLLBACK_FIELD.match(text)), None)
    if start is None:
        return None
    raw_lines = sql.lstrip("\ufeff").splitlines()
    padded = [""] * len(raw_lines)
    for index, (number, text) in enumerate(lines[start:]):
        raw = raw_lines[number - 1]
        if index > 0 and (_is_field(text) or text.lower().lstrip("- ").startswith("supadeploy:")):
            break
        marker = _ROLLBACK_FIELD.match(raw.strip()) if index == 0 else re.match(r"--", raw.strip())
        indent = len(raw) - len(raw.lstrip())
        cut = indent + (marker.end() if marker else 0)
        padded[number - 1] = " " * cut + raw[cut:]
    body = "\n".join(padded)
    return body if body.strip() else None


def _is_field(text: str) -> bool:
    match = _FIELD_LINE.match(text)
    return bool(match and match.group(1).strip().lower() in HEADER_FIELDS)


def _is_sql(text: str) -> bool:
    try:
        return bool(parse_sql(text))
    except ParseError:
        return False


def _as_migration(migration: Migration, path: Path, text: str) -> Migration:
    return Migration(version=migration.version, name=migration.name, path=path, sql=text)


# --- planning ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RollbackStep:
    migration: Migration
    down: DownSql


@dataclass(frozen=True)
class RollbackPlan:
    to_version: str
    steps: list[RollbackStep]
    """Newest first."""


def plan_rollback(local: list[Migration], history: list[HistoryRow], to_version: str) -> RollbackPlan:
    """The migrations to undo to get back to ``to_version`` (an applied version, or 0 for all).

    Raises PlanError naming the migration when one of them has no local file or no down SQL.
    """
    applied = sorted(row.version for row in history)
    if to_version != "0" and to_version not in applied:
        raise PlanError(f"version {to_version} is not in the migration history",
                        fix=f"pass one of the applied versions ({newest_versions_text(applied) or 'none'}), or 0 to "
                            "undo every migration")
    files = {m.version: m for m in local}
    newer = [version for version in reversed(applied) if version > to_version or to_version == "0"]
    missing_file = [version for version in newer if version not in files]
    if missing_file:
        raise PlanError(f"no local migration file for applied version(s) {', '.join(missing_file)}: cannot find "
                        "their down SQL", fix="restore the files (git pull), or run `supadeploy reconcile`")
    steps = []
    for version in newer:
        migration = files[version]
        down = down_sql_for(migration)
        if down is None:
            candidates = " or ".join(str(p.name) for p in down_file_candidates(migration)[:1])
            raise PlanError(f"{migration.file_name} has no down SQL; nothing was rolled back",
                            where=str(migration.path),
                            fix=f"write {candidates} (or down/{candidates}), or SQL under its -- Rollback: header")
        check_down(down)
        steps.append(RollbackStep(migration=migration, down=down))
    return RollbackPlan(to_version=to_version, steps=steps)


# --- applying ----------------------------------------------------------------------------------------


class RollbackFailed(SupadeployError):
    """The down SQL of one migration failed: that migration stays applied."""


@dataclass(frozen=True)
class RolledBack:
    version: str
    name: str
    down_file: str
    source: str


@dataclass
class RollbackResult:
    plan: RollbackPlan
    rolled_back: list[RolledBack]


def check_down(down: DownSql, *, standard_conforming_strings: bool = True) -> None:
    """Lex and check the down SQL as the server will run it (MigrationFileError at file:line), before any runs."""
    _executable(down, standard_conforming_strings)


def run_down(connection: psycopg.Connection[tuple[object, ...]], down: DownSql) -> None:
    """Run a migration's down SQL on ``connection`` (inside the caller's transaction), each statement once and
    exactly as written; MigrationFailed on error, located in the file that holds the down SQL."""
    from supadeploy.targets.postgres_apply import run_statements

    run_statements(connection, down.migration,
                   _executable(down, connection.info.parameter_status("standard_conforming_strings") != "off"))


def _executable(down: DownSql, standard_conforming_strings: bool) -> ExecutableSql:
    from supadeploy.migrations.executable import prepare_sql

    return prepare_sql(down.migration.sql, down.path, transactional=True, what="down file",
                       standard_conforming_strings=standard_conforming_strings)


def apply_rollback(target: Target, plan: RollbackPlan, limits: SessionLimits) -> RollbackResult:
    """Undo ``plan`` newest first, each step in one transaction with the removal of its history row.

    The caller holds the deploy lock. A failing step raises MigrationFailed; the steps before it stay undone.
    """
    result = RollbackResult(plan=plan, rolled_back=[])
    for step in plan.steps:
        try:
            target.undo_migration(step.migration.version, step.down.migration,
                                  _executable(step.down, target.standard_conforming_strings()), limits)
        except KeyboardInterrupt:
            done = ", ".join(f"{r.version}_{r.name}" for r in result.rolled_back) or "none"
            raise Interrupted(
                f"interrupted while rolling back {step.migration.version}_{step.migration.name}: its down SQL was "
                f"rolled back with it, so it is still applied (rolled back before it: {done})",
                fix="rerun the rollback to continue") from None
        except MigrationFailed as failed:
            failure = failed.failure
            done = ", ".join(f"{r.version}_{r.name}" for r in result.rolled_back) or "none"
            raise RollbackFailed(
                f"{failure.message} [SQLSTATE {failure.sqlstate}]" + (f"\n  detail: {failure.detail}"
                                                                      if failure.detail else ""),
                where=failure.location,
                fix=f"nothing of {step.migration.version}_{step.migration.name}'s down SQL ran: it is still applied "
                    f"(rolled back before it: {done}); fix the down SQL and rerun") from None
        result.rolled_back.append(RolledBack(step.migration.version, step.migration.name, str(step.down.path),
                                             step.down.source))
    return result
