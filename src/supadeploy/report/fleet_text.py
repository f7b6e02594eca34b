"""`supadeploy fleet push|status` as text and as their --json documents."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supadeploy.commands.fleet import FleetRun, MemberResult
    from supadeploy.fleet_config import Fleet
    from supadeploy.status import EnvironmentStatus

_STATUSES = ("applied", "up to date", "failed", "not started", "excluded", "planned")


def _when(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, timezone.utc).isoformat()


def member_document(member: MemberResult) -> dict[str, Any]:
    return {"name": member.name, "wave": member.wave, "status": member.status, "pending": member.pending,
            "applied": member.applied, "error": member.error, "started_at": _when(member.started),
            "finished_at": _when(member.finished)}


def fleet_push_document(run: FleetRun) -> dict[str, Any]:
    return {"ok": run.ok, "fleet": run.fleet.name, "parallel": run.parallel, "waves": len(run.fleet.waves),
            "halted": run.halted, "counts": {status: run.count(status) for status in _STATUSES},
            "members": [member_document(member) for member in run.members]}


def fleet_push_text(run: FleetRun) -> str:
    counts = ", ".join(f"{run.count(status)} {status}" for status in _STATUSES if run.count(status))
    lines = [f"fleet {run.fleet.name}: {counts}"]
    for member in run.members:
        if member.status == "failed":
            lines.append(f"  FAILED {member.name} (wave {member.wave}): {member.error}")
    if run.halted:
        lines.append(f"halted: {run.halted}")
        lines.append(f"fix it, then rerun `supadeploy fleet push {run.fleet.name}`: members already up to date "
                     "are skipped")
    return "\n".join(lines)


def fleet_status_document(fleet: Fleet, statuses: list[EnvironmentStatus]) -> dict[str, Any]:
    return {"ok": not any(status.actions for status in statuses), "fleet": fleet.name,
            "waves": [list(wave) for wave in fleet.waves], "members": [status.as_dict() for status in statuses]}


def fleet_status_text(fleet: Fleet, statuses: list[EnvironmentStatus]) -> str:
    up_to_date = sum(status.reachable and not status.pending and not status.drifted for status in statuses)
    lines = [f"fleet {fleet.name}: {len(statuses)} member(s), {up_to_date} up to date, "
             f"{sum(bool(status.pending) for status in statuses)} pending, "
             f"{sum(bool(status.drifted) for status in statuses)} drifted, "
             f"{sum(bool(status.error) for status in statuses)} unreachable"]
    for status in statuses:
        if status.error:
            state = f"unreachable: {status.error}"
        elif status.drifted:
            state = f"drifted: {', '.join(status.drifted)}"
        elif status.pending:
            state = f"pending: {', '.join(status.pending)}"
        else:
            state = "up to date"
        lines.append(f"  {status.environment}: {state}")
    return "\n".join(lines)
