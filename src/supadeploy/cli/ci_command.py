"""`supadeploy ci init`: GitHub Actions workflows for this project."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supadeploy.cli.common import WorkdirOption, user_errors

app = typer.Typer(help="Continuous integration: GitHub Actions workflows that check and deploy the database.",
                  no_args_is_help=True)


@app.command("init")
def init(
    workdir: WorkdirOption = Path("."),
    staging_branch: Annotated[str, typer.Option(help="Pushes to this branch deploy staging.")] = "develop",
    production_branch: Annotated[str, typer.Option(help="Pushes to this branch promote to production.")] = "main",
    install: Annotated[str | None, typer.Option(
        help="Shell command that installs supadeploy on the runner. Default: this exact version, "
             "pip install supadeploy==VERSION.", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite workflow files that exist.")] = False,
) -> None:
    """Write .github/workflows/: a pull-request check, a staging deploy and a production promotion.

    The production job is bound to the GitHub environment `production` (its required reviewers apply) and
    promotes exactly what staging ran; each environment has its own concurrency group. Secrets, as the
    Supabase docs name them: SUPABASE_ACCESS_TOKEN, STAGING_DB_URL, PRODUCTION_DB_URL, STAGING_DB_PASSWORD,
    PRODUCTION_DB_PASSWORD. Existing files are left unchanged unless --force.
    """
    with user_errors(False):
        from supadeploy.ci.workflows import WorkflowSettings, pinned_install, write_workflows
        from supadeploy.config import load_project

        project = load_project(workdir)
        settings = WorkflowSettings(staging_branch=staging_branch, production_branch=production_branch,
                                    install=install or pinned_install(), migrations_dir=project.migrations_folder)
        for written in write_workflows(workdir, settings, force=force):
            state = "created" if written.written else "exists; left unchanged"
            typer.echo(f"{state}: {written.path}")
