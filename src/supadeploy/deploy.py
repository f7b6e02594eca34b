"""The whole deploy: plan → gate → backup → apply → verify → types. A library call: returns data.

The CLI's `push` (and `promote`) are thin wrappers around :func:`deploy`. Each step is skippable by option;
protected environments add the gate (lint errors and destructive statements refused, confirmation, a clean
git tree when configured) and the backup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from supadeploy.errors import SupadeployError

if TYPE_CHECKING:
    from supadeploy.backup import Backup
    from supadeploy.config import EnvironmentConfig, ProjectConfig
    from supadeploy.deploylog import DeploymentContext
    from supadeploy.exposure import ExposureChange, ReplayPreview
    from supadeploy.lint.report import LintFinding
    from supadeploy.migrations.files import Discovery
    from supadeploy.migrations.plan import Plan
    from supadeploy.pipeline import Applier
    from supadeploy.push_result import PushListener, PushOptions, PushResult
    from supadeploy.rls.findings import Finding, ProbeResult
    from supadeploy.rls.verify import VerifyOptions, VerifyReport
    from supadeploy.targets.base import Target
    from supadeploy.typegen.outputs import TypesFileResult, TypesOutput
    from supadeploy.types_preview import TypesChange

DESTRUCTIVE_CODE_PREFIX = "SD2"


@dataclass(frozen=True)
class AfterApply:
    """What runs after the apply, loaded and checked by :func:`check_deploy` before anything connects."""

    verify: VerifyOptions | None = None
    """None: no verification (--no-verify)."""
    type_outputs: tuple[TypesOutput, ...] = ()


@dataclass(frozen=True)
class DeployOptions:
    push: PushOptions
    verify: bool = True
    fail_on: str | None = None
    types: bool = True
    allow_destructive: bool = False
    backup: bool = True
    backup_dir: Path | None = None
    after_apply: AfterApply | None = None
    """Set by :func:`check_deploy`; :func:`deploy` checks the options itself when it is None."""
    shadow_url: str | None = None
    """Dry runs: the server where a throwaway database shows what the pending migrations change in exposure."""


@dataclass(frozen=True)
class AfterApplyFailure:
    """A step after the apply (verification, types, reporting) that failed: the migrations stay applied."""

    step: str
    error: SupadeployError


@dataclass
class DeployOutcome:
    push: PushResult
    lint: list[LintFinding] = field(default_factory=list)
    backup: Backup | None = None
    verify: VerifyReport | None = None
    verify_failing: list[Finding] = field(default_factory=list)
    verify_failing_probes: list[ProbeResult] = field(default_factory=list)
    types: list[TypesFileResult] = field(default_factory=list)
    after_apply_failures: list[AfterApplyFailure] = field(default_factory=list)
    exposure: list[ExposureChange] | None = None
    """Dry runs with a shadow server: what the pending migrations change in exposure (None: not computed)."""
    types_diff: list[TypesChange] | None = None
    """Dry runs with a shadow server: the generated types the pending migrations change (None: not computed)."""

    @property
    def ok(self) -> bool:
        return (self.push.ok and not self.verify_failing and not self.verify_failing_probes
                and not self.after_apply_failures)

    @property
    def applied_names(self) -> list[str]:
        return [f"{applied.version}_{applied.name}" for applied in self.push.applied]

    def failed_after_apply(self, step: str, error: SupadeployError) -> None:
        """Record ``error`` of ``step`` next to what was applied; with nothing applied, it is a plain error."""
        if not self.push.applied:
            raise error
        self.after_apply_failures.append(AfterApplyFailure(step=step, error=error))


def check_deploy(project: ProjectConfig, options: DeployOptions,
                 environment: EnvironmentConfig | None = None) -> DeployOptions:
    """Every flag and configuration section the deploy will use, checked before anything connects: --fail-on,
    [verify] and its manifest when verifying, [types] and that each output can be written when writing types
    ([push] is checked when supadeploy.toml is loaded). Returns ``options`` with what was loaded."""
    return replace(options, after_apply=_checked_after_apply(project, options, environment))


def _checked_after_apply(project: ProjectConfig, options: DeployOptions,
                         environment: EnvironmentConfig | None) -> AfterApply:
    from supadeploy.rls.settings import check_fail_on

    if options.fail_on is not None:
        check_fail_on(options.fail_on)
    return AfterApply(verify=_verify_options(project, options, environment),
                      type_outputs=_type_outputs(project, options))


def _verify_options(project: ProjectConfig, options: DeployOptions,
                    environment: EnvironmentConfig | None) -> VerifyOptions | None:
    if not options.verify:
        return None
    from supadeploy.rls.manifest import load_manifest
    from supadeploy.rls.verify import VerifyOptions

    verify = VerifyOptions.from_project(project, fail_on=options.fail_on, environment=environment)
    if verify.manifest_path is not None:
        load_manifest(verify.manifest_path)
    return verify


def _type_outputs(project: ProjectConfig, options: DeployOptions) -> tuple[TypesOutput, ...]:
    if not options.types:
        return ()
    from supadeploy.typegen.outputs import check_writable, configured_outputs

    outputs = tuple(configured_outputs(project))
    check_writable(project, outputs)
    return outputs


@dataclass(frozen=True)
class DeployHooks:
    """What the caller decides: confirmation of a protected deploy, and how to take a backup."""

    confirm: Callable[[Plan, list[LintFinding]], None] = lambda plan, findings: None
    take_backup: Callable[[], Backup] | None = None
    listener: PushListener | None = None
    deployment: DeploymentContext | None = None
    applier: Applier | None = None
    """How push applies the migrations (e.g. the Supabase CLI engine); None: each through the target."""


def deploy(target: Target, project: ProjectConfig, environment: EnvironmentConfig, discovery: Discovery,
           options: DeployOptions, hooks: DeployHooks) -> DeployOutcome:
    from supadeploy.hand_migrated import exposed_schemas
    from supadeploy.pipeline import plan_push, push

    after_apply = options.after_apply or _checked_after_apply(project, options, environment)
    options = replace(options, push=replace(options.push, exposed_schemas=exposed_schemas(project)))
    if options.push.dry_run:
        result = push(target, discovery, options.push)
        preview = _preview(project, result.plan, options.shadow_url)
        return DeployOutcome(push=result, lint=lint_pending(project, discovery, result.plan),
                             exposure=preview.exposure if preview else None,
                             types_diff=preview.types if preview else None)
    findings: list[LintFinding] = []
    backup: Backup | None = None
    if environment.protected:  # the gate needs the plan before the lock; push plans again under it
        plan = plan_push(target, discovery, options.push)
        if plan.pending:
            try:
                findings = lint_pending(project, discovery, plan)
                gate_protected(environment, findings, allow_destructive=options.allow_destructive)
                if project.push.require_clean_git:
                    refuse_dirty_work_tree(project.workdir, environment)
                hooks.confirm(plan, findings)
                if options.backup:
                    backup = _take_backup(environment, hooks)
            except SupadeployError as refused:
                _record_refused(target, hooks.deployment, refused)
                raise
    deployment = hooks.deployment
    if deployment is not None and backup is not None:
        deployment = replace(deployment, backup_location=backup.location)
    result = push(target, discovery, options.push, hooks.listener, deployment=deployment, applier=hooks.applier)
    outcome = DeployOutcome(push=result, lint=findings, backup=backup)
    if result.ok:
        _run_after_apply(outcome, target, discovery, after_apply)
    return outcome


def _preview(project: ProjectConfig, plan: Plan, shadow_url: str | None) -> ReplayPreview | None:
    """What the pending migrations change in exposure and in the generated types (None: no shadow server)."""
    if shadow_url is None or not plan.pending:
        return None
    from supadeploy.exposure import preview_difference

    return preview_difference(shadow_url, project, plan.applied, plan.pending)


def _run_after_apply(outcome: DeployOutcome, target: Target, discovery: Discovery, after_apply: AfterApply) -> None:
    """Verification, then the type files: a step that fails is recorded next to what was applied."""
    if after_apply.verify is not None:
        try:
            outcome.verify = run_verification(target, discovery, after_apply.verify)
            outcome.verify_failing = outcome.verify.failing(after_apply.verify.fail_on)
            outcome.verify_failing_probes = outcome.verify.failing_probes(after_apply.verify.fail_on)
        except SupadeployError as error:
            outcome.failed_after_apply("verification", error)
    if after_apply.type_outputs:
        from supadeploy.typegen.outputs import regenerate_outputs

        try:
            outcome.types = regenerate_outputs(target, list(after_apply.type_outputs))
        except SupadeployError as error:
            outcome.failed_after_apply("type generation", error)


def _record_refused(target: Target, deployment: DeploymentContext | None, refused: SupadeployError) -> None:
    """The deploy log keeps refused runs too (the README's promise); the refusal is what the user must see."""
    if deployment is None:
        return
    import contextlib

    from supadeploy.deploylog import record_refused_run

    with contextlib.suppress(Exception):
        record_refused_run(target, deployment, str(refused))


def _take_backup(environment: EnvironmentConfig, hooks: DeployHooks) -> Backup:
    if hooks.take_backup is None:
        raise SupadeployError(f"no way to back up environment '{environment.name}' before deploying",
                              fix="pass --no-backup to deploy without a backup")
    return hooks.take_backup()


def lint_pending(project: ProjectConfig, discovery: Discovery, plan: Plan) -> list[LintFinding]:
    if not plan.pending:
        return []
    from supadeploy.lint.report import lint_migrations

    return lint_migrations(plan.pending, project, context=discovery.migrations)


def gate_protected(environment: EnvironmentConfig, findings: list[LintFinding], *, allow_destructive: bool) -> None:
    """Refuse error-level lint findings on a protected environment; destructive ones need --allow-destructive."""
    from supadeploy.lint.report import error_findings

    errors = error_findings(findings)
    destructive = [f for f in errors if f.code.startswith(DESTRUCTIVE_CODE_PREFIX)]
    blocking = [f for f in errors if not f.code.startswith(DESTRUCTIVE_CODE_PREFIX)]
    if destructive and not allow_destructive:
        raise SupadeployError(
            f"environment '{environment.name}' is protected and pending migrations are destructive:\n"
            + "\n".join(f"  {f.location}: {f.code} {f.message}" for f in destructive),
            fix="pass --allow-destructive if this is intended (a backup is taken first), or suppress a "
                "deliberate one with -- supadeploy:ignore CODE reason",
        )
    if blocking:
        raise SupadeployError(
            f"environment '{environment.name}' is protected and pending migrations have lint errors:\n"
            + "\n".join(f"  {f.location}: {f.code} {f.message}" for f in blocking),
            fix="fix them, or suppress a deliberate one with -- supadeploy:ignore CODE reason",
        )


def refuse_dirty_work_tree(workdir: Path, environment: EnvironmentConfig) -> None:
    import subprocess

    try:
        completed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=workdir,
                                   capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        completed = None
    if completed is None or completed.returncode != 0:
        raise SupadeployError(f"cannot tell whether {workdir} is a clean git work tree",
                              fix="run from a git checkout, or set [push] require_clean_git = false")
    changed = [line[3:] for line in completed.stdout.splitlines() if line.strip()]
    if changed:
        raise SupadeployError(
            f"environment '{environment.name}' is protected and the git work tree has uncommitted changes: "
            + ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else ""),
            fix="commit or stash them, so what is deployed is what is in version control",
        )


def run_verification(target: Target, discovery: Discovery, options: VerifyOptions) -> VerifyReport:
    from supadeploy.rls.verify import locate_findings, run_verify

    report = run_verify(target, options)
    locate_findings(report, discovery.migrations)
    return report
