"""The deploy log: who deployed what, where, when, with which result.

One row per push or promotion that had something to apply (or was refused) in
``supabase_migrations.supadeploy_deployments``, next to (and never in)
the Supabase CLI's own history table. A row is written when the run starts and updated when it ends, so an
interrupted run stays visible as ``running`` until the next run under the deploy lock marks it
``interrupted``.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supadeploy import __version__
from supadeploy.redact import redact_text
from supadeploy.targets.base import Target

DEPLOYMENTS_TABLE = "supabase_migrations.supadeploy_deployments"
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
    error text
)"""
DEPLOYMENTS_TABLE_EXISTS = "SELECT to_regclass('supabase_migrations.supadeploy_deployments') IS NOT NULL"
COLUMNS = ("id", "command", "environment", "status", "git_commit", "git_branch", "actor", "tool_version",
           "started_at", "finished_at", "versions_applied", "backup_location", "source_environment", "error")


@dataclass(frozen=True)
class DeploymentContext:
    """What is known about a run before it starts."""

    command: str
    environment: str | None
    git_commit: str | None = None
    git_branch: str | None = None
    actor: str | None = None
    tool_version: str = __version__
    source_environment: str | None = None
    backup_location: str | None = None

    @classmethod
    def detect(cls, command: str, environment: str | None, workdir: Path,
               source_environment: str | None = None) -> DeploymentContext:
        commit, branch = git_revision(workdir)
        return cls(command=command, environment=environment, git_commit=commit, git_branch=branch,
                   actor=current_actor(), source_environment=source_environment)


@dataclass
class Deployment:
    id: int
    command: str
    environment: str | None
    status: str
    git_commit: str | None
    git_branch: str | None
    actor: str | None
    tool_version: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    versions_applied: list[str] = field(default_factory=list)
    backup_location: str | None = None
    source_environment: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        document = {name: getattr(self, name) for name in COLUMNS}
        for key in ("started_at", "finished_at"):
            value = document[key]
            document[key] = value.isoformat() if isinstance(value, dt.datetime) else value
        return document


def current_actor() -> str:
    if os.environ.get("GITHUB_ACTOR"):
        return f"{os.environ['GITHUB_ACTOR']} (GitHub Actions)"
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def git_revision(workdir: Path) -> tuple[str | None, str | None]:
    """(commit, branch) of the project: GitHub's variables in Actions, else asked of git."""
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"], os.environ.get("GITHUB_HEAD_REF") or os.environ.get("GITHUB_REF_NAME")
    return _git(workdir, "rev-parse", "HEAD"), _git(workdir, "rev-parse", "--abbrev-ref", "HEAD")


def _git(workdir: Path, *args: str) -> str | None:
    try:
        completed = subprocess.run(["git", *args], cwd=workdir, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    value = completed.stdout.strip()
    return value if completed.returncode == 0 and value else None


def ensure_deployments_table(target: Target) -> None:
    (exists,) = target.query(DEPLOYMENTS_TABLE_EXISTS)[0]
    if not exists:
        target.query(CREATE_DEPLOYMENTS_TABLE)


def start_deployment(target: Target, context: DeploymentContext) -> int:
    """Record the start of a run (call it while holding the deploy lock); returns the row id.

    Every statement here is safe to run twice (a Target over HTTP may retry a request whose answer was lost):
    the row is keyed by a run id made here, and inserted only once.
    """
    ensure_deployments_table(target)
    _mark_interrupted(target)
    run_id = str(uuid.uuid4())
    target.query(
        f"INSERT INTO {DEPLOYMENTS_TABLE} (run_id, command, environment, git_commit, git_branch, actor, "
        "tool_version, source_environment, backup_location) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (run_id) DO NOTHING",
        (run_id, context.command, context.environment, context.git_commit, context.git_branch, context.actor,
         context.tool_version, context.source_environment, context.backup_location),
    )
    rows = target.query(f"SELECT id FROM {DEPLOYMENTS_TABLE} WHERE run_id = %s", (run_id,))
    return int(rows[0][0])


def record_refused_run(target: Target, context: DeploymentContext, reason: str) -> None:
    """Record a run refused before it took the deploy lock (the protected gate): one finished 'failed' row.

    Without the lock another run may be alive, so unlike start_deployment this marks no row interrupted."""
    ensure_deployments_table(target)
    target.query(
        f"INSERT INTO {DEPLOYMENTS_TABLE} (command, environment, status, git_commit, git_branch, actor, tool_version, "
        "source_environment, finished_at, error) VALUES (%s, %s, 'failed', %s, %s, %s, %s, %s, now(), %s)",
        (context.command, context.environment, context.git_commit, context.git_branch, context.actor,
         context.tool_version, context.source_environment, redact_text(reason)),
    )


def mark_interrupted_runs(target: Target) -> None:
    """Mark the rows of killed runs ``interrupted`` (call it while holding the deploy lock), if there is a log."""
    (exists,) = target.query(DEPLOYMENTS_TABLE_EXISTS)[0]
    if exists:
        _mark_interrupted(target)


def _mark_interrupted(target: Target) -> None:
    # Holding the deploy lock, no other run is alive: rows still 'running' belong to killed runs.
    target.query(f"UPDATE {DEPLOYMENTS_TABLE} SET status = 'interrupted' WHERE status = 'running'")


def finish_deployment(target: Target, deployment_id: int, *, status: str, versions_applied: list[str],
                      backup_location: str | None = None, error: str | None = None) -> None:
    target.query(
        f"UPDATE {DEPLOYMENTS_TABLE} SET status = %s, finished_at = now(), versions_applied = %s, "
        "backup_location = coalesce(%s, backup_location), error = %s WHERE id = %s",
        (status, versions_applied, backup_location, redact_text(error) if error else None, deployment_id),
    )


def list_deployments(target: Target, *, limit: int = 20, environment: str | None = None) -> list[Deployment]:
    (exists,) = target.query(DEPLOYMENTS_TABLE_EXISTS)[0]
    if not exists:
        return []
    where = "WHERE environment = %s" if environment else ""
    params: tuple[Any, ...] = (environment, limit) if environment else (limit,)
    rows = target.query(
        f"SELECT {', '.join(COLUMNS)} FROM {DEPLOYMENTS_TABLE} {where} ORDER BY id DESC LIMIT %s", params)
    return [Deployment(**dict(zip(COLUMNS, row, strict=True))) for row in rows]
