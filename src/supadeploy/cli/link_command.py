"""`supadeploy link` and `supadeploy projects`: the Management API from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supadeploy.cli.common import JsonOption, WorkdirOption, echo_err, print_json, user_errors

LINK_HELP = """Link an environment to a hosted Supabase project.

Checks through the Management API (token in $SUPABASE_ACCESS_TOKEN) that the project exists and is healthy,
records project_ref for the environment in supadeploy.toml (comments and order kept), and, when the
Supabase CLI is installed, runs `supabase link --project-ref REF` so the CLI's own commands work in this
folder. Writes no secret to disk.
"""

ApiUrlOption = Annotated[str | None, typer.Option(
    "--api-url", help="Management API URL (default: https://api.supabase.com, or [api] api_url).",
    envvar="SUPADEPLOY_API_URL", show_default=False, show_envvar=True)]


def link(
    environment: Annotated[str, typer.Argument(help="Environment to link (e.g. staging, production).")],
    project_ref: Annotated[str, typer.Option("--project-ref", help="The project's ref (20 lowercase letters).")],
    workdir: WorkdirOption = Path("."),
    api_url: ApiUrlOption = None,
    skip_cli: Annotated[bool, typer.Option("--skip-cli", help="Do not run `supabase link`.")] = False,
    json_output: JsonOption = False,
) -> None:
    with user_errors(json_output):
        from supadeploy.commands.link import run_link

        result = run_link(workdir, environment, project_ref, api_url=api_url, run_cli=not skip_cli)
    if json_output:
        print_json({"ok": True, "environment": result.environment, "project": result.project.as_dict(),
                    "config_file": str(result.config_path), "config_changed": result.config_changed,
                    "supabase_cli": {"ran": result.cli.ran, "ok": result.cli.ok, "message": result.cli.message}})
        return
    from supadeploy.report.link_text import linked_text

    typer.echo(linked_text(result))
    if result.cli.ran and not result.cli.ok:
        echo_err(f"warning: {result.cli.message}")
    elif result.cli.ran:
        typer.echo(result.cli.message)


PROJECTS_HELP = "List the Supabase projects the access token ($SUPABASE_ACCESS_TOKEN) can see."


def projects(
    workdir: WorkdirOption = Path("."),
    api_url: ApiUrlOption = None,
    json_output: JsonOption = False,
) -> None:
    with user_errors(json_output):
        from supadeploy.commands.link import run_projects

        found = run_projects(workdir, api_url=api_url)
    if json_output:
        print_json({"ok": True, "projects": [project.as_dict() for project in found]})
        return
    from supadeploy.report.link_text import projects_text

    typer.echo(projects_text(found))
