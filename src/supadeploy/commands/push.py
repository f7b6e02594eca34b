"""``supadeploy push``: discover, plan, then the one deploy pipeline (supadeploy.deploy) on the environment,
whichever way it is reached; the Supabase CLI engine is an applier inside that pipeline."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from supadeploy.errors import SupadeployError

if TYPE_CHECKING:
    from supadeploy.commands.invocation import Invocation
    from supadeploy.deploy import DeployOptions, DeployOutcome
    from supadeploy.deploylog import DeploymentContext
    from supadeploy.migrations.digest_cache import DigestCache
    from supadeploy.migrations.files import Discovery
    from supadeploy.push_result import PushListener
    from supadeploy.targets.resolve import Resolved
    from supadeploy.uptodate import HistoryPrefetch


@dataclass(frozen=True)
class PushRequest:
    dry_run: bool = False
    include_all: bool = False
    allow_drift: bool = False
    allow_existing_objects: bool = False
    verify: bool = True
    fail_on: str | None = None
    types: bool = True
    allow_destructive: bool = False
    backup: bool = True
    shadow_url: str | None = None
    """--dry-run: the server where a throwaway database shows the exposure difference."""
    progress: bool = True
    """Per-migration progress lines through the invocation (not with --json)."""
    command: str = "push"
    """The deploy log's command (a fleet rollout records its members' pushes as such)."""
    fleet_run: str | None = None
    """The fleet rollout this push belongs to, and its wave: recorded in the deploy log."""
    fleet_wave: int | None = None


@dataclass(frozen=True)
class PushRun:
    """What a push did: the outcome, the database it reached (password hidden), the files it read."""

    resolved: Resolved
    discovery: Discovery
    outcome: DeployOutcome
    description: str


def run_push(invocation: Invocation, request: PushRequest) -> PushRun:
    """Every flag and setting checked before anything connects, then the deploy; a push with nothing to do
    answers from a read of the history without loading psycopg (supadeploy.uptodate)."""
    from supadeploy.commands.writing import push_options_for
    from supadeploy.deploy import DeployOptions, check_deploy
    from supadeploy.migrations.digest_cache import DigestCache

    resolved = invocation.resolve()
    options = check_deploy(resolved.project, DeployOptions(
        push=push_options_for(resolved.project, dry_run=request.dry_run, include_all=request.include_all,
                              allow_drift=request.allow_drift,
                              allow_existing_objects=request.allow_existing_objects),
        verify=request.verify, fail_on=request.fail_on, types=request.types,
        allow_destructive=request.allow_destructive, backup=request.backup,
        shadow_url=request.shadow_url if request.dry_run else None), resolved.environment)
    prefetch = _start_up_to_date_check(resolved, options)
    digests = DigestCache.for_folder(resolved.project.migrations_dir)
    try:
        discovery = _discover(invocation, resolved, digests)
    except SupadeployError:
        if prefetch is not None:
            prefetch.wait()
        raise
    outcome, description = (_up_to_date(prefetch, discovery, options)
                            or _deploy(invocation, request, resolved, discovery, options))
    digests.save(discovery.migrations)
    return PushRun(resolved, discovery, outcome, description)


def _discover(invocation: Invocation, resolved: Resolved, digests: DigestCache) -> Discovery:
    from supadeploy.migrations.files import discover_migrations

    discovery = discover_migrations(resolved.project.migrations_dir, known_digests=digests.digests)
    for warning in discovery.warnings:
        invocation.note(f"warning: {warning}")
    return discovery


def _start_up_to_date_check(resolved: Resolved, options: DeployOptions) -> HistoryPrefetch | None:
    """Start reading the history for the quick "nothing to do" answer (supadeploy.uptodate), when this push
    could end with it: native engine, a database URL, no verify and no types to write after it."""
    after_apply = options.after_apply
    if resolved.engine != "native" or not resolved.url or after_apply is None or after_apply.verify is not None \
            or after_apply.type_outputs:
        return None
    from supadeploy.engines import database_url
    from supadeploy.targets.connection_url import default_application_name
    from supadeploy.uptodate import HistoryPrefetch

    return HistoryPrefetch(lambda: database_url(resolved, for_push=True),
                           application_name=default_application_name("push"))


def _up_to_date(prefetch: HistoryPrefetch | None, discovery: Discovery,
                options: DeployOptions) -> tuple[DeployOutcome, str] | None:
    """A push with nothing to do ends here, without loading psycopg; None: deploy."""
    if prefetch is None:
        return None
    from supadeploy.deploy import DeployOutcome
    from supadeploy.push_result import PushResult
    from supadeploy.redact import redact_url
    from supadeploy.uptodate import plan_from_history

    url, history = prefetch.result()
    plan = plan_from_history(history, discovery, include_all=options.push.include_all,
                             allow_drift=options.push.allow_drift)
    if plan is None:
        return None
    return DeployOutcome(push=PushResult(plan=plan, dry_run=options.push.dry_run)), redact_url(url)


def _deploy(invocation: Invocation, request: PushRequest, resolved: Resolved, discovery: Discovery,
            options: DeployOptions) -> tuple[DeployOutcome, str]:
    from supadeploy.commands.writing import backup_taker, deploy_confirmation
    from supadeploy.deploy import DeployHooks, deploy

    applier = None
    if resolved.engine == "cli":  # a missing or too old CLI is reported before anything connects
        from supadeploy.engines import SupabaseCliApplier
        from supadeploy.targets.supabase_cli import find_supabase_cli

        applier = SupabaseCliApplier(find_supabase_cli(resolved.project.workdir), resolved.project.workdir,
                                     on_output=None if invocation.quiet else invocation.say)
    target = invocation.open(resolved, request.command, for_writing=True)
    environment = resolved.environment
    hooks = DeployHooks(
        confirm=deploy_confirmation(invocation, target, environment, lambda plan: (
            f"Apply {len(plan.pending)} migration(s) to protected environment '{environment.name}'?")),
        take_backup=backup_taker(invocation, resolved, target),
        listener=_listener(invocation, request, applier is not None),  # the CLI shows its own progress
        deployment=deployment_context(request, resolved),
        applier=applier,
    )
    try:
        return deploy(target, resolved.project, environment, discovery, options, hooks), target.description
    finally:
        target.close()


def _listener(invocation: Invocation, request: PushRequest, cli_engine: bool) -> PushListener | None:
    if invocation.quiet or cli_engine or not request.progress:
        return None
    from supadeploy.report import human

    return human.ProgressPrinter()


def deployment_context(request: PushRequest, resolved: Resolved) -> DeploymentContext:
    from supadeploy.deploylog import DeploymentContext

    context = DeploymentContext.detect(request.command, resolved.environment.name, resolved.project.workdir)
    return replace(context, fleet_run=request.fleet_run, fleet_wave=request.fleet_wave)
