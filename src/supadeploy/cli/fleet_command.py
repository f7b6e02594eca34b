"""`supadeploy fleet push|status NAME`: the members of a [fleets.NAME] rolled out wave by wave."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from supadeploy.cli.common import (
    DatabaseFlags,
    JsonOption,
    WorkdirOption,
    YesOption,
    invocation,
    print_json,
    user_errors,
)
from supadeploy.cli.fleet_options import FleetArgument, ParallelOption

app = typer.Typer(help="Roll one migration set out to the members of a [fleets.NAME] of supadeploy.toml: the "
                  "canary first, then waves, a bounded number at once, halting on the first failure.",
                  no_args_is_help=True)

PUSH_HELP = """Push the pending migrations to every member of fleet NAME.

Plans every member first (read-only, --parallel at once): a member that cannot be reached, whose applied
files were edited, or that is protected without --yes stops the rollout before anything is applied (leave
members out with --exclude). Then wave by wave, the canary first, at most --parallel members at once, each
through the same pipeline as `supadeploy push` (deploy lock, backup, verify, deploy log). The first failure
starts nothing new (running members finish); --max-failures K tolerates K, --continue-on-error all. A rerun
resumes: members already up to date are skipped. Exit 1 when a member failed or was not started.
"""


@app.command("push", help=PUSH_HELP)
def fleet_push(
    name: FleetArgument,
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
    yes: YesOption = False,
    parallel: ParallelOption = None,
    exclude: Annotated[list[str] | None, typer.Option(
        "--exclude", help="Leave this member out (repeatable).", show_default=False)] = None,
    members: Annotated[str | None, typer.Option(
        "--members", help="Only these members, comma-separated (one shard of `fleet matrix`).",
        show_default=False)] = None,
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", help="Only members with this tag (repeatable: any of them; members_file rows).",
        show_default=False)] = None,
    wave: Annotated[int | None, typer.Option(
        "--wave", min=1, help="Only this wave, from 1 (the canary).", show_default=False)] = None,
    max_failures: Annotated[int, typer.Option(
        "--max-failures", min=0, help="Failures tolerated before nothing new starts.")] = 0,
    continue_on_error: Annotated[bool, typer.Option(
        "--continue-on-error", help="Deploy every member whatever fails.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan every member; apply nothing.")] = False,
    no_backup: Annotated[bool, typer.Option("--no-backup", help="Protected members: deploy without a backup.")]
    = False,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="Skip RLS verification after each push.")] = False,
    allow_destructive: Annotated[bool, typer.Option(
        "--allow-destructive", help="Protected members: allow DROP, TRUNCATE, type changes, renames.")] = False,
    run_id: Annotated[str | None, typer.Option(
        "--run-id", help="This rollout's id in every member's deploy log (default: made from the time); the "
        "shards of one GitHub Actions run share it.", show_default=False)] = None,
) -> None:
    flags = DatabaseFlags(env=None, db_url=None, workdir=workdir, json=json_output, yes=yes)
    with user_errors(json_output):
        from supadeploy.commands.fleet import FleetPushRequest, run_fleet_push
        from supadeploy.report.fleet_text import fleet_push_document, fleet_push_text
        from supadeploy.report.live_line import LiveLine

        line = LiveLine() if not json_output and sys.stderr.isatty() else None
        try:
            run = run_fleet_push(
                invocation(flags) if line is None else replace(invocation(flags), say=line.say),
                FleetPushRequest(
                    fleet=name, parallel=parallel, continue_on_error=continue_on_error, max_failures=max_failures,
                    exclude=tuple(exclude or ()), members=_names(members), tags=tuple(tag or ()), wave=wave,
                    dry_run=dry_run, allow_destructive=allow_destructive, backup=not no_backup,
                    verify=not no_verify, run_id=run_id, live=None if line is None else line.show))
        finally:
            if line is not None:
                line.close()
        if json_output:
            print_json(fleet_push_document(run))
        else:
            typer.echo(fleet_push_text(run))
        if not run.ok:
            raise typer.Exit(130 if run.interrupted else 1)


@app.command("status")
def fleet_status(
    name: FleetArgument,
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
    parallel: ParallelOption = None,
    run_id: Annotated[str | None, typer.Option(
        "--run", help="Also say which members the rollout with this id (`fleet push` prints it) reached, from "
        "their deploy logs.", show_default=False)] = None,
) -> None:
    """Where every member of fleet NAME stands: up to date, pending, drifted or unreachable (read-only).
    Exit 1 when a member needs action."""
    flags = DatabaseFlags(env=None, db_url=None, workdir=workdir, json=json_output, yes=False)
    with user_errors(json_output):
        from supadeploy.commands.fleet import run_fleet_status
        from supadeploy.report.fleet_text import fleet_status_document, fleet_status_text

        status = run_fleet_status(invocation(flags), name, parallel, run_id)
        if json_output:
            print_json(fleet_status_document(status))
        else:
            typer.echo(fleet_status_text(status))
        if any(member.actions for member in status.members):
            raise typer.Exit(1)


@app.command("matrix")
def fleet_matrix(
    name: FleetArgument,
    wave: Annotated[int, typer.Option("--wave", help="The wave, from 1 (the canary).")] = 1,
    shard_size: Annotated[int, typer.Option("--shard-size", help="Members per matrix job.")] = 10,
    expect_waves: Annotated[int | None, typer.Option(
        "--expect-waves", min=1, help="Fail unless the fleet has this many waves (the fleet workflow passes the "
        "number it was written for).", show_default=False)] = None,
    workdir: WorkdirOption = Path("."),
) -> None:
    """Print the GitHub Actions `strategy.matrix` (JSON) of one wave: a job per shard of --shard-size members,
    each to run `supadeploy fleet push NAME --members "${{ matrix.members }}"`."""
    with user_errors(True):
        import json

        from supadeploy.commands.fleet import run_fleet_matrix

        shards = run_fleet_matrix(invocation(DatabaseFlags(env=None, db_url=None, workdir=workdir, json=True,
                                                           yes=False)), name, wave, shard_size,
                                  expect_waves)
        typer.echo(json.dumps({"include": [{"shard": index, "wave": shard.wave, "members": ",".join(shard.members)}
                                           for index, shard in enumerate(shards, start=1)]}, separators=(",", ":")))


SUMMARY_HELP = """Make the `fleet push NAME --json` reports of one rollout's jobs into one markdown summary.

