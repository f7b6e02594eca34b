"""What a deploy did beyond the push itself: lint findings, backup, verification, types."""

from __future__ import annotations

from typing import Any

from supadeploy.deploy import DeployOutcome
from supadeploy.redact import redact_text
from supadeploy.report.exposure_text import exposure_document
from supadeploy.report.json import error_document, push_document

# What reruns a step after the apply (the migrations themselves stay applied).
RERUN_STEP = {"verification": "`supadeploy verify`", "type generation": "`supadeploy types`",
              "schema comparison": "`supadeploy diff SOURCE TARGET`"}


def deploy_text(outcome: DeployOutcome) -> str:
    sections: list[str] = []
    active_findings = [finding for finding in outcome.lint if not finding.suppressed]
    if outcome.push.dry_run and outcome.lint:
        from supadeploy.lint.report import findings_text  # pglast: only when there is something to show

        sections.append("Lint findings in pending migrations:\n" + findings_text(outcome.lint))
    elif outcome.push.dry_run and outcome.push.plan.pending:
        sections.append("Lint: no findings in pending migrations.")
    elif active_findings:
        sections.append(f"Lint: {len(active_findings)} finding(s) in the applied migrations "
                        "(`supadeploy lint` shows them).")
    if outcome.push.dry_run and outcome.push.plan.pending:
        from supadeploy.report.exposure_text import exposure_text

        sections.append(exposure_text(outcome.exposure))
    if outcome.backup is not None:
        sections.append(f"Backup before deploying: {outcome.backup.location}")
    if outcome.verify is not None:
        from supadeploy.report.rls_text import findings_text as verify_findings_text
        from supadeploy.report.rls_text import summary_line

        if outcome.verify_failing or outcome.verify_failing_probes:
            sections.append("Verification FAILED:\n" + verify_findings_text(outcome.verify))
        else:
            warnings = [f for f in outcome.verify.findings if f.level == "warn" and not f.accepted]
            sections.append(f"Verified RLS: {summary_line(outcome.verify)}." + "".join(
                f"\n  warning {finding.code}: {finding.message}" for finding in warnings[:10])
                + (f"\n  … {len(warnings) - 10} more: `supadeploy verify`" if len(warnings) > 10 else ""))
    if outcome.types:
        changed = [r for r in outcome.types if r.changed]
        lines = [f"  {r.path} ({r.lang}): {'updated' if r.changed else 'unchanged'}" for r in outcome.types]
        sections.append(f"Types: {len(changed)} of {len(outcome.types)} file(s) changed\n" + "\n".join(lines))
    return "\n".join(sections)


def deploy_document(outcome: DeployOutcome, *, target: str, environment: str | None,
                    warnings: list[str], secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    document = push_document(outcome.push, target=target, environment=environment, warnings=warnings)
    document["ok"] = outcome.ok
    document["lint"] = [finding.as_dict() for finding in outcome.lint]
    document["backup"] = ({"kind": outcome.backup.kind, "location": outcome.backup.location}
                          if outcome.backup else None)
    document["verify"] = outcome.verify.to_dict() if outcome.verify is not None else None
    document["verify_failing"] = [finding.to_dict() for finding in outcome.verify_failing]
    document["verify_failed_probes"] = [probe.to_dict() for probe in outcome.verify_failing_probes]
    document["types"] = [{"path": str(r.path), "lang": r.lang, "changed": r.changed} for r in outcome.types]
    document["after_apply"] = after_apply_document(outcome, secrets)
    document["exposure"] = exposure_document(outcome.exposure)
    document["types_diff"] = ([change.as_dict() for change in outcome.types_diff]
                              if outcome.types_diff is not None else None)
    return document


def after_apply_failure_text(outcome: DeployOutcome, secrets: tuple[str, ...] = ()) -> str:
    """What was applied, then each step after the apply that failed, and that a rerun applies nothing again."""
    applied = outcome.applied_names
    failures = [f"then {failure.step} failed: {redact_text(failure.error.render(), secrets)}"
                for failure in outcome.after_apply_failures]
    reruns = [RERUN_STEP[f.step] for f in outcome.after_apply_failures if f.step in RERUN_STEP]
    return "\n".join([
        f"{len(applied)} migration(s) were applied and are recorded in the history ({', '.join(applied)}); "
        + "\nand ".join(failures),
        "  they stay applied: a new push will not apply them again"
        + (f"; {' and '.join(reruns)} with the same --env/--db-url reruns what failed" if reruns else ""),
    ])


def after_apply_document(outcome: DeployOutcome, secrets: tuple[str, ...] = ()) -> dict[str, Any] | None:
    if not outcome.after_apply_failures:
        return None
    failures = []
    for failure in outcome.after_apply_failures:
        error = error_document(failure.error)["error"]
        error["message"] = redact_text(error["message"], secrets)
        failures.append({"step": failure.step, **error})
    return {"applied": outcome.applied_names, "failures": failures}
