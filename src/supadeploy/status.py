"""`supadeploy status`: one environment's state in one read-only pass. A library call: returns data.

How the environment is reached, whether it answers, which migrations are applied, pending, edited since they
ran or missing locally, who holds the deploy lock, the last deploy from the log, whether the configured type
files are stale, and the verify summary. Nothing is written, no lock is taken.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from supadeploy.errors import SupadeployError

if TYPE_CHECKING:
    from supadeploy.migrations.files import Discovery
    from supadeploy.targets.base import Target
    from supadeploy.targets.resolve import Resolved


@dataclass
class EnvironmentStatus:
    environment: str
    engine: str
    reached_as: str = ""
    reachable: bool = False
    error: str | None = None
    applied: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    drifted: list[str] = field(default_factory=list)
    comment_only: list[str] = field(default_factory=list)
    """Applied files changed only in comments or whitespace since they ran (not drift)."""
    missing_locally: list[str] = field(default_factory=list)
    lock_holder: str | None = None
    last_deploy: dict[str, Any] | None = None
    stale_types: list[str] = field(default_factory=list)
    verify_errors: int | None = None
    verify_warnings: int | None = None
    verify_failed_probes: int | None = None
    supabase_cli: str | None = None
    """Which Supabase CLI the project uses (package.json, $SUPABASE_CLI or PATH) and its version."""

    @property
    def actions(self) -> list[str]:
        """What needs doing, one line each (empty: nothing)."""
        todo = []
        if not self.reachable:
            todo.append(f"cannot reach '{self.environment}': {self.error}")
        if self.pending:
            todo.append(f"{len(self.pending)} migration(s) to push: supadeploy push --env {self.environment}")
        if self.drifted:
            todo.append(f"applied file(s) edited since they ran ({', '.join(self.drifted)}): revert them, "
                        "`supadeploy reconcile`, or `supadeploy repair`")
        if self.missing_locally:
            todo.append(f"version(s) in the history but not in the folder ({', '.join(self.missing_locally)}): "
                        "`supadeploy reconcile`")
        if self.stale_types:
            todo.append(f"stale type file(s) {', '.join(self.stale_types)}: supadeploy types --env "
                        f"{self.environment}")
        if self.verify_errors:
            todo.append(f"{self.verify_errors} verify error(s): supadeploy verify --env {self.environment}")
        if self.verify_failed_probes:
            todo.append(f"{self.verify_failed_probes} probe(s) failed: supadeploy verify --env {self.environment}")
        return todo

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "needs_action": bool(self.actions), "actions": self.actions}


def environment_status(resolved: Resolved, target: Target, discovery: Discovery, *, verify: bool = True,
                       types: bool = True) -> EnvironmentStatus:
    """The status of ``resolved`` read through ``target`` (which may fail to connect: that is reported)."""
    status = EnvironmentStatus(resolved.environment.name, resolved.engine, reached_as=target.description,
                               supabase_cli=_supabase_cli(resolved))
    try:
        _read_history(status, target, discovery)
    except SupadeployError as error:
        status.error = error.what
        return status
    status.reachable = True
    status.lock_holder = _lock_holder(target)
    status.last_deploy = _last_deploy(target, resolved.environment.name)
    if types:
        status.stale_types = _stale_types(resolved, target)
    if verify:
        _verify_summary(status, resolved, target)
    return status


def _read_history(status: EnvironmentStatus, target: Target, discovery: Discovery) -> None:
    from supadeploy.migrations.plan import build_plan, set_aside_comment_only_edits

    # Full rows (statements included): an edit only in comments is not drift, as push sees it.
    plan = set_aside_comment_only_edits(build_plan(discovery.migrations, target.read_history()), lambda _: {})
    status.applied = [migration.version for migration in plan.applied]
    status.pending = [migration.version for migration in [*plan.pending, *plan.out_of_order]]
    status.drifted = [drift.migration.file_name for drift in plan.drifted]
    status.comment_only = [drift.migration.file_name for drift in plan.comment_only]
    status.missing_locally = [row.version for row in plan.remote_only]


def _lock_holder(target: Target) -> str | None:
    from supadeploy.targets.postgres import DEPLOY_LOCK_ID, DEPLOY_LOCK_NAMESPACE, LOCK_HOLDER, describe_lock_holder

    rows = target.query(LOCK_HOLDER, (DEPLOY_LOCK_NAMESPACE, DEPLOY_LOCK_ID))
    return describe_lock_holder(rows) if rows else None


def _last_deploy(target: Target, environment: str) -> dict[str, Any] | None:
    from supadeploy.deploylog import list_deployments

    deployments = list_deployments(target, limit=1, environment=environment)
    return deployments[0].as_dict() if deployments else None


def _stale_types(resolved: Resolved, target: Target) -> list[str]:
    """The configured type files that differ from what would be generated now (one introspection for all)."""
    from supadeploy.typegen.outputs import configured_outputs, read_outputs_snapshot, render, stale_diff

    outputs = configured_outputs(resolved.project)
    if not outputs:
        return []
    snapshot = read_outputs_snapshot(target, outputs)
    return [str(output.path) for output in outputs if stale_diff(output.path, render(snapshot, output)) is not None]


def _verify_summary(status: EnvironmentStatus, resolved: Resolved, target: Target) -> None:
    from supadeploy.rls.verify import VerifyOptions, run_verify

    options = VerifyOptions.from_project(resolved.project, environment=resolved.environment)
    report = run_verify(target, options)
    status.verify_errors = len(report.failing("error"))  # accepted findings never fail
    status.verify_failed_probes = len(report.failing_probes("error"))
    status.verify_warnings = len(report.failing("warn")) - status.verify_errors


def _supabase_cli(resolved: Resolved) -> str:
    from supadeploy.targets.supabase_cli import describe_supabase_cli

    return describe_supabase_cli(resolved.project.workdir)
