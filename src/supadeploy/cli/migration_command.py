"""`supadeploy migration list|new`."""

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
    echo_err,
    invocation,
    print_json,
    user_errors,
)

app = typer.Typer(help="Inspect and create migration files.", no_args_is_help=True)


@app.command("list")
def list_migrations(
    env: EnvOption = None,
    db_url: DbUrlOption = None,
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
    yes: YesOption = False,
    engine: EngineOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    """Local migration files next to the remote history, like `supabase migration list`."""
    flags = DatabaseFlags(env=env, db_url=db_url, workdir=workdir, json=json_output, yes=yes)
    with user_errors(json_output):
        from supadeploy.commands.reads import run_migration_list
        from supadeploy.report.migration_list_text import listing_document, listing_table

        run = run_migration_list(invocation(flags, engine=engine, api_url=api_url))
        if json_output:
            print_json(listing_document(run.entries, run.description, run.warnings))
            return
        for warning in run.warnings:
            echo_err(f"warning: {warning}")
        typer.echo(listing_table(run.entries))


@app.command("new")
def new_migration(
    name: Annotated[str, typer.Argument(help="What the migration does, e.g. add_user_email.")],
    workdir: WorkdirOption = Path("."),
) -> None:
    """Create the next migration file with the runbook header, numbered like the existing files."""
    with user_errors(False):
        from supadeploy.config import load_project
        from supadeploy.migrations.newfile import create_migration_file

        project = load_project(workdir)
        path = create_migration_file(project.migrations_dir, name)
        typer.echo(f"created {path}")
