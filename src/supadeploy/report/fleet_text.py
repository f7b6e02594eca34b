"""`supadeploy fleet push|status` as text and as their --json documents."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supadeploy.commands.fleet import FleetRun, FleetStatus, MemberResult
    from supadeploy.deploylog import Deployment

_STATUSES = ("applied", "up to date", "failed", "interrupted", "not started", "excluded", "planned")


def _when(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, timezone.utc).isoformat()


def member_document(member: MemberResult) -> dict[str, Any]:
    return {"name": member.name, "wave": member.wave, "status": member.status, "pending": member.pending,
            "applied": member.applied, "error": member.error, "started_at": _when(member.started),
            "finished_at": _when(member.finished)}


def fleet_push_document(run: FleetRun) -> dict[str, Any]:
    return {"ok": run.ok, "fleet": run.fleet.name, "run_id": run.run_id, "parallel": run.parallel,
            "waves": len(run.fleet.waves),
            "halted": run.halted, "counts": {status: run.count(status) for status in _STATUSES},
            "members": [member_document(member) for member in run.members]}


def fleet_push_text(run: FleetRun) -> str:
    counts = ", ".join(f"{run.count(status)} {status}" for status in _STATUSES if run.count(status))
    lines = [f"fleet {run.fleet.name}: {counts}"]
    for member in run.members:
        if member.status in ("failed", "interrupted"):
            lines.append(f"  {member.status.upper()} {member.name} (wave {member.wave}): {member.error}")
    if run.halted:
        lines.append(f"halted: {run.halted}")
        lines.append(f"fix it, then rerun `supadeploy fleet push {run.fleet.name}`: members already up to date "
                     "are skipped")
    return "\n".join(lines)


def fleet_status_document(status: FleetStatus) -> dict[str, Any]:
    members = []
    for member in status.members:
        document = member.as_dict()
        if status.run_id is not None:
            run = status.reached.get(member.environment)
            document["run"] = None if run is None else {
                "status": run.status, "wave": run.fleet_wave, "versions_applied": run.versions_applied,
                "started_at": _iso(run.started_at), "finished_at": _iso(run.finished_at), "error": run.error}
        members.append(document)
    document = {"ok": not any(member.actions for member in status.members), "fleet": status.fleet.name,
                "waves": [list(wave) for wave in status.fleet.waves], "members": members}
    if status.run_id is not None:
        document["run_id"] = status.run_id
        document["reached"] = sum(run is not None for run in status.reached.values())
    return document


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def fleet_status_text(status: FleetStatus) -> str:
    statuses = status.members
    up_to_date = sum(member.reachable and not member.pending and not member.drifted for member in statuses)
    lines = [f"fleet {status.fleet.name}: {len(statuses)} member(s), {up_to_date} up to date, "
             f"{sum(bool(member.pending) for member in statuses)} pending, "
             f"{sum(bool(member.drifted) for member in statuses)} drifted, "
             f"{sum(bool(member.error) for member in statuses)} unreachable"]
    if status.run_id is not None:
        lines.append(f"rollout {status.run_id} reached {sum(run is not None for run in status.reached.values())} "
                     f"of {len(statuses)} member(s)")
    for member in statuses:
        if member.error:
            state = f"unreachable: {member.error}"
        elif member.drifted:
            state = f"drifted: {', '.join(member.drifted)}"
        elif member.pending:
            state = f"pending: {', '.join(member.pending)}"
        else:
            state = "up to date"
        if status.run_id is not None and not member.error:
            state += f"; {_reached(status.reached.get(member.environment))}"
        lines.append(f"  {member.environment}: {state}")
    return "\n".join(lines)


def _reached(run: Deployment | None) -> str:
    if run is None:
        return "not reached by this rollout"
    applied = f" {', '.join(run.versions_applied)}" if run.versions_applied else ""
    return f"rollout: {run.status}{applied} (wave {run.fleet_wave})"
