"""`supadeploy ci init`: GitHub Actions workflows for this project."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from supadeploy.cli.common import JsonOption, WorkdirOption, echo_err, print_json, user_errors

if TYPE_CHECKING:
    from supadeploy.ci.workflows import WorkflowSettings
    from supadeploy.config import ProjectConfig

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
    fleet: Annotated[str | None, typer.Option(
        "--fleet", metavar="NAME", help="Write only the rollout workflow of fleet NAME ([fleets.NAME]).",
        show_default=False)] = None,
    shard_size: Annotated[int, typer.Option(
        "--shard-size", min=1, help="--fleet: members per matrix job.")] = 25,
    max_parallel: Annotated[int, typer.Option(
        "--max-parallel", min=1, help="--fleet: matrix jobs of one wave running at once.")] = 20,
) -> None:
    """Write .github/workflows/: a pull-request check, a staging deploy and a production promotion.

    With --fleet NAME, only .github/workflows/supadeploy-fleet-NAME.yml: a plan job (every member, read-only),
    the canary, one matrix job per later wave (--shard-size members per job, --max-parallel jobs at once,
    fail-fast, each wave after the one before) and a summary job collecting every job's report.

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
        if fleet is not None:
            _write_fleet_workflow(workdir, project, fleet, settings, shard_size, max_parallel, force=force)
            return
        for written in write_workflows(workdir, settings, force=force):
            state = "created" if written.written else "exists; left unchanged"
            typer.echo(f"{state}: {written.path}")


def _write_fleet_workflow(workdir: Path, project: ProjectConfig, name: str, settings: WorkflowSettings,
                          shard_size: int, max_parallel: int, *, force: bool) -> None:
    from supadeploy.ci.fleet_workflow import FleetWorkflowSettings, write_fleet_workflow
    from supadeploy.fleet_config import load_fleet

    fleet = load_fleet(project, name)
    result = write_fleet_workflow(workdir, project, fleet, settings, FleetWorkflowSettings(
        fleet=name, shard_size=shard_size, max_parallel=max_parallel), force=force)
    state = "created" if result.written.written else "exists; left unchanged (--force rewrites it)"
    typer.echo(f"{state}: {result.written.path} ({len(fleet.members)} member(s), {len(fleet.waves)} wave(s), "
               f"at most {result.jobs} matrix job(s) per wave)")
    for warning in result.warnings:
        echo_err(f"warning: {warning}")


COMMENT_HELP = """Post (or update) the pull-request comment that shows what the change does to each database.

Builds one markdown comment from supadeploy's own --json reports, given with --from (repeatable):
`supadeploy push --env NAME --dry-run --shadow-url URL --json` per target environment (pending migrations
with their SQL, lint findings as file:line, destructive statements, what anon and authenticated gain or
lose, the types that change) and `supadeploy check --json` (the replay on a throwaway database), then a
verdict. The comment carries a hidden marker, so each run edits the same comment instead of adding one.

In GitHub Actions it reads GITHUB_REPOSITORY, the pull request from GITHUB_EVENT_PATH, GITHUB_API_URL and the
token from GITHUB_TOKEN (never printed); the job needs `permissions: pull-requests: write`. A fork's pull
request (read-only token) or a run that is not for a pull request gets the comment in the step summary,
with a note saying why. --print writes the markdown to stdout and posts nothing.
"""


@app.command("comment", help=COMMENT_HELP)
def comment(
    reports: Annotated[list[Path], typer.Option(
        "--from", metavar="FILE", help="A --json report of `push --dry-run` or `check` (repeatable); the file name "
        "(without .json) labels a report that names no environment.", show_default=False)],
    workdir: WorkdirOption = Path("."),
    key: Annotated[str | None, typer.Option(
        "--key", help="Keep one comment per key on the pull request (e.g. one per workflow).",
        show_default=False)] = None,
    print_only: Annotated[bool, typer.Option("--print", help="Print the markdown; post nothing.")] = False,
    json_output: JsonOption = False,
) -> None:
    with user_errors(json_output):
        from supadeploy.ci.pull_request_comment import post_comment, read_reports
        from supadeploy.report.pr_comment import comment_markdown, marker_for, run_footer

        body = comment_markdown(read_reports(reports), workdir=workdir, key=key, footer=run_footer())
        if print_only:
            if json_output:
                print_json({"ok": True, "where": "stdout", "action": "printed", "body": body})
            else:
                typer.echo(body, nl=False)
            return
        posted = post_comment(body, marker_for(key))
        if json_output:
            print_json({"ok": True, "where": posted.where, "action": posted.action, "url": posted.url,
                        "note": posted.note})
        elif posted.where == "comment":
            typer.echo(f"{posted.action} the pull-request comment: {posted.url}")
        else:
            typer.echo(f"wrote the comment to the step summary: {posted.note}")
