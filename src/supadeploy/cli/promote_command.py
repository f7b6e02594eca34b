"""`supadeploy promote SOURCE TARGET`: flags → supadeploy.commands.promote.run_promote → render."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from supadeploy.cli.common import (
    DatabaseFlags,
    JsonOption,
    WorkdirOption,
    YesOption,
    echo_err,
    invocation,
    print_json,
    user_errors,
)
from supadeploy.cli.deploy_support import exit_if_failed, print_github_annotations, write_github_reports
from supadeploy.cli.push_command import DryRunShadowUrlOption

if TYPE_CHECKING:
    from supadeploy.commands.promote import PromoteRun

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
        from supadeploy.commands.promote import PromoteRequest, run_promote

        run = run_promote(invocation(flags), PromoteRequest(
            source=source, target=target, dry_run=dry_run, allow_destructive=allow_destructive,
            backup=not no_backup, verify=not no_verify, fail_on=fail_on, types=not no_types,
            allow_existing_objects=allow_existing_objects, shadow_url=shadow_url))
        _render(flags, run)


def _render(flags: DatabaseFlags, run: PromoteRun) -> None:
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

    outcome, discovery = run.outcome, run.discovery
    source_description, target_description = run.source_description, run.target_description
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
