"""`supadeploy push`: flags → supadeploy.deploy.deploy → render."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from supadeploy.cli.common import (
    DatabaseFlags,
    DbUrlOption,
    EngineOption,
    EnvOption,
    JsonOption,
    WorkdirOption,
    YesOption,
    echo_err,
    open_target,
    print_json,
    resolve,
    user_errors,
)
from supadeploy.cli.deploy_support import (
    backup_taker,
    confirmation,
    exit_if_failed,
    print_github_annotations,
    push_options_for,
    write_github_reports,
)
from supadeploy.errors import SupadeployError
from supadeploy.redact import environment_secrets

if TYPE_CHECKING:
    from supadeploy.deploy import DeployOptions, DeployOutcome
    from supadeploy.migrations.digest_cache import DigestCache
    from supadeploy.migrations.files import Discovery
    from supadeploy.targets.resolve import Resolved
    from supadeploy.uptodate import HistoryPrefetch

DryRunShadowUrlOption = Annotated[str | None, typer.Option(
    "--shadow-url", envvar="SUPADEPLOY_SHADOW_URL", show_envvar=True, show_default=False,
    help="--dry-run: superuser URL of a server where a throwaway database may be created; the pending "
         "migrations are replayed on it to show what anon and authenticated gain or lose.")]

HELP = """Apply the pending migrations in supabase/migrations/ to an environment, then verify RLS and
regenerate types.

Plans first (pending = local versions not in supabase_migrations.schema_migrations), refuses an unsafe
plan (remote versions missing locally; out-of-order versions without --include-all; applied files whose
statements were edited since, while edits of comments or whitespace are only noted; a database migrated by
hand, with tables but no history or tables that pending migrations create: adopt it with `supadeploy
baseline`), then applies each pending migration in one transaction together with its history row, under a
deploy lock so concurrent pushes never apply anything twice. A failing migration leaves nothing behind and
is reported as file:line:column; the ones before it stay applied and a rerun continues from there.

