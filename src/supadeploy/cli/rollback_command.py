"""`supadeploy rollback`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

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

if TYPE_CHECKING:
    from supadeploy.config import ProjectConfig
    from supadeploy.targets.postgres import PostgresTarget

HELP = """Undo the applied migrations newer than VERSION (0 = all), newest first.

Each migration's down SQL (NNN_name.down.sql next to it or in supabase/migrations/down/, else its
-- Rollback: header) runs in one transaction together with the removal of its history row. A migration
without down SQL stops the rollback before anything runs. Protected environments ask for confirmation and
take a pg_dump backup first (into [push] backup_dir, default .supadeploy/backups/; --no-backup to skip it).
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
) -> None:
    flags = DatabaseFlags(env=env, db_url=db_url, workdir=workdir, json=json_output, yes=yes)
    with user_errors(json_output):
        from supadeploy.config import postgres_duration
        from supadeploy.migrations.files import discover_migrations
        from supadeploy.rollback import apply_rollback, plan_rollback
        from supadeploy.targets.base import SessionLimits
        from supadeploy.targets.connection_url import default_application_name
        from supadeploy.targets.postgres import PostgresTarget

        resolved = resolve(flags)
        discovery = discover_migrations(resolved.project.migrations_dir)
        settings = resolved.project.push
        limits = SessionLimits(
            lock_timeout=postgres_duration(settings.lock_timeout, where="[push] lock_timeout"),
            statement_timeout=postgres_duration(settings.statement_timeout, where="[push] statement_timeout"))
        target = PostgresTarget(resolved.url, application_name=default_application_name("rollback"))
        try:
            target.acquire_deploy_lock(settings.deploy_lock_wait_seconds)
            plan = plan_rollback(discovery.migrations, target.read_history(), to)
            steps: list[dict[str, object]] = [
                {"version": s.migration.version, "name": s.migration.name, "down_file": str(s.down.path),
                 "source": s.down.source, "statements": s.down.migration.statement_texts} for s in plan.steps]
            if dry_run or not plan.steps:
                if json_output:
                    print_json({"ok": True, "dry_run": dry_run, "database": target.description, "to": to,
                                "steps": steps, "rolled_back": []})
                else:
                    typer.echo(_plan_text(steps, target.description, to))
                return
            if not json_output:
                echo_err(_plan_text(steps, target.description, to))
            if resolved.environment.protected:
                confirm_or_refuse(f"Roll back {len(steps)} migration(s) on protected environment "
                                  f"'{resolved.environment.name}'?", yes=yes,
                                  refuse_message=f"environment '{resolved.environment.name}' is protected")
                if not no_backup:
                    backup = _backup(target, resolved.url, resolved.project, resolved.environment.name)
                    if not json_output:
                        echo_err(f"backup: {backup}")
            result = apply_rollback(target.connection, plan, limits)
        finally:
            target.close()
        if json_output:
            print_json({"ok": True, "dry_run": False, "database": target.description, "to": to, "steps": steps,
                        "rolled_back": [r.version for r in result.rolled_back]})
        else:
            typer.echo(f"rolled back {len(result.rolled_back)} migration(s): "
                       + ", ".join(f"{r.version}_{r.name}" for r in result.rolled_back))


def _backup(target: PostgresTarget, url: str, project: ProjectConfig, environment: str) -> str:
    from supadeploy.backup import PgDumpRequest, pg_dump_backup

    ((version_number,),) = target.query("SHOW server_version_num")
    request = PgDumpRequest.for_project(project, environment, url, int(version_number) // 10000)
    return pg_dump_backup(request, target, announce=echo_err).location


def _plan_text(steps: list[dict[str, object]], database: str, to: str) -> str:
    if not steps:
        return f"nothing to roll back on {database}: no applied migration is newer than {to}"
    lines = [f"roll back on {database}, newest first, down to {to}:"]
    for step in steps:
        lines.append(f"  {step['version']}_{step['name']} (down SQL from {step['down_file']}, {step['source']})")
        for statement in step["statements"]:  # type: ignore[attr-defined]
            lines.extend(f"      {line}" for line in str(statement).splitlines())
    return "\n".join(lines)
