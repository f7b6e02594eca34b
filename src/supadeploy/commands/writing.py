"""The policy every command that writes shares (push, promote, rollback, baseline, repair, reconcile, local
reset): the [push] settings of supadeploy.toml (timeouts, deploy-lock wait, backup_dir) everywhere; a
protected environment's confirmation asked before the deploy lock is taken (a person thinking never blocks
a deploy); the backup (pg_dump, or a restore point over the Management API); one deploy-log row per run."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supadeploy.backup import Backup
    from supadeploy.commands.invocation import Invocation
    from supadeploy.config import EnvironmentConfig, ProjectConfig
    from supadeploy.deploylog import RunRecord
    from supadeploy.lint.report import LintFinding
    from supadeploy.migrations.plan import Plan
    from supadeploy.push_result import PushOptions
    from supadeploy.targets.base import SessionLimits, Target
    from supadeploy.targets.resolve import Resolved


def session_limits(project: ProjectConfig) -> SessionLimits:
    """lock_timeout and statement_timeout of [push], for every statement a writing command runs."""
    from supadeploy.config import postgres_duration
    from supadeploy.targets.base import SessionLimits

    settings = project.push
    return SessionLimits(
        lock_timeout=postgres_duration(settings.lock_timeout, where="[push]", key="lock_timeout"),
        statement_timeout=postgres_duration(settings.statement_timeout, where="[push]", key="statement_timeout"),
    )


def push_options_for(project: ProjectConfig, *, dry_run: bool, include_all: bool = False,
                     allow_drift: bool = False, allow_existing_objects: bool = False) -> PushOptions:
    """PushOptions with the [push] timeouts and deploy-lock wait of supadeploy.toml."""
    from supadeploy.push_result import PushOptions

    return PushOptions(
        dry_run=dry_run, include_all=include_all, allow_drift=allow_drift,
        allow_existing_objects=allow_existing_objects,
        deploy_lock_wait_seconds=project.push.deploy_lock_wait_seconds, limits=session_limits(project),
    )


def confirm_protected(invocation: Invocation, environment: EnvironmentConfig, question: str) -> None:
    """A protected environment: --yes or the person's yes, asked before any lock is taken."""
    if environment.protected:
        invocation.confirm(question, refuse_message=f"environment '{environment.name}' is protected")


def deploy_confirmation(invocation: Invocation, target: Target, environment: EnvironmentConfig,
                        question: Callable[[Plan], str]) -> Callable[[Plan, list[LintFinding]], None]:
    """The confirm hook of a protected deploy (push, promote): show the plan, then --yes or ask. The deploy
    calls it after planning and before it takes the deploy lock."""

    def confirm(plan: Plan, findings: list[LintFinding]) -> None:
        from supadeploy.report import human

        invocation.note(human.plan_text(plan, target.description))
        invocation.confirm(question(plan), refuse_message=f"environment '{environment.name}' is protected")

    return confirm


@contextlib.contextmanager
def writing_run(target: Target, resolved: Resolved, command: str,
                backup_location: str | None = None) -> Iterator[RunRecord]:
    """A command that writes the history (repair, baseline, reconcile, rollback): under the deploy lock
    ([push] deploy_lock_wait), with the history table set up and one deploy-log row for the run."""
    from supadeploy.deploylog import DeploymentContext, recorded_run

    target.acquire_deploy_lock(resolved.project.push.deploy_lock_wait_seconds)
    target.ensure_history_table()
    context = DeploymentContext.detect(command, resolved.environment.name, resolved.project.workdir)
    with recorded_run(target, dataclasses.replace(context, backup_location=backup_location)) as run:
        yield run


def backup_taker(invocation: Invocation, resolved: Resolved, target: Target) -> Callable[[], Backup]:
    """pg_dump into [push] backup_dir over a direct connection; a restore point over the Management API."""

    def take() -> Backup:
        if resolved.engine == "api":
            from supadeploy.backup import restore_point_backup
            from supadeploy.engines import open_client

            client = open_client(resolved.project, invocation.api_url)
            try:
                return restore_point_backup(client.create_restore_point, resolved.environment.project_ref or "",
                                            resolved.environment.name)
            finally:
                client.close()
        from supadeploy.backup import PgDumpRequest, pg_dump_backup

        (server_version,) = target.query("SHOW server_version_num")[0]
        url = getattr(target, "connection_url", None) or resolved.url
        request = PgDumpRequest.for_project(resolved.project, resolved.environment.name, url,
                                            int(server_version) // 10000)
        return pg_dump_backup(request, target, announce=invocation.say)

    return take
