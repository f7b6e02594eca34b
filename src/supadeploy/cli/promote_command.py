"""`supadeploy promote SOURCE TARGET`: flags → supadeploy.promote.promote → render."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from supadeploy.cli.common import (
    DatabaseFlags,
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
from supadeploy.cli.push_command import DryRunShadowUrlOption

if TYPE_CHECKING:
    from supadeploy.deploy import DeployOptions
    from supadeploy.migrations.files import Discovery
    from supadeploy.migrations.plan import Plan
    from supadeploy.promote import PromotionOutcome
    from supadeploy.targets.resolve import Resolved

HELP = """Apply to TARGET exactly the migrations SOURCE ran (`supadeploy promote staging production`), through the
same deploy as push, then check that both schemas match.

Reads both migration histories: TARGET's must be a prefix of SOURCE's (same versions, names and stored
statements), otherwise nothing is applied and the divergence is listed (versions only TARGET ran, versions
recorded differently, versions that would run out of order). The migrations applied are those SOURCE ran and
TARGET lacks; the files in supabase/migrations/ must hold exactly the statements SOURCE recorded for every
version it ran ("what was tested on staging is not what is in your folder" otherwise, naming the files).
Local files SOURCE has not run are not promoted.

The deploy is the one of `supadeploy push --env TARGET`: a protected TARGET shows the plan and asks for
confirmation (--yes in CI), refuses lint errors and destructive statements (--allow-destructive) and is backed
up first (--no-backup); each migration runs in one transaction with its history row, under the deploy lock,
recorded in the deploy log as a promotion from SOURCE; then RLS verification (--no-verify) and the configured
type files (--no-types).

