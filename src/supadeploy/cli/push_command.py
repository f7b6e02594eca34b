"""`supadeploy push`: flags → supadeploy.commands.push.run_push → render."""

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
    invocation,
    print_json,
    user_errors,
)
from supadeploy.cli.deploy_support import exit_if_failed, print_github_annotations, write_github_reports
from supadeploy.redact import environment_secrets

if TYPE_CHECKING:
    from supadeploy.commands.push import PushRun

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
        from supadeploy.commands.push import PushRequest, run_push

        run = run_push(invocation(flags, engine=engine, api_url=api_url), PushRequest(
            dry_run=dry_run, include_all=include_all, allow_drift=allow_drift,
            allow_existing_objects=allow_existing_objects, verify=not no_verify, fail_on=fail_on, types=not no_types,
            allow_destructive=allow_destructive, backup=not no_backup, shadow_url=shadow_url))
        _render(flags, run)


def _render(flags: DatabaseFlags, run: PushRun) -> None:
    from supadeploy.report import human
    from supadeploy.report.deploy_text import deploy_document, deploy_text

    outcome, description = run.outcome, run.description
    environment = run.resolved.environment.name
    write_github_reports(outcome, target=description, environment=environment)
    if flags.json:
        print_json(deploy_document(outcome, target=description, environment=environment,
                                   warnings=run.discovery.warnings, secrets=environment_secrets()))
    else:
        typer.echo(human.push_summary(outcome.push, description))
        text = deploy_text(outcome)
        if text:
            typer.echo(text)
    print_github_annotations(outcome, json_output=flags.json)
    exit_if_failed(outcome)
