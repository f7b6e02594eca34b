"""What `push` and `promote` share: push options from supadeploy.toml, the confirmation of a protected deploy,
the backup, GitHub reporting and the exit codes of a deploy."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import typer

from supadeploy.cli.common import confirm_or_refuse, echo_err
from supadeploy.errors import SupadeployError
from supadeploy.redact import environment_secrets

if TYPE_CHECKING:
    from supadeploy.backup import Backup
    from supadeploy.cli.common import DatabaseFlags
    from supadeploy.config import EnvironmentConfig, ProjectConfig
    from supadeploy.deploy import DeployOutcome
    from supadeploy.deploylog import RunRecord
    from supadeploy.lint.report import LintFinding
    from supadeploy.migrations.plan import Plan
    from supadeploy.push_result import PushOptions
    from supadeploy.targets.base import Target
    from supadeploy.targets.resolve import Resolved

EXIT_VERIFY_FAILED = 3
def push_options_for(project: ProjectConfig, *, dry_run: bool, include_all: bool = False,
                     allow_drift: bool = False, allow_existing_objects: bool = False) -> PushOptions:
    """PushOptions with the [push] timeouts of supadeploy.toml."""
    from supadeploy.config import postgres_duration
    from supadeploy.push_result import PushOptions
    from supadeploy.targets.base import SessionLimits

    settings = project.push
    return PushOptions(
        dry_run=dry_run, include_all=include_all, allow_drift=allow_drift,
        allow_existing_objects=allow_existing_objects, deploy_lock_wait_seconds=settings.deploy_lock_wait_seconds,
        limits=SessionLimits(
            lock_timeout=postgres_duration(settings.lock_timeout, where="[push]", key="lock_timeout"),
            statement_timeout=postgres_duration(settings.statement_timeout, where="[push]", key="statement_timeout"),
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


def write_github_reports(outcome: DeployOutcome, *, target: str, environment: str | None,
                         extra_markdown: str | None = None, command: str = "push") -> None:
    """The step summary and step outputs, when running in GitHub Actions. Called before the outcome is
    rendered: a file that cannot be written is a failure after the apply, shown with what was applied."""
    from supadeploy.report import github

    if not github.in_github_actions():
        return
    markdown = github.deploy_markdown(outcome, target=target, environment=environment, command=command)
    summary = markdown + ("\n\n" + extra_markdown if extra_markdown else "")
    if _wrote_github_file(outcome, "GITHUB_STEP_SUMMARY", "the step summary",
                          lambda: github.append_step_summary(summary)):
        _wrote_github_file(outcome, "GITHUB_OUTPUT", "the step outputs",
                           lambda: github.write_outputs(github.deploy_outputs(outcome)))


def _wrote_github_file(outcome: DeployOutcome, variable: str, what: str, write: Callable[[], None]) -> bool:
    try:
        write()
    except OSError as exc:
        outcome.failed_after_apply("reporting to GitHub", SupadeployError(
            f"cannot write {what} {os.environ.get(variable)}: {exc.strerror or exc.__class__.__name__}",
            fix=f"check ${variable} in the workflow (GitHub sets it to a writable file)"))
        return False
    return True


def print_github_annotations(outcome: DeployOutcome, *, json_output: bool) -> None:
    """Annotations, on stderr with --json (stdout holds the document), when running in GitHub Actions."""
    from supadeploy.report import github

    if github.in_github_actions():
        for line in github.deploy_annotations(outcome):
            typer.echo(line, err=json_output)


def exit_if_failed(outcome: DeployOutcome) -> None:
    """Exit 1 when a migration failed, the failed step's code when a step after the apply failed, 3 when
    verification found problems after the apply; return otherwise."""
    from supadeploy.report.deploy_text import after_apply_failure_text

    if outcome.push.failed is not None:
        echo_err(f"error: {outcome.push.failed.render()}")
        raise typer.Exit(1)
    if outcome.after_apply_failures:
        echo_err(f"error: {after_apply_failure_text(outcome, environment_secrets())}")
    if outcome.verify_failing or outcome.verify_failing_probes:
        from supadeploy.report.rls_text import failure_text

        reasons = failure_text(outcome.verify_failing, outcome.verify_failing_probes, "--fail-on")
        echo_err(f"error: the migrations were applied, but verification found {reasons}, listed above; "
                 "fix them in a new migration")
    if outcome.after_apply_failures:
        raise typer.Exit(outcome.after_apply_failures[0].error.exit_code)
    if outcome.verify_failing or outcome.verify_failing_probes:
        raise typer.Exit(EXIT_VERIFY_FAILED)