Finally the schema fingerprints of SOURCE and TARGET are compared over the exposed schemas (public plus the
[verify] schemas): tables, columns, defaults, constraints, indexes, RLS flags, policies, functions, views,
triggers, enums. A difference (a hand-made change on either side) is reported as drift.
"""

EXIT_CODES_HELP = (
    "Exit codes: 0 promoted and both schemas identical; 1 failure (diverged histories or files that differ from "
    "what SOURCE ran: nothing applied; a failed migration; a step after the apply that failed, the migrations "
    "staying applied); 2 wrong usage; 3 applied, but RLS verification "
    "failed; 4 promoted, but the schemas differ (drift); 130 interrupted."
)


def promote(
    source: Annotated[str, typer.Argument(
        metavar="SOURCE", help="Environment whose applied migrations are promoted (e.g. staging).",
        show_default=False)],
    target: Annotated[str, typer.Argument(
        metavar="TARGET", help="Environment that receives them (e.g. production).", show_default=False)],
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
    yes: YesOption = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what would be promoted and the lint findings; apply nothing.")] = False,
    allow_destructive: Annotated[bool, typer.Option(
        "--allow-destructive", help="Protected TARGET: allow DROP, TRUNCATE, type changes, renames.")] = False,
    no_backup: Annotated[bool, typer.Option(
        "--no-backup", help="Protected TARGET: deploy without taking a backup first.")] = False,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="Skip RLS verification after the apply.")] = False,
    fail_on: Annotated[str | None, typer.Option(
        "--fail-on", help="Verification findings that fail the run: error (default), warn or none.",
        show_default=False)] = None,
    no_types: Annotated[bool, typer.Option("--no-types", help="Skip regenerating the configured type files.")] =
        False,
    allow_existing_objects: Annotated[bool, typer.Option(
        "--allow-existing-objects", help="Promote even though TARGET already has tables the migrations create (a "
        "database migrated by hand is adopted with `supadeploy baseline --to VERSION --env TARGET` instead).")] =
        False,
    shadow_url: DryRunShadowUrlOption = None,
) -> None:
    flags = DatabaseFlags(env=target, db_url=None, workdir=workdir, json=json_output, yes=yes)
    with user_errors(json_output):
        from supadeploy.deploy import DeployOptions, check_deploy
        from supadeploy.environment_diff import exposed_schemas
        from supadeploy.migrations.files import discover_migrations

        source_resolved = resolve(replace(flags, env=source))
        target_resolved = resolve(flags)
        options = check_deploy(target_resolved.project, DeployOptions(
            push=push_options_for(target_resolved.project, dry_run=dry_run,
                                  allow_existing_objects=allow_existing_objects), verify=not no_verify, fail_on=fail_on,
            types=not no_types, allow_destructive=allow_destructive, backup=not no_backup,
            shadow_url=shadow_url if dry_run else None), target_resolved.environment)
        schemas = exposed_schemas(target_resolved.project)
        discovery = discover_migrations(target_resolved.project.migrations_dir)
        if not json_output:
            for warning in discovery.warnings:
                echo_err(f"warning: {warning}")
        outcome, descriptions = _promote(flags, source_resolved, target_resolved, discovery, options, schemas)
        _render(flags, outcome, descriptions, discovery)


def _promote(flags: DatabaseFlags, source: Resolved, target: Resolved, discovery: Discovery,
             options: DeployOptions, schemas: tuple[str, ...]) -> tuple[PromotionOutcome, tuple[str, str]]:
    from supadeploy.deploy import DeployHooks
    from supadeploy.deploylog import DeploymentContext
    from supadeploy.promote import promote as promote_environments
    from supadeploy.report import human

    source_target = open_target(source, "promote", for_writing=False, json_output=flags.json)
    try:
        target_target = open_target(target, "promote", for_writing=True, json_output=flags.json)
        try:
            environment = target.environment

            def question(plan: Plan) -> str:
                return (f"Promote {len(plan.pending)} migration(s) from '{source.environment.name}' to protected "
                        f"environment '{environment.name}'?")

            hooks = DeployHooks(
                confirm=confirmation(flags, target_target, environment, question),
                take_backup=backup_taker(target, target_target, target.engine, None),
                listener=None if flags.json else human.ProgressPrinter(),
                deployment=DeploymentContext.detect("promote", environment.name, target.project.workdir,
                                                    source_environment=source.environment.name),
            )
            outcome = promote_environments(source_target, target_target, target.project, source.environment,
                                           environment, discovery, options, hooks,
                                           schemas=schemas)
            return outcome, (source_target.description, target_target.description)
        finally:
            target_target.close()
    finally:
        source_target.close()


def _render(flags: DatabaseFlags, outcome: PromotionOutcome, descriptions: tuple[str, str],
            discovery: Discovery) -> None:
    from supadeploy.promote import EXIT_SCHEMA_DRIFT
    from supadeploy.redact import environment_secrets
    from supadeploy.report import human
    from supadeploy.report.deploy_text import deploy_document, deploy_text
    from supadeploy.report.environments_text import (
        drift_text,
        promotion_document,
        promotion_header,
        promotion_markdown,
    )

    source_description, target_description = descriptions
    plan = outcome.plan
    write_github_reports(outcome.deploy, target=target_description, environment=plan.target, command="promote",
                         extra_markdown=promotion_markdown(outcome))
    if flags.json:
        document = deploy_document(outcome.deploy, target=target_description, environment=plan.target,
                                   warnings=discovery.warnings, secrets=environment_secrets())
        print_json(promotion_document(outcome, document, source_database=source_description))
    else:
        typer.echo(promotion_header(outcome))
        typer.echo(human.push_summary(outcome.deploy.push, target_description))
        for text in (deploy_text(outcome.deploy), drift_text(outcome)):
            if text:
                typer.echo(text)
    print_github_annotations(outcome.deploy, json_output=flags.json)
    exit_if_failed(outcome.deploy)
    if outcome.drift:
        echo_err(f"error: promoted, but the schemas differ: {plan.target} has drifted from {plan.source} "
                 f"(listed above); `supadeploy diff {plan.source} {plan.target}` shows it again")
        raise typer.Exit(EXIT_SCHEMA_DRIFT)
