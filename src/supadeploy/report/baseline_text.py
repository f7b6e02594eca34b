"""`supadeploy baseline` as text: what was compared, the differences, what was recorded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supadeploy.baseline import BaselineResult
    from supadeploy.commands.baseline import BaselineRun

STOPPED_TEXT = ("the live database differs from the migrations; nothing was recorded (fix the differences, or pass "
                "--force to record anyway)")


def baseline_text(result: BaselineResult, database: str, *, stopped: bool, dry_run: bool) -> str:
    lines = [f"compared {len(result.migrations)} migration(s) up to {result.to_version} with {database} "
             f"over schemas {', '.join(result.schemas) or '(none)'}"]
    if result.differences:
        lines.append(f"{len(result.differences)} difference(s) (removed = missing from the live database, "
                     "added = only in the live database):")
        lines.extend(f"  {d.describe()}" for d in result.differences)
    else:
        lines.append("the live schema matches the migrations")
    if result.recorded:
        lines.append(f"recorded as applied: {', '.join(result.recorded)}")
    elif not stopped and not dry_run:
        lines.append("nothing to record: every version is already in the history")
    return "\n".join(lines)


def baseline_document(run: BaselineRun, *, dry_run: bool) -> dict[str, Any]:
    result = run.result
    return {"ok": not run.stopped, "database": run.description, "to": result.to_version,
            "schemas": list(result.schemas), "matches": result.matches,
            "differences": [d.as_dict() for d in result.differences], "recorded": result.recorded,
            "already_recorded": result.already_recorded, "dry_run": dry_run}
