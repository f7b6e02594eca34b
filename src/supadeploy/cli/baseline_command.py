"""`supadeploy baseline`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supadeploy.cli.check_command import SchemaOption, ShadowUrlOption
from supadeploy.cli.common import (
    DatabaseFlags,
    DbUrlOption,
    EnvOption,
    JsonOption,
    WorkdirOption,
    YesOption,
    confirm_or_refuse,
    echo_err,
    print_json,
    resolve,
    user_errors,
)

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
) -> None:
    flags = DatabaseFlags(env=env, db_url=db_url, workdir=workdir, json=json_output, yes=yes)
    with user_errors(json_output):
        from supadeploy.baseline import baseline as run_baseline
        from supadeploy.migrations.files import discover_migrations
        from supadeploy.targets.connection_url import default_application_name
        from supadeploy.targets.postgres import PostgresTarget

        resolved = resolve(flags)
        discovery = discover_migrations(resolved.project.migrations_dir)
        if resolved.environment.protected and not dry_run:
            confirm_or_refuse(f"Record migrations up to {to} as applied on protected environment "
                              f"'{resolved.environment.name}'?", yes=yes,
                              refuse_message=f"environment '{resolved.environment.name}' is protected")
        target = PostgresTarget(resolved.url, application_name=default_application_name("baseline"))
        try:
            target.acquire_deploy_lock(resolved.project.push.deploy_lock_wait_seconds)
            result = run_baseline(target, discovery.migrations, to, server_url=shadow_url, schemas=schema or None,
                                  force=force, dry_run=dry_run)
        finally:
            target.close()
        stopped = bool(result.differences) and not force
        if json_output:
            print_json({"ok": not stopped, "database": target.description, "to": to, "schemas": list(result.schemas),
                        "matches": result.matches, "differences": [d.as_dict() for d in result.differences],
                        "recorded": result.recorded, "already_recorded": result.already_recorded,
                        "dry_run": dry_run})
        else:
            lines = [f"compared {len(result.migrations)} migration(s) up to {to} with {target.description} "
                     f"over schemas {', '.join(result.schemas) or '(none)'}"]
            if result.differences:
                lines.append(f"{len(result.differences)} difference(s) (removed = missing from the live database, "
                             "added = only in the live database):")
                lines.extend(f"  {d.describe()}" for d in result.differences)
            else:
                lines.append("the live schema matches the migrations")
            if result.recorded:
                lines.append(f"recorded as applied: {', '.join(result.recorded)}")
            elif not stopped and not dry_run:
                lines.append("nothing to record: every version is already in the history")
            typer.echo("\n".join(lines))
        if stopped:
            if not json_output:
                echo_err("error: the live database differs from the migrations; nothing was recorded "
                         "(fix the differences, or pass --force to record anyway)")
            raise typer.Exit(1)
