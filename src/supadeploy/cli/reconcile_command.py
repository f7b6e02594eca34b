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
    confirm_or_refuse,
    echo_err,
    open_target,
    print_json,
    resolve,
    user_errors,
)
from supadeploy.cli.deploy_support import writing_run

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
        from supadeploy.migrations.files import discover_migrations
        from supadeploy.reconcile import apply_reconcile
        from supadeploy.reconcile import reconcile as classify
        from supadeploy.report.reconcile_text import actions_document, actions_text, report_text

        resolved = resolve(flags, engine)
        discovery = discover_migrations(resolved.project.migrations_dir)
        target = open_target(resolved, "reconcile", for_writing=apply, api_url=api_url, json_output=json_output)
        actions = None
        try:
            report = classify(discovery.migrations, target.read_history())
            if apply and report.mismatches:
                if not json_output:
                    echo_err(report_text(report))
                if resolved.environment.protected:
                    confirm_or_refuse(f"Apply these changes on protected environment '{resolved.environment.name}'?",
                                      yes=yes, refuse_message=f"environment '{resolved.environment.name}' is protected")
                with writing_run(target, resolved, "reconcile") as run:
                    actions = apply_reconcile(target, report, resolved.project.migrations_dir, strategy=strategy,
                                              revert_remote_only=revert_remote_only)
                    run.versions = [new for _, new in actions.rewritten] + actions.reverted
                report = classify(discover_migrations(resolved.project.migrations_dir).migrations,
                                  target.read_history())
        finally:
            target.close()
        if json_output:
            print_json({"ok": not report.mismatches, "database": target.description, "in_sync": report.in_sync,
                        "pending": [m.version for m in report.pending],
                        "mismatches": [m.as_dict() for m in report.mismatches],
                        "actions": actions_document(actions)})
        else:
            if actions is not None:
                typer.echo(actions_text(actions))
            typer.echo(report_text(report))
        if report.mismatches:
            raise typer.Exit(1)
