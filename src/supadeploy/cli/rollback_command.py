"""`supadeploy rollback`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
from supadeploy.cli.deploy_support import backup_taker, writing_run

if TYPE_CHECKING:
    from supadeploy.rollback import RollbackPlan
    from supadeploy.targets.base import Target
    from supadeploy.targets.resolve import Resolved

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
        from supadeploy.config import postgres_duration
        from supadeploy.migrations.files import discover_migrations
        from supadeploy.report.rollback_text import plan_text, rolled_back_text
        from supadeploy.rollback import apply_rollback, plan_rollback
        from supadeploy.targets.base import SessionLimits
        from supadeploy.typegen.outputs import check_writable, configured_outputs, regenerate_outputs

        resolved = resolve(flags, engine)
        type_outputs = [] if no_types or dry_run else configured_outputs(resolved.project)
        check_writable(resolved.project, type_outputs)  # before anything runs, as push does
        discovery = discover_migrations(resolved.project.migrations_dir)
        settings = resolved.project.push
        limits = SessionLimits(
            lock_timeout=postgres_duration(settings.lock_timeout, where="[push] lock_timeout"),
            statement_timeout=postgres_duration(settings.statement_timeout, where="[push] statement_timeout"))
        target = open_target(resolved, "rollback", for_writing=not dry_run, api_url=api_url, json_output=json_output)
        try:
            plan = plan_rollback(discovery.migrations, target.read_history(), to)
            steps = _steps(plan)
            if dry_run or not plan.steps:
                if json_output:
                    print_json({"ok": True, "dry_run": dry_run, "database": target.description, "to": to,
                                "steps": steps, "rolled_back": []})
                else:
                    typer.echo(plan_text(steps, target.description, to))
                return
            if not json_output:
                echo_err(plan_text(steps, target.description, to))
            backup = None
            if resolved.environment.protected:  # a person thinking must not hold the deploy lock
                confirm_or_refuse(f"Roll back {len(steps)} migration(s) on protected environment "
                                  f"'{resolved.environment.name}'?", yes=yes,
                                  refuse_message=f"environment '{resolved.environment.name}' is protected")
                if not no_backup:
                    backup = _backup(resolved, target, api_url)
                    if not json_output:
                        echo_err(f"backup: {backup}")
            with writing_run(target, resolved, "rollback", backup_location=backup) as run:
                _same_plan(plan, plan_rollback(discovery.migrations, target.read_history(), to))
                result = apply_rollback(target, plan, limits)
                run.versions = [r.version for r in result.rolled_back]
            types = regenerate_outputs(target, type_outputs)  # the schema changed: so did its types, as after a push
        finally:
            target.close()
        if json_output:
            print_json({"ok": True, "dry_run": False, "database": target.description, "to": to, "steps": steps,
                        "rolled_back": [r.version for r in result.rolled_back],
                        "types": [{"path": str(t.path), "lang": t.lang, "changed": t.changed} for t in types]})
        else:
            typer.echo(rolled_back_text(result, types))


def _steps(plan: RollbackPlan) -> list[dict[str, object]]:
    return [{"version": s.migration.version, "name": s.migration.name, "down_file": str(s.down.path),
             "source": s.down.source, "statements": s.down.migration.statement_texts} for s in plan.steps]


def _same_plan(confirmed: RollbackPlan, now: RollbackPlan) -> None:
    """The plan read again under the deploy lock must be the one shown (and confirmed)."""
    from supadeploy.errors import PlanError

    if [s.migration.version for s in now.steps] != [s.migration.version for s in confirmed.steps]:
        raise PlanError("the migration history changed while the rollback waited for the deploy lock; nothing was "
                        "rolled back", fix="run `supadeploy migration list`, then rerun the rollback")


def _backup(resolved: Resolved, target: Target, api_url: str | None) -> str:
    return backup_taker(resolved, target, resolved.engine, api_url)().location