PATH: report files, or folders searched for *.json (the fleet workflow's summary job passes the folder its
artifacts were downloaded to, and appends the output to $GITHUB_STEP_SUMMARY). Per wave, how many members
were applied, up to date, failed, not started or not reached (in no report: their job never ran); then the
members that need attention, and the jobs that stopped before deploying or whose report is broken. A member
in several reports (a rerun job) is counted once, as its last run ended. Exit 1 unless every member is up to
date or applied.
"""


@app.command("summary", help=SUMMARY_HELP)
def fleet_summary(
    name: FleetArgument,
    paths: Annotated[list[Path], typer.Argument(metavar="PATH...", help="Report files or folders of them.")],
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
) -> None:
    flags = DatabaseFlags(env=None, db_url=None, workdir=workdir, json=json_output, yes=False)
    with user_errors(json_output):
        from supadeploy.commands.fleet_summary import run_fleet_summary
        from supadeploy.report.fleet_summary_text import fleet_summary_document, fleet_summary_markdown

        summary = run_fleet_summary(invocation(flags), name, paths)
        if json_output:
            print_json(fleet_summary_document(summary))
        else:
            typer.echo(fleet_summary_markdown(summary), nl=False)
        if not summary.ok:
            raise typer.Exit(1)


def _names(value: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in (value or "").split(",") if name.strip())


def _register_checks() -> None:
    from supadeploy.cli.fleet_checks_command import register

    register(app)


_register_checks()
