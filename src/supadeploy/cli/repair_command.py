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
    invocation,
    print_json,
    user_errors,
)

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
        from supadeploy.commands.repair import RepairRequest, run_repair
        from supadeploy.report.repair_text import repair_document, repaired_text

        run = run_repair(invocation(flags, engine=engine, api_url=api_url),
                         RepairRequest(versions=tuple(versions or ()), status=status))
        if json_output:
            print_json(repair_document(run))
        else:
            typer.echo(repaired_text(run.result))
