"""`supadeploy reconcile`."""

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

HELP = """Compare the remote migration history with the local files and explain every mismatch.

Classes: renamed (same statements under another version, e.g. applied through the dashboard or the API),
remote-only, out-of-order, edited after apply. --apply rewrites the remote row of a renamed migration to
the local version (or renames the local file with --strategy rename-local) and writes remote-only files
from their stored statements, like `supabase migration fetch`. A history row is deleted only with
--revert-remote-only. Exit code 1 while mismatches remain.
"""


def reconcile(
    env: EnvOption = None,
    db_url: DbUrlOption = None,
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
    yes: YesOption = False,
    apply: Annotated[bool, typer.Option("--apply", help="Carry out the proposals.")] = False,
    strategy: Annotated[str, typer.Option("--strategy", help="For renamed migrations: rewrite-remote or "
                                          "rename-local.")] = "rewrite-remote",
    revert_remote_only: Annotated[bool, typer.Option(
        "--revert-remote-only", help="With --apply: delete remote-only rows instead of writing their files.")]
    = False,
    engine: EngineOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    flags = DatabaseFlags(env=env, db_url=db_url, workdir=workdir, json=json_output, yes=yes)
    with user_errors(json_output):
        from supadeploy.commands.reconcile import ReconcileRequest, run_reconcile
        from supadeploy.report.reconcile_text import actions_text, reconcile_document, report_text

        run = run_reconcile(invocation(flags, engine=engine, api_url=api_url), ReconcileRequest(
            apply=apply, strategy=strategy, revert_remote_only=revert_remote_only))
        if json_output:
            print_json(reconcile_document(run))
        else:
            if run.actions is not None:
                typer.echo(actions_text(run.actions))
            typer.echo(report_text(run.report))
        if run.report.mismatches:
            raise typer.Exit(1)
