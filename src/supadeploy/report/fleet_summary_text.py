"""``supadeploy fleet summary`` as the markdown of a GitHub step summary, and as its --json document.

A wave table counts every member; only the members that need attention are listed one by one (at most
``LISTED``: a step summary holds 1 MiB, and a fleet may hold ten thousand members).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supadeploy.commands.fleet_summary import FleetSummary, MemberOutcome

LISTED = 200
_COLUMNS = ("applied", "up to date", "failed", "interrupted", "not started", "not reached", "excluded")


def fleet_summary_markdown(summary: FleetSummary) -> str:
    fleet = summary.fleet.name
    counts = ", ".join(f"{summary.count(status)} {status}" for status in _COLUMNS if summary.count(status))
    verdict = "rolled out" if summary.ok else "NOT rolled out"
    lines = [f"### supadeploy fleet {fleet}: {verdict}", "",
             f"{len(summary.members)} member(s): {counts or 'none'}"
             + (f" (rollout {', '.join(summary.run_ids)})" if summary.run_ids else ""), "",
             "| wave | members | " + " | ".join(_COLUMNS) + " |", "|---:|---:|" + "---:|" * len(_COLUMNS)]
    for index, wave in enumerate(summary.fleet.waves, start=1):
        members = [member for member in summary.members if member.wave == index]
        lines.append(f"| {index} | {len(wave)} | "
                     + " | ".join(str(sum(m.status == status for m in members)) for status in _COLUMNS) + " |")
    attention = [member for member in summary.members if member.status not in ("applied", "up to date")]
    if attention:
        lines += ["", "| member | wave | status | detail |", "|---|---:|---|---|"]
        lines += [f"| {_cell(m.name)} | {m.wave} | {m.status} | {_cell(_detail(m))} |" for m in attention[:LISTED]]
        if len(attention) > LISTED:
            lines.append(f"\n… and {len(attention) - LISTED} more: `supadeploy fleet status {fleet}` lists them")
    for halted in summary.halted:
        lines += ["", f"Halted: {_cell(halted)}"]
    for report, message in summary.job_errors:
        lines += ["", f"A job stopped before deploying (`{report}`): {_cell(message)}"]
    for report, why in summary.unreadable:
        lines += ["", f"Report `{report}` {why}: its job was probably cut off"]
    if not summary.ok:
        lines += ["", "Fix the cause, then rerun the workflow: members already up to date are skipped."]
    return "\n".join(lines) + "\n"


def _detail(member: MemberOutcome) -> str:
    if member.status == "not reached":
        return "in no job's report (its job did not run, or was cancelled)"
    if member.status == "not started":
        return "a failure halted the rollout before it"
    return member.error or ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def fleet_summary_document(summary: FleetSummary) -> dict[str, Any]:
    return {"ok": summary.ok, "fleet": summary.fleet.name, "run_ids": summary.run_ids,
            "counts": {status: summary.count(status) for status in _COLUMNS},
            "members": [{"name": m.name, "wave": m.wave, "status": m.status, "applied": list(m.applied),
                         "error": m.error, "finished_at": m.finished_at, "report": m.report}
                        for m in summary.members],
            "halted": summary.halted,
            "job_errors": [{"report": report, "message": message} for report, message in summary.job_errors],
            "unreadable": [{"report": report, "why": why} for report, why in summary.unreadable]}
