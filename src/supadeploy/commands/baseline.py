"""``supadeploy baseline --to VERSION``: adopt a database migrated by hand (supadeploy.baseline), under the
writing policy of commands.writing (a protected environment confirms before the deploy lock; one deploy-log
row, failed when differences stop it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supadeploy.baseline import BaselineResult
    from supadeploy.commands.invocation import Invocation


@dataclass(frozen=True)
class BaselineRequest:
    to: str
    shadow_url: str | None = None
    schemas: tuple[str, ...] | None = None
    force: bool = False
    dry_run: bool = False


@dataclass(frozen=True)
class BaselineRun:
    description: str
    result: BaselineResult
    stopped: bool
    """The schemas differ and --force was not given: nothing was recorded."""


def run_baseline(invocation: Invocation, request: BaselineRequest) -> BaselineRun:
    from supadeploy.baseline import baseline
    from supadeploy.commands.writing import confirm_protected, writing_run
    from supadeploy.migrations.files import discover_migrations

    resolved = invocation.resolve()
    discovery = discover_migrations(resolved.project.migrations_dir)
    environment = resolved.environment
    schemas = list(request.schemas) if request.schemas else None
    if not request.dry_run:
        confirm_protected(invocation, environment, f"Record migrations up to {request.to} as applied on protected "
                          f"environment '{environment.name}'?")
    target = invocation.open(resolved, "baseline", for_writing=not request.dry_run)
    try:
        if request.dry_run:  # the lock keeps a push from changing the schema while it is compared
            target.acquire_deploy_lock(resolved.project.push.deploy_lock_wait_seconds)
            result = baseline(target, discovery.migrations, request.to, server_url=request.shadow_url,
                              schemas=schemas, force=request.force, dry_run=True)
        else:
            with writing_run(target, resolved, "baseline") as run:
                result = baseline(target, discovery.migrations, request.to, server_url=request.shadow_url,
                                  schemas=schemas, force=request.force)
                run.versions = result.recorded
                if result.differences and not request.force:
                    run.failed = (f"the live database differs from the migrations up to {request.to} "
                                  f"({len(result.differences)} difference(s)); nothing was recorded")
    finally:
        target.close()
    return BaselineRun(target.description, result, stopped=bool(result.differences) and not request.force)
