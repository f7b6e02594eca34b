"""Every statement on the deploy log, ``supabase_migrations.supadeploy_deployments`` (see supadeploy.deploylog).

Each uses ``%s`` parameters only, so that both targets run it (the Management API numbers them).
"""

from __future__ import annotations

DEPLOYMENTS_TABLE = "supabase_migrations.supadeploy_deployments"
COLUMNS = ("id", "command", "environment", "status", "git_commit", "git_branch", "actor", "tool_version",
           "started_at", "finished_at", "versions_applied", "backup_location", "source_environment", "error",
           "git_dirty", "fleet_run", "fleet_wave")
CREATE_DEPLOYMENTS_TABLE = f"""
CREATE TABLE IF NOT EXISTS {DEPLOYMENTS_TABLE} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    command text NOT NULL,
    environment text,
    status text NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
    git_commit text,
    git_branch text,
    actor text,
    tool_version text,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    versions_applied text[] NOT NULL DEFAULT '{{}}',
    backup_location text,
    source_environment text,
    error text,
    git_dirty boolean,
    fleet_run text,
    fleet_wave integer
)"""
LATER_COLUMNS = {"git_dirty": "boolean", "fleet_run": "text", "fleet_wave": "integer"}
"""Columns added after the table's first release: a table made before gets them (only then, so an up-to-date
table takes no lock), and reads of a table without them see NULL."""
DEPLOYMENTS_TABLE_STATE = (
    f"SELECT to_regclass('{DEPLOYMENTS_TABLE}') IS NOT NULL, ARRAY(SELECT attname::text FROM pg_attribute WHERE "
    f"attrelid = to_regclass('{DEPLOYMENTS_TABLE}') AND attname IN "
    f"({', '.join(repr(name) for name in LATER_COLUMNS)}) AND NOT attisdropped)"
)
DEPLOYMENTS_TABLE_EXISTS = f"SELECT to_regclass('{DEPLOYMENTS_TABLE}') IS NOT NULL"
INSERT_RUN = (
    f"INSERT INTO {DEPLOYMENTS_TABLE} (run_id, command, environment, git_commit, git_branch, actor, "
    "tool_version, source_environment, backup_location, git_dirty, fleet_run, fleet_wave) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (run_id) DO NOTHING"
)
RUN_ID = f"SELECT id FROM {DEPLOYMENTS_TABLE} WHERE run_id = %s"
INSERT_REFUSED_RUN = (
    f"INSERT INTO {DEPLOYMENTS_TABLE} (command, environment, status, git_commit, git_branch, actor, tool_version, "
    "source_environment, finished_at, error, git_dirty, fleet_run, fleet_wave) "
    "VALUES (%s, %s, 'failed', %s, %s, %s, %s, %s, now(), %s, %s, %s, %s)"
)
MARK_INTERRUPTED = f"UPDATE {DEPLOYMENTS_TABLE} SET status = 'interrupted' WHERE status = 'running'"
FINISH_RUN = (
    f"UPDATE {DEPLOYMENTS_TABLE} SET status = %s, finished_at = now(), versions_applied = %s, "
    "backup_location = coalesce(%s, backup_location), error = %s WHERE id = %s"
)
UNFINISHED_RUNS = f"SELECT EXISTS (SELECT 1 FROM {DEPLOYMENTS_TABLE} WHERE status = 'running')"


def add_columns(missing: list[str]) -> str:
    """Give a table made by an earlier release the LATER_COLUMNS it lacks."""
    return f"ALTER TABLE {DEPLOYMENTS_TABLE} " + ", ".join(
        f"ADD COLUMN IF NOT EXISTS {name} {LATER_COLUMNS[name]}" for name in missing)


def _columns(present: set[str]) -> str:
    return ", ".join(name if name not in LATER_COLUMNS or name in present
                     else f"NULL::{LATER_COLUMNS[name]} AS {name}" for name in COLUMNS)


def list_runs(*, by_environment: bool, present: set[str]) -> str:
    """The newest runs first (parameters: [environment,] limit); a later column the table lacks reads NULL."""
    where = "WHERE environment = %s " if by_environment else ""
    return f"SELECT {_columns(present)} FROM {DEPLOYMENTS_TABLE} {where}ORDER BY id DESC LIMIT %s"


def fleet_run_rows(present: set[str]) -> str | None:
    """The runs of one fleet rollout (parameter: its id), newest first; None when the table has no fleet_run."""
    if "fleet_run" not in present:
        return None
    return f"SELECT {_columns(present)} FROM {DEPLOYMENTS_TABLE} WHERE fleet_run = %s ORDER BY id DESC"
