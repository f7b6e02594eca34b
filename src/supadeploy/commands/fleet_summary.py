"""``supadeploy fleet summary NAME PATH...``: the ``fleet push --json`` reports of one rollout's jobs (the fleet
workflow's artifacts: the canary, every shard of every wave, every run attempt) made into one account of the
fleet: where each member ended, which members no job reached, and the jobs whose report is missing or broken.

A member appears in several reports when a job was rerun (a new run attempt): the entry that finished last
stands (an ``applied`` of the first attempt, then ``up to date`` in the rerun, reads as applied); entries that
did not run (``up to date``, ``not started``) stand only when no report ran the member.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supadeploy.errors import SupadeployError

if TYPE_CHECKING:
    from supadeploy.commands.invocation import Invocation
    from supadeploy.fleet_config import Fleet

DONE = ("applied", "up to date")


@dataclass(frozen=True)
class MemberOutcome:
    name: str
    wave: int
    status: str
    """applied, up to date, failed, not started, excluded, planned, or not reached (in no report)."""
    applied: tuple[str, ...] = ()
    error: str | None = None
    finished_at: str | None = None
    report: str | None = None


@dataclass
class FleetSummary:
    fleet: Fleet
    members: list[MemberOutcome]
    run_ids: list[str] = field(default_factory=list)
    halted: list[str] = field(default_factory=list)
    """Each report's halt reason."""
    job_errors: list[tuple[str, str]] = field(default_factory=list)
    """(report, message): a job that stopped before it deployed (its --json error document)."""
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    """(report, why): a report that is not a fleet push document (a job cut off while writing it)."""

    def count(self, status: str) -> int:
        return sum(member.status == status for member in self.members)

    @property
    def ok(self) -> bool:
        return (all(member.status in DONE for member in self.members) and not self.job_errors
                and not self.unreadable)


def run_fleet_summary(invocation: Invocation, name: str, paths: list[Path]) -> FleetSummary:
    from supadeploy.commands.fleet import fleet_of

    _, fleet = fleet_of(invocation, name)
    summary = FleetSummary(fleet, [])
    entries: dict[str, MemberOutcome] = {}
    for report in _report_files(paths):
        label = report.as_posix()
        document = _read(report, summary)
        if document is None:
            continue
        if document.get("ok") is False and isinstance(document.get("error"), dict):
            summary.job_errors.append((label, str(document["error"].get("message"))))
            continue
        if document.get("fleet") != fleet.name or not isinstance(document.get("members"), list):
            summary.unreadable.append((label, f"not a `fleet push {fleet.name} --json` report"))
            continue
        _take(document, label, fleet, entries, summary)
    wave_of = {member: index for index, wave in enumerate(fleet.waves, start=1) for member in wave}
    summary.members = [entries.get(member, MemberOutcome(member, wave_of[member], "not reached"))
                       for member in fleet.members]
    return summary


def _report_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.rglob("*.json")))
        elif path.is_file():
            files.append(path)
        else:
            raise SupadeployError(f"{path}: no such report file or folder", exit_code=2,
                                  fix="pass the folder the `fleet push --json` reports were collected in")
    return files


def _read(report: Path, summary: FleetSummary) -> dict[str, Any] | None:
    try:
        document = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        why = f"line {error.lineno}: {error.msg}" if isinstance(error, json.JSONDecodeError) else str(error)
        summary.unreadable.append((report.as_posix(), f"cannot be read ({why})"))
        return None
    if not isinstance(document, dict):
        summary.unreadable.append((report.as_posix(), "not a JSON object"))
        return None
    return document


def _take(document: dict[str, Any], label: str, fleet: Fleet, entries: dict[str, MemberOutcome],
          summary: FleetSummary) -> None:
    run_id = document.get("run_id")
    if isinstance(run_id, str) and run_id not in summary.run_ids:
        summary.run_ids.append(run_id)
    if isinstance(document.get("halted"), str):
        summary.halted.append(document["halted"])
    for member in document["members"]:
        if not isinstance(member, dict) or member.get("name") not in fleet.members:
            continue  # a member since removed from the fleet
        if member.get("status") == "planned":
            continue  # the plan job's report (--dry-run): it deployed nothing
        outcome = MemberOutcome(
            str(member["name"]), int(member.get("wave") or 0), str(member.get("status")),
            tuple(str(version) for version in member.get("applied") or ()),
            None if member.get("error") is None else str(member["error"]),
            member.get("finished_at") if isinstance(member.get("finished_at"), str) else None, label)
        earlier = entries.get(outcome.name)
        if earlier is None or _stands_over(outcome, earlier):
            entries[outcome.name] = outcome


def _stands_over(candidate: MemberOutcome, earlier: MemberOutcome) -> bool:
    """A member run (finished_at) over one not run; of two runs, the one that finished last."""
    if candidate.finished_at is None:
        return earlier.finished_at is None and earlier.status not in DONE and candidate.status in DONE
    return earlier.finished_at is None or candidate.finished_at > earlier.finished_at
