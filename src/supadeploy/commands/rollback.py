"""``supadeploy rollback --to VERSION``: the down SQL of the migrations newer than VERSION, newest first
(supadeploy.rollback), with the writing policy of commands.writing: the confirmation of a protected
environment and its backup before the deploy lock, the plan read again under the lock, one deploy-log row,
then the configured type files regenerated."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supadeploy.commands.invocation import Invocation
    from supadeploy.rollback import RollbackPlan, RollbackResult
    from supadeploy.typegen.outputs import TypesFileResult


@dataclass(frozen=True)
class RollbackRequest:
    to: str
    dry_run: bool = False
    backup: bool = True
    types: bool = True


@dataclass(frozen=True)
class RollbackRun:
    description: str
    plan: RollbackPlan
    dry_run: bool
    result: RollbackResult | None = None
    """None when nothing ran (--dry-run, or nothing to roll back)."""
    types: list[TypesFileResult] = field(default_factory=list)


def run_rollback(invocation: Invocation, request: RollbackRequest) -> RollbackRun:
    from supadeploy.commands.writing import backup_taker, confirm_protected, session_limits, writing_run
    from supadeploy.migrations.files import discover_migrations
    from supadeploy.report.rollback_text import plan_text, rollback_steps
    from supadeploy.rollback import apply_rollback, plan_rollback
    from supadeploy.typegen.outputs import check_writable, configured_outputs, regenerate_outputs

    resolved = invocation.resolve()
    type_outputs = [] if not request.types or request.dry_run else configured_outputs(resolved.project)
    check_writable(resolved.project, type_outputs)  # before anything runs, as push does
    discovery = discover_migrations(resolved.project.migrations_dir)
    limits = session_limits(resolved.project)
    target = invocation.open(resolved, "rollback", for_writing=not request.dry_run)
    try:
        plan = plan_rollback(discovery.migrations, target.read_history(), request.to)
        if request.dry_run or not plan.steps:
            return RollbackRun(target.description, plan, request.dry_run)
        invocation.note(plan_text(rollback_steps(plan), target.description, request.to))
        backup = None
        environment = resolved.environment
        if environment.protected:  # a person thinking must not hold the deploy lock
            confirm_protected(invocation, environment, f"Roll back {len(plan.steps)} migration(s) on protected "
                              f"environment '{environment.name}'?")
            if request.backup:
                backup = backup_taker(invocation, resolved, target)().location
                invocation.note(f"backup: {backup}")
        with writing_run(target, resolved, "rollback", backup_location=backup) as run:
            _same_plan(plan, plan_rollback(discovery.migrations, target.read_history(), request.to))
            result = apply_rollback(target, plan, limits)
            run.versions = [step.version for step in result.rolled_back]
        types = regenerate_outputs(target, type_outputs)  # the schema changed: so did its types, as after a push
    finally:
        target.close()
    return RollbackRun(target.description, plan, False, result, types)


def _same_plan(confirmed: RollbackPlan, now: RollbackPlan) -> None:
    """The plan read again under the deploy lock must be the one shown (and confirmed)."""
    from supadeploy.errors import PlanError

    if [s.migration.version for s in now.steps] != [s.migration.version for s in confirmed.steps]:
        raise PlanError("the migration history changed while the rollback waited for the deploy lock; nothing was "
                        "rolled back", fix="run `supadeploy migration list`, then rerun the rollback")
