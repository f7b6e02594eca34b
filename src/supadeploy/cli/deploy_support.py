"""What the renderings of `push` and `promote` share: GitHub reporting (step summary, outputs, annotations)
and the exit codes of a deploy. The policy they share (options, confirmation, backup, deploy lock) is in
supadeploy.commands.writing."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from supadeploy.cli.common import echo_err
from supadeploy.errors import SupadeployError
from supadeploy.redact import environment_secrets

if TYPE_CHECKING:
    from supadeploy.deploy import DeployOutcome

EXIT_VERIFY_FAILED = 3


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
