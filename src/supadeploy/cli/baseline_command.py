"""`supadeploy baseline`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supadeploy.cli.check_command import SchemaOption, ShadowUrlOption
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

HELP = """Adopt a database that was migrated by hand: record migrations up to VERSION as applied.

Replays those migrations on a throwaway database, compares its schema fingerprint with the live
database, and shows the differences. Records the versions (like `supabase migration repair --status
applied`) only when nothing differs, or with --force. Exit code 1 when differences stop it.
"""


def baseline(
    to: Annotated[str, typer.Option("--to", help="Last version the database already has.", show_default=False)],
    env: EnvOption = None,
    db_url: DbUrlOption = None,
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
    yes: YesOption = False,
    shadow_url: ShadowUrlOption = None,
    schema: SchemaOption = None,
    force: Annotated[bool, typer.Option("--force", help="Record the versions even when the schemas differ.")]
    = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Compare only; record nothing.")] = False,
    engine: EngineOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    flags = DatabaseFlags(env=env, db_url=db_url, workdir=workdir, json=json_output, yes=yes)
    with user_errors(json_output):
        from supadeploy.baseline import baseline as run_baseline
        from supadeploy.migrations.files import discover_migrations
        from supadeploy.report.baseline_text import STOPPED_TEXT, baseline_text

        resolved = resolve(flags, engine)
        discovery = discover_migrations(resolved.project.migrations_dir)
        if resolved.environment.protected and not dry_run:
            confirm_or_refuse(f"Record migrations up to {to} as applied on protected environment "
                              f"'{resolved.environment.name}'?", yes=yes,
                              refuse_message=f"environment '{resolved.environment.name}' is protected")
        target = open_target(resolved, "baseline", for_writing=not dry_run, api_url=api_url, json_output=json_output)
        try:
            if dry_run:
                target.acquire_deploy_lock(resolved.project.push.deploy_lock_wait_seconds)
                result = run_baseline(target, discovery.migrations, to, server_url=shadow_url,
                                      schemas=schema or None, force=force, dry_run=True)
            else:
                with writing_run(target, resolved, "baseline") as run:
                    result = run_baseline(target, discovery.migrations, to, server_url=shadow_url,
                                          schemas=schema or None, force=force)
                    run.versions = result.recorded
                    if result.differences and not force:
                        run.failed = (f"the live database differs from the migrations up to {to} "
                                      f"({len(result.differences)} difference(s)); nothing was recorded")
        finally:
            target.close()
        stopped = bool(result.differences) and not force
        if json_output:
            print_json({"ok": not stopped, "database": target.description, "to": to, "schemas": list(result.schemas),
                        "matches": result.matches, "differences": [d.as_dict() for d in result.differences],
                        "recorded": result.recorded, "already_recorded": result.already_recorded,
                        "dry_run": dry_run})
        else:
            typer.echo(baseline_text(result, target.description, stopped=stopped, dry_run=dry_run))
        if stopped:
            if not json_output:
                echo_err(f"error: {STOPPED_TEXT}")
            raise typer.Exit(1)
