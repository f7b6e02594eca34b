"""`supadeploy history`: the deploy log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supadeploy.cli.common import (
    ApiUrlOption,
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

HELP = """Show the deploy log: every push and promotion to this database (who, which commit, when, result,
versions applied, backup). Kept in supabase_migrations.supadeploy_deployments, next to the Supabase CLI's
history table, which supadeploy never changes beyond the rows `supabase db push` would write."""


def history(
    env: EnvOption = None,
    db_url: DbUrlOption = None,
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
    yes: YesOption = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many runs to show, newest first.")] = 20,
    engine: EngineOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    flags = DatabaseFlags(env=env, db_url=db_url, workdir=workdir, json=json_output, yes=yes)
    with user_errors(json_output):
        from supadeploy.commands.reads import run_history
        from supadeploy.report.history_text import history_document, history_text

        run = run_history(invocation(flags, engine=engine, api_url=api_url), limit)
        if json_output:
            print_json(history_document(run.deployments, run.description))
        else:
            typer.echo(history_text(run.deployments, run.description))
