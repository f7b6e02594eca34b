"""`supadeploy push`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from supadeploy.cli.common import (
    DatabaseFlags,
    DbUrlOption,
    EnvOption,
    JsonOption,
    WorkdirOption,
    YesOption,
    confirm_or_refuse,
    echo_err,
    print_json,
    user_errors,
)

if TYPE_CHECKING:
    from supadeploy.pipeline import PushResult

HELP = """Apply the pending migrations in supabase/migrations/ to an environment.

Plans first (pending = local versions not in supabase_migrations.schema_migrations), refuses an unsafe
plan (remote versions missing locally, out-of-order versions without --include-all, applied files edited
since), then applies each pending migration in one transaction together with its history row, under a
deploy lock so concurrent pushes never apply anything twice. A failing migration leaves nothing behind and
is reported as file:line:column; the ones before it stay applied and a rerun continues from there.
"""


def push(
    env: EnvOption = None,
    db_url: DbUrlOption = None,
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
    yes: YesOption = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan; apply nothing.")] = False,
    include_all: Annotated[bool, typer.Option(
        "--include-all", help="Also apply pending migrations older than the newest applied one.")] = False,
    allow_drift: Annotated[bool, typer.Option(
        "--allow-drift", help="Push even if applied migration files were edited since they ran.")] = False,
    engine: Annotated[str, typer.Option(
        "--engine", help="native (psycopg), api (Management API: project_ref + $SUPABASE_ACCESS_TOKEN) or cli "
        "(the official `supabase db push`, with supadeploy's plan, lock and drift check around it).")] = "native",
    api_url: Annotated[str | None, typer.Option(
        "--api-url", help="Management API URL for --engine api.", envvar="SUPADEPLOY_API_URL",
        show_default=False)] = None,
) -> None:
    flags = DatabaseFlags(env=env, db_url=db_url, workdir=workdir, json=json_output, yes=yes)
    with user_errors(json_output, _secrets):
        _push(flags, dry_run=dry_run, include_all=include_all, allow_drift=allow_drift, engine=engine,
              api_url=api_url)


def _secrets() -> tuple[str, ...]:
    import os

    return tuple(os.environ[name] for name in ("SUPABASE_ACCESS_TOKEN", "SUPABASE_DB_PASSWORD") if os.environ.get(name))


def _push(flags: DatabaseFlags, *, dry_run: bool, include_all: bool, allow_drift: bool, engine: str = "native",
          api_url: str | None = None) -> None:
    from supadeploy.config import postgres_duration
    from supadeploy.deploylog import DeploymentContext
    from supadeploy.engines import open_target, push_with_cli, resolve_for_engine
    from supadeploy.migrations.files import discover_migrations
    from supadeploy.pipeline import PushOptions, plan_push
    from supadeploy.pipeline import push as run_push
    from supadeploy.report import human
    from supadeploy.report.json import push_document
    from supadeploy.targets.base import SessionLimits
    from supadeploy.targets.postgres import default_application_name

    resolved = resolve_for_engine(flags, engine)
    discovery = discover_migrations(resolved.project.migrations_dir)
    if not flags.json:
        for warning in discovery.warnings:
            echo_err(f"warning: {warning}")
    settings = resolved.project.push
    options = PushOptions(
        dry_run=dry_run, include_all=include_all, allow_drift=allow_drift,
        deploy_lock_wait_seconds=settings.deploy_lock_wait_seconds,
        limits=SessionLimits(
            lock_timeout=postgres_duration(settings.lock_timeout, where="[push] lock_timeout"),
            statement_timeout=postgres_duration(settings.statement_timeout, where="[push] statement_timeout"),
        ),
    )
    note = None if flags.json else (lambda text: echo_err(f"note: {text}"))
    target = open_target(resolved, "native" if engine == "cli" else engine,
                         application_name=default_application_name("push"), api_url=api_url, on_note=note)
    try:
        if resolved.environment.protected and not dry_run:
            plan = plan_push(target, discovery, options)
            if plan.pending:
                if not flags.json:
                    echo_err(human.plan_text(plan, target.description))
                confirm_or_refuse(
                    f"Apply {len(plan.pending)} migration(s) to protected environment "
                    f"'{resolved.environment.name}'?",
                    yes=flags.yes,
                    refuse_message=f"environment '{resolved.environment.name}' is protected",
                )
        listener = None if flags.json else human.ProgressPrinter()
        if engine == "cli":
            target.close()
            result = push_with_cli(resolved, discovery, options, None, api_url=api_url,  # the CLI prints progress
                                   on_output=None if flags.json else echo_err)
        else:
            deployment = DeploymentContext.detect("push", resolved.environment.name, resolved.project.workdir)
            result = run_push(target, discovery, options, listener, deployment=deployment)
    finally:
        target.close()
    if flags.json:
        print_json(push_document(result, target=target.description, environment=resolved.environment.name,
                                 warnings=discovery.warnings))
    else:
        typer.echo(human.push_summary(result, target.description))
    report_to_github(result, target=target.description, environment=resolved.environment.name,
                     json_output=flags.json)
    if result.failed is not None:
        echo_err(f"error: {result.failed.render()}")
        raise typer.Exit(1)


def report_to_github(result: PushResult, *, target: str, environment: str | None, json_output: bool) -> None:
    """Annotations (on stderr with --json, which keeps stdout for the document), the step summary and step
    outputs, when running in GitHub Actions."""
    from supadeploy.report import github

    if not github.in_github_actions():
        return
    for line in github.push_annotations(result):
        typer.echo(line, err=json_output)
    github.append_step_summary(github.push_markdown(result, target=target, environment=environment))
    github.write_outputs(github.push_outputs(result))
