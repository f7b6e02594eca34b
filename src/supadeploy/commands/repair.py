"""``supadeploy repair [VERSION...] --status applied|reverted``: rewrite history rows as `supabase migration
repair` does (supadeploy.repair), under the writing policy of commands.writing (the whole history, or a
protected environment, is confirmed before the deploy lock; one deploy-log row)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supadeploy.commands.invocation import Invocation
    from supadeploy.repair import RepairResult


@dataclass(frozen=True)
class RepairRequest:
    versions: tuple[str, ...]
    status: str


@dataclass(frozen=True)
class RepairRun:
    description: str
    result: RepairResult


def run_repair(invocation: Invocation, request: RepairRequest) -> RepairRun:
    from supadeploy.commands.writing import confirm_protected, writing_run
    from supadeploy.migrations.files import discover_migrations
    from supadeploy.repair import check_repair_arguments, repair

    versions = list(request.versions)
    check_repair_arguments(versions, request.status)
    resolved = invocation.resolve()
    discovery = discover_migrations(resolved.project.migrations_dir)
    environment = resolved.environment
    if not versions:
        invocation.confirm("Repair the entire migration history table to match local migration files?",
                           refuse_message="repair without VERSION rewrites the whole history")
    else:
        confirm_protected(invocation, environment, f"Mark {' '.join(versions)} {request.status} on protected "
                          f"environment '{environment.name}'?")
    target = invocation.open(resolved, "repair", for_writing=True)
    try:
        with writing_run(target, resolved, "repair") as run:
            result = repair(target, discovery.migrations, versions, request.status)
            run.versions = result.versions
    finally:
        target.close()
    return RepairRun(target.description, result)
