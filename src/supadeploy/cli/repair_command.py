"""`supadeploy repair`."""

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
    confirm_or_refuse,
    open_target,
    print_json,
    resolve,
    user_errors,
)
from supadeploy.cli.deploy_support import writing_run

HELP = """Mark versions applied or reverted in the migration history, like `supabase migration repair`.

applied: writes each version's row from its local file (replacing a row already there); reverted: deletes
the rows. Without VERSION the whole history is made to match (emptied, then one row per local file for
applied) after a confirmation. Changes only the history, never the schema.
"""


def repair(
    versions: Annotated[list[str] | None, typer.Argument(help="Versions to repair (default: the whole history).",
                                                         show_default=False)] = None,
    status: Annotated[str, typer.Option("--status", help="applied or reverted.", show_default=False)] = "",
    env: EnvOption = None,
    db_url: DbUrlOption = None,
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
    yes: YesOption = False,
    engine: EngineOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    flags = DatabaseFlags(env=env, db_url=db_url, workdir=workdir, json=json_output, yes=yes)
    with user_errors(json_output):
        from supadeploy.migrations.files import discover_migrations
        from supadeploy.repair import check_repair_arguments
        from supadeploy.repair import repair as run_repair

        check_repair_arguments(versions or [], status)
        resolved = resolve(flags, engine)
        discovery = discover_migrations(resolved.project.migrations_dir)
        if not versions:
            confirm_or_refuse("Repair the entire migration history table to match local migration files?", yes=yes,
                              refuse_message="repair without VERSION rewrites the whole history")
        elif resolved.environment.protected:
            confirm_or_refuse(f"Mark {' '.join(versions)} {status} on protected environment "
                              f"'{resolved.environment.name}'?", yes=yes,
                              refuse_message=f"environment '{resolved.environment.name}' is protected")
        target = open_target(resolved, "repair", for_writing=True, api_url=api_url, json_output=json_output)
        try:
            with writing_run(target, resolved, "repair") as run:
                result = run_repair(target, discovery.migrations, versions or [], status)
                run.versions = result.versions
        finally:
            target.close()
        if json_output:
            print_json({"ok": True, "database": target.description, "status": result.status,
                        "versions": result.versions, "whole_history": result.whole_history,
                        "rows_written": result.rows_written, "rows_deleted": result.rows_deleted})
        else:
            from supadeploy.report.repair_text import repaired_text

            typer.echo(repaired_text(result))
