"""`supadeploy rollback`."""

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

HELP = """Undo the applied migrations newer than VERSION (0 = all), newest first.

Each migration's down SQL (NNN_name.down.sql next to it or in supabase/migrations/down/, else its
-- Rollback: header) runs in one transaction together with the removal of its history row. A migration
without down SQL stops the rollback before anything runs. Protected environments ask for confirmation
(before the deploy lock is taken) and take a backup first: pg_dump into [push] backup_dir (default
.supadeploy/backups/), or a restore point over the Management API; --no-backup to skip it.
"""


def rollback(
    to: Annotated[str, typer.Option("--to", help="Keep this version and every older one (0 = undo all).",
                                    show_default=False)],
    env: EnvOption = None,
    db_url: DbUrlOption = None,
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
    yes: YesOption = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would run; change nothing.")] = False,
    no_backup: Annotated[bool, typer.Option("--no-backup", help="Protected environments: skip the backup.")]
    = False,
    no_types: Annotated[bool, typer.Option("--no-types", help="Skip regenerating the configured type files.")] =
        False,
    engine: EngineOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    flags = DatabaseFlags(env=env, db_url=db_url, workdir=workdir, json=json_output, yes=yes)
    with user_errors(json_output):
        from supadeploy.commands.rollback import RollbackRequest, run_rollback
        from supadeploy.report.rollback_text import rollback_document, rollback_text

        run = run_rollback(invocation(flags, engine=engine, api_url=api_url),
                           RollbackRequest(to=to, dry_run=dry_run, backup=not no_backup, types=not no_types))
        if json_output:
            print_json(rollback_document(run, to))
        else:
            typer.echo(rollback_text(run, to))
