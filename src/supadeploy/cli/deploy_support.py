"""What `push` and `promote` share: push options from supadeploy.toml, the confirmation of a protected deploy,
the backup, GitHub reporting and the exit codes of a deploy."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from supadeploy.cli.common import confirm_or_refuse, echo_err

if TYPE_CHECKING:
    from supadeploy.backup import Backup
    from supadeploy.cli.common import DatabaseFlags, Resolved
    from supadeploy.config import EnvironmentConfig, ProjectConfig
    from supadeploy.deploy import DeployOutcome
    from supadeploy.lint.report import LintFinding
    from supadeploy.migrations.plan import Plan
    from supadeploy.push_result import PushOptions
    from supadeploy.targets.base import Target

EXIT_VERIFY_FAILED = 3
SECRET_VARIABLES = ("SUPABASE_ACCESS_TOKEN", "SUPABASE_DB_PASSWORD")


def deploy_secrets() -> tuple[str, ...]:
    """Secrets from the environment that must never be printed, even inside a database's error message."""
    return tuple(os.environ[name] for name in SECRET_VARIABLES if os.environ.get(name))


def push_options_for(project: ProjectConfig, *, dry_run: bool, include_all: bool = False,
                 allow_drift: bool = False) -> PushOptions:
    """PushOptions with the [push] timeouts of supadeploy.toml."""
    from supadeploy.config import postgres_duration
    from supadeploy.push_result import PushOptions
    from supadeploy.targets.base import SessionLimits

    settings = project.push
    return PushOptions(
        dry_run=dry_run, include_all=include_all, allow_drift=allow_drift,
        deploy_lock_wait_seconds=settings.deploy_lock_wait_seconds,
        limits=SessionLimits(
            lock_timeout=postgres_duration(settings.lock_timeout, where="[push] lock_timeout"),
            statement_timeout=postgres_duration(settings.statement_timeout, where="[push] statement_timeout"),
        ),
    )


def confirmation(flags: DatabaseFlags, target: Target, environment: EnvironmentConfig,
                 question: Callable[[Plan], str]) -> Callable[[Plan, list[LintFinding]], None]:
    """The confirm hook of a protected deploy: show the plan (not with --json), then --yes or ask."""

    def confirm(plan: Plan, findings: list[LintFinding]) -> None:
        from supadeploy.report import human

        if not flags.json:
            echo_err(human.plan_text(plan, target.description))
        confirm_or_refuse(question(plan), yes=flags.yes,
                          refuse_message=f"environment '{environment.name}' is protected")

    return confirm


def backup_taker(resolved: Resolved, target: Target, engine: str, api_url: str | None) -> Callable[[], Backup]:
    """pg_dump over a direct connection; a restore point over the Management API."""

    def take() -> Backup:
        if engine == "api":
            from supadeploy.backup import restore_point_backup
            from supadeploy.engines import open_client

            client = open_client(resolved.project, api_url)
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
        return pg_dump_backup(request, target, announce=echo_err)

    return take


def report_to_github(outcome: DeployOutcome, *, target: str, environment: str | None, json_output: bool,
                     extra_markdown: str | None = None, command: str = "push") -> None:
    """Annotations (on stderr with --json, which keeps stdout for the document), the step summary and step
    outputs, when running in GitHub Actions."""
    from supadeploy.report import github

    if not github.in_github_actions():
        return
    for line in github.deploy_annotations(outcome):
        typer.echo(line, err=json_output)
    markdown = github.deploy_markdown(outcome, target=target, environment=environment, command=command)
    github.append_step_summary(markdown + ("\n\n" + extra_markdown if extra_markdown else ""))
    github.write_outputs(github.deploy_outputs(outcome))


def exit_if_failed(outcome: DeployOutcome) -> None:
    """Exit 1 when a migration failed, 3 when verification failed after the apply; return otherwise."""
    if outcome.push.failed is not None:
        echo_err(f"error: {outcome.push.failed.render()}")
        raise typer.Exit(1)
    if outcome.verify_failing:
        echo_err(f"error: the migrations were applied, but verification found {len(outcome.verify_failing)} "
                 "problem(s) at or above --fail-on (listed above); fix them in a new migration")
        raise typer.Exit(EXIT_VERIFY_FAILED)
