"""``supadeploy promote SOURCE TARGET``: the migrations SOURCE ran, applied to TARGET through the one deploy
pipeline, then both schemas compared (supadeploy.promote)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supadeploy.commands.invocation import Invocation
    from supadeploy.deploy import DeployOptions
    from supadeploy.migrations.files import Discovery
    from supadeploy.migrations.plan import Plan
    from supadeploy.promote import PromotionOutcome
    from supadeploy.targets.resolve import Resolved


@dataclass(frozen=True)
class PromoteRequest:
    source: str
    target: str
    dry_run: bool = False
    allow_destructive: bool = False
    backup: bool = True
    verify: bool = True
    fail_on: str | None = None
    types: bool = True
    allow_existing_objects: bool = False
    shadow_url: str | None = None


@dataclass(frozen=True)
class PromoteRun:
    outcome: PromotionOutcome
    discovery: Discovery
    source_description: str
    target_description: str


def run_promote(invocation: Invocation, request: PromoteRequest) -> PromoteRun:
    from supadeploy.commands.writing import push_options_for
    from supadeploy.deploy import DeployOptions, check_deploy
    from supadeploy.environment_diff import exposed_schemas
    from supadeploy.migrations.files import discover_migrations

    source = invocation.for_environment(request.source).resolve()
    target = invocation.for_environment(request.target).resolve()
    options = check_deploy(target.project, DeployOptions(
        push=push_options_for(target.project, dry_run=request.dry_run,
                              allow_existing_objects=request.allow_existing_objects),
        verify=request.verify, fail_on=request.fail_on, types=request.types,
        allow_destructive=request.allow_destructive, backup=request.backup,
        shadow_url=request.shadow_url if request.dry_run else None), target.environment)
    discovery = discover_migrations(target.project.migrations_dir)
    for warning in discovery.warnings:
        invocation.note(f"warning: {warning}")
    return _promote(invocation, source, target, discovery, options, exposed_schemas(target.project))


def _promote(invocation: Invocation, source: Resolved, target: Resolved, discovery: Discovery,
             options: DeployOptions, schemas: tuple[str, ...]) -> PromoteRun:
    from supadeploy.commands.writing import backup_taker, deploy_confirmation
    from supadeploy.deploy import DeployHooks
    from supadeploy.deploylog import DeploymentContext
    from supadeploy.promote import promote
    from supadeploy.report import human

    source_target = invocation.open(source, "promote", for_writing=False)
    try:
        target_target = invocation.open(target, "promote", for_writing=True)
        try:
            environment = target.environment

            def question(plan: Plan) -> str:
                return (f"Promote {len(plan.pending)} migration(s) from '{source.environment.name}' to protected "
                        f"environment '{environment.name}'?")

            hooks = DeployHooks(
                confirm=deploy_confirmation(invocation, target_target, environment, question),
                take_backup=backup_taker(invocation, target, target_target),
                listener=None if invocation.quiet else human.ProgressPrinter(),
                deployment=DeploymentContext.detect("promote", environment.name, target.project.workdir,
                                                    source_environment=source.environment.name),
            )
            outcome = promote(source_target, target_target, target.project, source.environment, environment,
                              discovery, options, hooks, schemas=schemas)
            return PromoteRun(outcome, discovery, source_target.description, target_target.description)
        finally:
            target_target.close()
    finally:
        source_target.close()
