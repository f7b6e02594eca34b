"""Every statement on the deploy log, ``supabase_migrations.supadeploy_deployments`` (see supadeploy.deploylog).

Each uses ``%s`` parameters only, so that both targets run it (the Management API numbers them).
"""

from __future__ import annotations

DEPLOYMENTS_TABLE = "supabase_migrations.supadeploy_deployments"
COLUMNS = ("id", "command", "environment", "status", "git_commit", "git_branch", "actor", "tool_version",
           "started_at", "finished_at", "versions_applied", "backup_location", "source_environment", "error",
           "git_dirty")
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
    git_dirty boolean
)"""
# git_dirty came later: a table made before gets it (only then, so an up-to-date table takes no lock).
DEPLOYMENTS_TABLE_STATE = (
    f"SELECT to_regclass('{DEPLOYMENTS_TABLE}') IS NOT NULL, EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = "
    f"to_regclass('{DEPLOYMENTS_TABLE}') AND attname = 'git_dirty' AND NOT attisdropped)"
)
ADD_GIT_DIRTY = f"ALTER TABLE {DEPLOYMENTS_TABLE} ADD COLUMN IF NOT EXISTS git_dirty boolean"
DEPLOYMENTS_TABLE_EXISTS = f"SELECT to_regclass('{DEPLOYMENTS_TABLE}') IS NOT NULL"
INSERT_RUN = (
    f"INSERT INTO {DEPLOYMENTS_TABLE} (run_id, command, environment, git_commit, git_branch, actor, "
    "tool_version, source_environment, backup_location, git_dirty) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (run_id) DO NOTHING"
)
RUN_ID = f"SELECT id FROM {DEPLOYMENTS_TABLE} WHERE run_id = %s"
INSERT_REFUSED_RUN = (
    f"INSERT INTO {DEPLOYMENTS_TABLE} (command, environment, status, git_commit, git_branch, actor, tool_version, "
    "source_environment, finished_at, error, git_dirty) VALUES (%s, %s, 'failed', %s, %s, %s, %s, %s, now(), %s, %s)"
)
MARK_INTERRUPTED = f"UPDATE {DEPLOYMENTS_TABLE} SET status = 'interrupted' WHERE status = 'running'"
FINISH_RUN = (
    f"UPDATE {DEPLOYMENTS_TABLE} SET status = %s, finished_at = now(), versions_applied = %s, "
    "backup_location = coalesce(%s, backup_location), error = %s WHERE id = %s"
)
UNFINISHED_RUNS = f"SELECT EXISTS (SELECT 1 FROM {DEPLOYMENTS_TABLE} WHERE status = 'running')"


def list_runs(*, by_environment: bool, has_git_dirty: bool = True) -> str:
    """The newest runs first (parameters: [environment,] limit); a table made before git_dirty reads NULL."""
    where = "WHERE environment = %s " if by_environment else ""
    columns = [name if name != "git_dirty" or has_git_dirty else "NULL::boolean AS git_dirty" for name in COLUMNS]
    return f"SELECT {', '.join(columns)} FROM {DEPLOYMENTS_TABLE} {where}ORDER BY id DESC LIMIT %s"
