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
    open_target,
    print_json,
    resolve,
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
        from supadeploy.deploylog import list_deployments

        resolved = resolve(flags, engine)
        target = open_target(resolved, "history", for_writing=False, api_url=api_url, json_output=json_output)
        try:
            deployments = list_deployments(target, limit=limit)
        finally:
            target.close()
        if json_output:
            print_json({"ok": True, "database": target.description,
                        "deployments": [d.as_dict() for d in deployments]})
            return
        from supadeploy.report.history_text import history_text

        typer.echo(history_text(deployments, target.description))
