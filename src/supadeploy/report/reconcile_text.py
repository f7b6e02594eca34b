"""`supadeploy reconcile`: the report of mismatches and the actions taken, as text and as JSON parts."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supadeploy.commands.reconcile import ReconcileRun
    from supadeploy.reconcile import ReconcileActions, ReconcileReport


def report_text(report: ReconcileReport) -> str:
    lines = [f"{report.in_sync} migration(s) in sync, {len(report.pending)} pending, "
             f"{len(report.mismatches)} mismatch(es)"]
    for mismatch in report.mismatches:
        lines.append(f"  {mismatch.kind}: {mismatch.detail}")
        lines.append(f"    proposal: {mismatch.proposal}")
    return "\n".join(lines)


def actions_text(actions: ReconcileActions) -> str:
    lines = [f"rewrote remote version {old} as {new}" for old, new in actions.rewritten]
    lines += [f"renamed {old} to {new}" for old, new in actions.renamed_files]
    lines += [f"wrote {path}" for path in actions.written_files]
    lines += [f"deleted remote history row {version}" for version in actions.reverted]
    lines += [f"skipped {reason}" for reason in actions.skipped]
    return "\n".join(lines) or "nothing to do"


def actions_document(actions: ReconcileActions | None) -> dict[str, object] | None:
    if actions is None:
        return None
    return {"rewritten": [{"from": old, "to": new} for old, new in actions.rewritten],
            "renamed_files": [{"from": old, "to": new} for old, new in actions.renamed_files],
            "written_files": actions.written_files, "reverted": actions.reverted, "skipped": actions.skipped}


def reconcile_document(run: ReconcileRun) -> dict[str, object]:
    report = run.report
    return {"ok": not report.mismatches, "database": run.description, "in_sync": report.in_sync,
            "pending": [m.version for m in report.pending], "mismatches": [m.as_dict() for m in report.mismatches],
            "actions": actions_document(run.actions)}
