"""`supadeploy status`: flags → supadeploy.status → render."""

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
    invocation,
    print_json,
    user_errors,
)

HELP = """Show where an environment stands, in one screen (or --json): how it is reached and whether it answers,
applied / pending / edited / missing migrations, who holds the deploy lock, the last deploy from the log, stale
type files and the verify summary. Reads only; takes no lock. Exit 1 when something needs action (each one is
listed with the command that does it), 0 when nothing does. --all: every environment of supadeploy.toml."""


def status(
    env: EnvOption = None,
    db_url: DbUrlOption = None,
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
    all_environments: Annotated[bool, typer.Option("--all", help="Every environment in supadeploy.toml.")] = False,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="Skip the verify summary.")] = False,
    no_types: Annotated[bool, typer.Option("--no-types", help="Skip checking the configured type files.")] = False,
    engine: EngineOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    flags = DatabaseFlags(env=env, db_url=db_url, workdir=workdir, json=json_output, yes=False)
    with user_errors(json_output):
        from supadeploy.commands.status import run_status
        from supadeploy.report.status_text import status_text

        results = run_status(invocation(flags, engine=engine, api_url=api_url), all_environments=all_environments,
                             verify=not no_verify, types=not no_types)
        if json_output:
            print_json({"ok": not any(result.actions for result in results),
                        "environments": [result.as_dict() for result in results]})
        else:
            for result in results:
                typer.echo(status_text(result))
        if any(result.actions for result in results):
            raise typer.Exit(1)
