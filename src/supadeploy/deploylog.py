"""The deploy log: who deployed what, where, when, with which result.

One row per push or promotion that had something to apply (or was refused) in
``supabase_migrations.supadeploy_deployments``, next to (and never in)
the Supabase CLI's own history table. A row is written when the run starts and updated when it ends, so an
interrupted run stays visible as ``running`` until the next run under the deploy lock marks it
``interrupted``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supadeploy import __version__
from supadeploy.errors import Interrupted
from supadeploy.migrations.deploy_log_sql import (
    COLUMNS,
    CREATE_DEPLOYMENTS_TABLE,
    DEPLOYMENTS_TABLE_EXISTS,
    DEPLOYMENTS_TABLE_STATE,
    FINISH_RUN,
    INSERT_REFUSED_RUN,
    INSERT_RUN,
    LATER_COLUMNS,
    MARK_INTERRUPTED,
    RUN_ID,
    add_columns,
    fleet_run_rows,
    list_runs,
)
from supadeploy.redact import redact_text
from supadeploy.targets.base import Target


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
    git_dirty: bool | None = None
    """The work tree had uncommitted changes or new files: what ran is not exactly ``git_commit``."""
    fleet_run: str | None = None
    """The id of the fleet rollout this run was part of (``fleet push --run-id``)."""
    fleet_wave: int | None = None

    @classmethod
    def detect(cls, command: str, environment: str | None, workdir: Path,
               source_environment: str | None = None) -> DeploymentContext:
        commit, branch = git_revision(workdir)
        return cls(command=command, environment=environment, git_commit=commit, git_branch=branch,
                   actor=current_actor(), source_environment=source_environment, git_dirty=git_dirty(workdir))


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
    git_dirty: bool | None = None
    fleet_run: str | None = None
    fleet_wave: int | None = None

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


def git_dirty(workdir: Path) -> bool | None:
    """Whether the work tree differs from the commit: changed or new files that git does not ignore (a new
    migration not committed yet, too). None outside a git work tree."""
    try:
        completed = subprocess.run(["git", "status", "--porcelain"], cwd=workdir,
                                   capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(completed.stdout.strip()) if completed.returncode == 0 else None


def _git(workdir: Path, *args: str) -> str | None:
    try:
        completed = subprocess.run(["git", *args], cwd=workdir, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    value = completed.stdout.strip()
    return value if completed.returncode == 0 and value else None


def _table_state(target: Target) -> tuple[bool, set[str]]:
    """Whether the deploy log exists, and which of its later columns it has."""
    exists, present = target.query(DEPLOYMENTS_TABLE_STATE)[0]
    return bool(exists), set(present or ())


def ensure_deployments_table(target: Target) -> None:
    exists, present = _table_state(target)
    if not exists:
        target.query(CREATE_DEPLOYMENTS_TABLE)
        return
    missing = [name for name in LATER_COLUMNS if name not in present]
    if missing:
        target.query(add_columns(missing))


def start_deployment(target: Target, context: DeploymentContext) -> int:
    """Record the start of a run (call it while holding the deploy lock); returns the row id.

    Every statement here is safe to run twice (a Target over HTTP may retry a request whose answer was lost):
    the row is keyed by a run id made here, and inserted only once.
    """
    ensure_deployments_table(target)
    _mark_interrupted(target)
    run_id = str(uuid.uuid4())
    target.query(
        INSERT_RUN,
        (run_id, context.command, context.environment, context.git_commit, context.git_branch, context.actor,
         context.tool_version, context.source_environment, context.backup_location, context.git_dirty,
         context.fleet_run, context.fleet_wave),
    )
    rows = target.query(RUN_ID, (run_id,))
    return int(rows[0][0])


def record_refused_run(target: Target, context: DeploymentContext, reason: str) -> None:
    """Record a run refused before it took the deploy lock (the protected gate): one finished 'failed' row.

    Without the lock another run may be alive, so unlike start_deployment this marks no row interrupted."""
    ensure_deployments_table(target)
    target.query(
        INSERT_REFUSED_RUN,
        (context.command, context.environment, context.git_commit, context.git_branch, context.actor,
         context.tool_version, context.source_environment, redact_text(reason), context.git_dirty,
         context.fleet_run, context.fleet_wave),
    )


def mark_interrupted_runs(target: Target) -> None:
    """Mark the rows of killed runs ``interrupted`` (call it while holding the deploy lock), if there is a log."""
    (exists,) = target.query(DEPLOYMENTS_TABLE_EXISTS)[0]
    if exists:
        _mark_interrupted(target)


def _mark_interrupted(target: Target) -> None:
    # Holding the deploy lock, no other run is alive: rows still 'running' belong to killed runs.
    target.query(MARK_INTERRUPTED)


def finish_deployment(target: Target, deployment_id: int, *, status: str, versions_applied: list[str],
                      backup_location: str | None = None, error: str | None = None) -> None:
    target.query(
        FINISH_RUN,
        (status, versions_applied, backup_location, redact_text(error) if error else None, deployment_id),
    )


@dataclass
class RunRecord:
    """What a run under :func:`recorded_run` did, filled in as it goes."""

    versions: list[str] = field(default_factory=list)
    """The versions it applied (push), recorded (baseline, repair), rewrote (reconcile) or undid (rollback)."""
    failed: str | None = None
    """Set when the run ends without raising but failed (e.g. a migration failed)."""


@contextlib.contextmanager
def recorded_run(target: Target, context: DeploymentContext | None) -> Iterator[RunRecord]:
    """One deploy-log row for a writing command (call it while holding the deploy lock): 'running' from the
    start, then 'succeeded', 'failed' (an error, or ``RunRecord.failed``) or 'interrupted', with its versions."""
    record = RunRecord()
    if context is None:
        yield record
        return
    deployment_id = start_deployment(target, context)
    try:
        yield record
    except BaseException as error:
        status = "interrupted" if isinstance(error, (Interrupted, KeyboardInterrupt)) else "failed"
        with contextlib.suppress(Exception):  # the error is what the user must see
            finish_deployment(target, deployment_id, status=status, versions_applied=record.versions,
                              error=str(error) or type(error).__name__)
        raise
    finish_deployment(target, deployment_id, status="failed" if record.failed else "succeeded",
                      versions_applied=record.versions, error=record.failed)


def list_deployments(target: Target, *, limit: int = 20, environment: str | None = None) -> list[Deployment]:
    exists, present = _table_state(target)
    if not exists:
        return []
    params: tuple[Any, ...] = (environment, limit) if environment else (limit,)
    rows = target.query(list_runs(by_environment=bool(environment), present=present), params)
    return [Deployment(**dict(zip(COLUMNS, row, strict=True))) for row in rows]


def fleet_run_deployments(target: Target, fleet_run: str) -> list[Deployment]:
    """The runs of fleet rollout ``fleet_run`` in this database, newest first (none before any rollout)."""
    exists, present = _table_state(target)
    statement = fleet_run_rows(present) if exists else None
    if statement is None:
        return []
    return [Deployment(**dict(zip(COLUMNS, row, strict=True))) for row in target.query(statement, (fleet_run,))]
