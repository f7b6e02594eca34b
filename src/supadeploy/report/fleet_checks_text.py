"""`supadeploy fleet verify|diff` as text (the members needing attention one by one, the rest counted: a fleet
may hold thousands) and as their --json documents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supadeploy.commands.fleet_checks import FleetCheck

_STATUSES = {"verify": ("ok", "failed", "unreachable"), "diff": ("same", "differs", "unreachable")}


def fleet_check_text(check: FleetCheck) -> str:
    counts = ", ".join(f"{check.count(status)} {status}" for status in _STATUSES[check.command])
    against = f" against {check.against}" if check.against else ""
    lines = [f"fleet {check.fleet.name} {check.command}{against}: {len(check.members)} member(s), {counts}"]
    for member in check.members:
        if member.status in ("ok", "same"):
            continue
        lines.append(f"  {member.name}: {member.status}")
        lines += [f"    {detail}" for detail in member.details]
    if not check.ok:
        command = "supadeploy verify --env NAME" if check.command == "verify" else \
            f"supadeploy diff {check.against} NAME"
        lines.append(f"the full report of one member: `{command}`")
    return "\n".join(lines)


def fleet_check_document(check: FleetCheck) -> dict[str, Any]:
    document: dict[str, Any] = {
        "ok": check.ok, "fleet": check.fleet.name, "command": check.command,
        "counts": {status: check.count(status) for status in _STATUSES[check.command]},
        "members": [{"name": m.name, "status": m.status, "details": m.details, "counts": m.counts}
                    for m in check.members]}
    if check.against is not None:
        document["against"] = check.against
    return document
