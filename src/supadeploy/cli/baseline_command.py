"""`supadeploy baseline`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supadeploy.cli.check_command import SchemaOption, ShadowUrlOption
from supadeploy.cli.common import (
    ApiUrlOption,
    DatabaseFlags,
    DbUrlOption,
    EngineOption,
    EnvOption,
    JsonOption,
    WorkdirOption,
    YesOption,
    echo_err,
    invocation,
    print_json,
    user_errors,
)

HELP = """Adopt a database that was migrated by hand: record migrations up to VERSION as applied.

Replays those migrations on a throwaway database, compares its schema fingerprint with the live
database, and shows the differences. Records the versions (like `supabase migration repair --status
applied`) only when nothing differs, or with --force. Exit code 1 when differences stop it.
"""


def baseline(
    to: Annotated[str, typer.Option("--to", help="Last version the database already has.", show_default=False)],
    env: EnvOption = None,
    db_url: DbUrlOption = None,
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
    yes: YesOption = False,
    shadow_url: ShadowUrlOption = None,
    schema: SchemaOption = None,
    force: Annotated[bool, typer.Option("--force", help="Record the versions even when the schemas differ.")]
    = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Compare only; record nothing.")] = False,
    engine: EngineOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    flags = DatabaseFlags(env=env, db_url=db_url, workdir=workdir, json=json_output, yes=yes)
    with user_errors(json_output):
        from supadeploy.commands.baseline import BaselineRequest, run_baseline
        from supadeploy.report.baseline_text import STOPPED_TEXT, baseline_document, baseline_text

        run = run_baseline(invocation(flags, engine=engine, api_url=api_url), BaselineRequest(
            to=to, shadow_url=shadow_url, schemas=tuple(schema) if schema else None, force=force, dry_run=dry_run))
        if json_output:
            print_json(baseline_document(run, dry_run=dry_run))
        else:
            typer.echo(baseline_text(run.result, run.description, stopped=run.stopped, dry_run=dry_run))
        if run.stopped:
            if not json_output:
                echo_err(f"error: {STOPPED_TEXT}")
            raise typer.Exit(1)