Protected environments show the plan and ask for confirmation (--yes in CI), refuse lint errors and
destructive statements (--allow-destructive), and take a backup first (--no-backup to skip).
After the push: `supadeploy verify` (--no-verify) and the configured type files (--no-types). The flags and the
[push], [verify] and [types] settings they use are checked before anything connects; a step that fails after
the apply says which migrations were applied (they stay applied).
"""


def push(
    env: EnvOption = None,
    db_url: DbUrlOption = None,
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
    yes: YesOption = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan and lint findings; apply nothing.")] = False,
    include_all: Annotated[bool, typer.Option(
        "--include-all", help="Also apply pending migrations older than the newest applied one.")] = False,
    allow_drift: Annotated[bool, typer.Option(
        "--allow-drift", help="Push even if applied migration files were edited since they ran.")] = False,
    allow_existing_objects: Annotated[bool, typer.Option(
        "--allow-existing-objects", help="Push even though the database already has tables the migrations create "
        "(no history but tables in the exposed schemas, or tables of pending migrations): a database migrated by "
        "hand is adopted with `supadeploy baseline --to VERSION` instead.")] = False,
    engine: EngineOption = None,
    api_url: Annotated[str | None, typer.Option(
        "--api-url", help="Management API URL for --engine api.", envvar="SUPADEPLOY_API_URL",
        show_default=False)] = None,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="Skip RLS verification after the push.")] = False,
    fail_on: Annotated[str | None, typer.Option(
        "--fail-on", help="Verification findings that fail the run: error (default), warn or none.",
        show_default=False)] = None,
    no_types: Annotated[bool, typer.Option("--no-types", help="Skip regenerating the configured type files.")] =
        False,
    allow_destructive: Annotated[bool, typer.Option(
        "--allow-destructive", help="Protected environments: allow DROP, TRUNCATE, type changes, renames.")] = False,
    no_backup: Annotated[bool, typer.Option(
        "--no-backup", help="Protected environments: deploy without taking a backup first.")] = False,
    shadow_url: DryRunShadowUrlOption = None,
) -> None:
    flags = DatabaseFlags(env=env, db_url=db_url, workdir=workdir, json=json_output, yes=yes)
    with user_errors(json_output):
        from supadeploy.deploy import DeployOptions, check_deploy
        from supadeploy.migrations.digest_cache import DigestCache

        resolved = resolve(flags, engine)
        options = check_deploy(resolved.project, DeployOptions(
            push=push_options_for(resolved.project, dry_run=dry_run, include_all=include_all, allow_drift=allow_drift,
                                  allow_existing_objects=allow_existing_objects),
            verify=not no_verify, fail_on=fail_on, types=not no_types, allow_destructive=allow_destructive,
            backup=not no_backup, shadow_url=shadow_url if dry_run else None), resolved.environment)
        prefetch = _start_up_to_date_check(resolved, options)
        digests = DigestCache.for_folder(resolved.project.migrations_dir)
        try:
            discovery = _discover(flags, resolved, digests)
        except SupadeployError:
            if prefetch is not None:
                prefetch.wait()
            raise
        outcome, description = (_up_to_date(prefetch, discovery, options)
                                or _deploy(flags, resolved, discovery, options, api_url=api_url))
        digests.save(discovery.migrations)
        _render(flags, resolved, discovery, outcome, description)


def _discover(flags: DatabaseFlags, resolved: Resolved, digests: DigestCache) -> Discovery:
    from supadeploy.migrations.files import discover_migrations

    discovery = discover_migrations(resolved.project.migrations_dir, known_digests=digests.digests)
    if not flags.json:
        for warning in discovery.warnings:
            echo_err(f"warning: {warning}")
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


def _deploy(flags: DatabaseFlags, resolved: Resolved, discovery: Discovery, options: DeployOptions, *,
            api_url: str | None) -> tuple[DeployOutcome, str]:
    from supadeploy.deploy import DeployHooks, deploy
    from supadeploy.deploylog import DeploymentContext
    from supadeploy.report import human

    engine = resolved.engine
    applier = None
    if engine == "cli":  # a missing or too old CLI is reported before anything connects
        from supadeploy.engines import SupabaseCliApplier
        from supadeploy.targets.supabase_cli import find_supabase_cli

        applier = SupabaseCliApplier(find_supabase_cli(resolved.project.workdir), resolved.project.workdir,
                                     on_output=None if flags.json else echo_err)
    target = open_target(resolved, "push", for_writing=True, api_url=api_url, json_output=flags.json)
    environment = resolved.environment
    hooks = DeployHooks(
        confirm=confirmation(flags, target, environment, lambda plan: (
            f"Apply {len(plan.pending)} migration(s) to protected environment '{environment.name}'?")),
        take_backup=backup_taker(resolved, target, engine, api_url),
        listener=None if flags.json or applier is not None else human.ProgressPrinter(),  # the CLI shows progress
        deployment=DeploymentContext.detect("push", environment.name, resolved.project.workdir),
        applier=applier,
    )
    try:
        return deploy(target, resolved.project, environment, discovery, options, hooks), target.description
    finally:
        target.close()


def _render(flags: DatabaseFlags, resolved: Resolved, discovery: Discovery, outcome: DeployOutcome,
            description: str) -> None:
    from supadeploy.report import human
    from supadeploy.report.deploy_text import deploy_document, deploy_text

    environment = resolved.environment.name
    write_github_reports(outcome, target=description, environment=environment)
    if flags.json:
        print_json(deploy_document(outcome, target=description, environment=environment,
                                   warnings=discovery.warnings, secrets=environment_secrets()))
    else:
        typer.echo(human.push_summary(outcome.push, description))
        text = deploy_text(outcome)
        if text:
            typer.echo(text)
    print_github_annotations(outcome, json_output=flags.json)
    exit_if_failed(outcome)
