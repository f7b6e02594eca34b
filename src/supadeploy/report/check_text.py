"""`supadeploy check` as text and as its --json document."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supadeploy.exposure import ExposureChange
    from supadeploy.shadow import CheckResult


def check_document(result: CheckResult, exposure: list[ExposureChange] | None = None) -> dict[str, object]:
    from supadeploy.report.exposure_text import exposure_document
    from supadeploy.report.json import failure_document

    return {"ok": result.ok, "migrations": result.migrations, "applied": result.applied,
            "failed": failure_document(result.failure) if result.failure else None,
            "problems": [p.as_dict() for p in result.problems],
            "idempotency_checked": result.idempotency_checked, "round_trips_checked": result.round_trips_checked,
            "without_down_sql": result.without_down_sql, "schemas": list(result.schemas),
            "fingerprint": result.fingerprint,
            "exposure": exposure_document(exposure)}


def check_text(result: CheckResult, exposure: list[ExposureChange] | None = None) -> str:
    lines = [f"applied {result.applied} of {result.migrations} migration(s) on a throwaway database"]
    if result.failure is not None:
        lines.append(result.failure.render().splitlines()[0])
    lines.extend(problem.render() for problem in result.problems)
    lines.append(f"idempotency: {result.idempotency_checked} checked; rollback round trips: "
                 f"{result.round_trips_checked} checked, {len(result.without_down_sql)} without down SQL")
    if exposure is not None:
        from supadeploy.report.exposure_text import exposure_text

        lines.append(exposure_text(exposure))
    lines.append("ok" if result.ok else f"{len(result.problems) + (result.failure is not None)} problem(s)")
    return "\n".join(lines)
