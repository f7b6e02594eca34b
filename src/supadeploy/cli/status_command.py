"""`supadeploy status`: flags → supadeploy.status → render."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from supadeploy.cli.common import (
    ApiUrlOption,
    DatabaseFlags,
    DbUrlOption,
    EngineOption,
    EnvOption,
    JsonOption,
    WorkdirOption,
    echo_err,
    open_target,
    print_json,
    resolve,
    user_errors,
)

if TYPE_CHECKING:
    from supadeploy.migrations.files import Discovery
    from supadeploy.status import EnvironmentStatus

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
    with user_errors(json_output):
        from supadeploy.config import load_project
        from supadeploy.migrations.files import discover_migrations
        from supadeploy.report.status_text import status_text

        project = load_project(workdir)
        discovery = discover_migrations(project.migrations_dir)
        names = sorted(project.environments) if all_environments else [env]
        results = [_one(DatabaseFlags(env=name, db_url=None if all_environments else db_url, workdir=workdir,
                                      json=json_output, yes=False), discovery, engine=engine, api_url=api_url,
                        verify=not no_verify, types=not no_types) for name in names]
        if json_output:
            print_json({"ok": not any(result.actions for result in results),
                        "environments": [result.as_dict() for result in results]})
        else:
            for result in results:
                typer.echo(status_text(result))
        if any(result.actions for result in results):
            raise typer.Exit(1)


def _one(flags: DatabaseFlags, discovery: Discovery, *, engine: str | None, api_url: str | None, verify: bool,
         types: bool) -> EnvironmentStatus:
    from supadeploy.errors import SupadeployError
    from supadeploy.status import EnvironmentStatus, environment_status

    try:
        resolved = resolve(flags, engine)
    except SupadeployError as error:
        return EnvironmentStatus(flags.env or "default", engine or "?", error=error.what)
    target = open_target(resolved, "status", for_writing=False, api_url=api_url, json_output=flags.json)
    try:
        return environment_status(resolved, target, discovery, verify=verify, types=types)
    finally:
        try:
            target.close()
        except SupadeployError as error:  # closing a target that never connected
            echo_err(f"note: {error.what}")
