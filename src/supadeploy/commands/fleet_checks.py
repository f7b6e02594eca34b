"""``supadeploy fleet verify NAME`` and ``fleet diff NAME``: every member of a fleet checked, ``parallel`` at once,
each exactly as ``supadeploy verify --env MEMBER`` (commands.verify) and ``supadeploy diff REFERENCE MEMBER``
(commands.reads.run_diff) would; a member that cannot be read is reported, never stops the others.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from supadeploy.errors import SupadeployError

if TYPE_CHECKING:
    from collections.abc import Callable

    from supadeploy.commands.invocation import Invocation
    from supadeploy.environment_diff import EnvironmentDiff, EnvironmentSide
    from supadeploy.fleet_config import Fleet


@dataclass(frozen=True)
class MemberCheck:
    name: str
    status: str
    """verify: ok, failed or unreachable; diff: same, differs or unreachable."""
    details: list[str] = field(default_factory=list)
    """What failed or differs, one line each (verify: the failing findings; diff: what only one side has)."""
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FleetCheck:
    fleet: Fleet
    command: str
    """verify or diff"""
    members: list[MemberCheck]
    against: str | None = None
    """diff: the member every other one is compared with."""

    def count(self, status: str) -> int:
        return sum(member.status == status for member in self.members)

    @property
    def ok(self) -> bool:
        return all(member.status in ("ok", "same") for member in self.members)


def run_fleet_verify(invocation: Invocation, name: str, parallel: int | None = None,
                     fail_on: str | None = None) -> FleetCheck:
    from supadeploy.commands.fleet import fleet_of
    from supadeploy.rls.settings import check_fail_on, load_settings

    project, fleet = fleet_of(invocation, name)
    if fail_on is not None:
        check_fail_on(fail_on)
    load_settings(project)  # a bad [verify] is one error, not every member's
    members = _each(invocation, fleet, parallel, lambda member: _verify_member(member, fail_on))
    return FleetCheck(fleet, "verify", members)


def run_fleet_diff(invocation: Invocation, name: str, against: str | None = None, parallel: int | None = None,
                   schemas: tuple[str, ...] | None = None) -> FleetCheck:
    """Every member's history and schema against ``against`` (default: the canary), which is read once."""
    from supadeploy.commands.fleet import fleet_of
    from supadeploy.environment_diff import exposed_schemas, read_side

    project, fleet = fleet_of(invocation, name)
    reference = against or fleet.waves[0][0]
    if reference not in fleet.members:
        raise SupadeployError(f"--against {reference}: not a member of fleet '{fleet.name}'", exit_code=2,
                              fix=f"name a member, e.g. --against {fleet.members[0]} (default: the canary)")
    compared = schemas or exposed_schemas(project)
    quiet = replace(invocation, quiet=True, db_url=None)
    try:
        with quiet.for_environment(reference).reading("fleet diff") as (_, target):
            side = read_side(target, compared)
    except SupadeployError as error:
        raise SupadeployError(f"fleet '{fleet.name}': the reference member {reference} cannot be read: "
                              f"{error.what}", fix="fix its connection, or compare with another: --against MEMBER") \
            from None
    others = replace(fleet, members=tuple(member for member in fleet.members if member != reference))
    members = _each(invocation, others, parallel, lambda member: _diff_member(member, reference, side, compared))
    return FleetCheck(fleet, "diff", members, against=reference)


def _each(invocation: Invocation, fleet: Fleet, parallel: int | None,
          check: Callable[[Invocation], MemberCheck]) -> list[MemberCheck]:
    quiet = replace(invocation, quiet=True, db_url=None)

    def one(member: str) -> MemberCheck:
        try:
            return check(quiet.for_environment(member))
        except SupadeployError as error:
            return MemberCheck(member, "unreachable", [error.what.splitlines()[0]])

    with ThreadPoolExecutor(max_workers=parallel or fleet.parallel, thread_name_prefix="supadeploy-fleet-check") \
            as pool:
        return list(pool.map(one, fleet.members))


def _verify_member(member: Invocation, fail_on: str | None) -> MemberCheck:
    from supadeploy.commands.verify import VerifyRequest, run_verify_command

    run = run_verify_command(member, VerifyRequest(fail_on=fail_on))
    report, name = run.report, member.env or ""
    failing = report.failing(run.fail_on)
    details = [f"{finding.code} {finding.message}" for finding in failing]
    details += [f"probe {probe.name} as {probe.role}: expected {probe.expected}, got {probe.got}"
                for probe in report.failing_probes(run.fail_on)]
    return MemberCheck(name, "failed" if report.fails(run.fail_on) else "ok", details, report.summary())


def _diff_member(member: Invocation, reference: str, side: EnvironmentSide,
                 schemas: tuple[str, ...]) -> MemberCheck:
    from supadeploy.environment_diff import compare_sides, read_side

    name = member.env or ""
    with member.reading("fleet diff") as (_, target):
        difference = compare_sides(reference, side, name, read_side(target, schemas), schemas)
    return MemberCheck(name, "same" if difference.identical else "differs", _differences(difference),
                       {"only_in_reference": len(difference.history.only_in_first),
                        "only_in_member": len(difference.history.only_in_second),
                        "recorded_differently": len(difference.history.mismatched),
                        "schema_differences": len(difference.schema.differences)})


def _differences(difference: EnvironmentDiff) -> list[str]:
    history, schema = difference.history, difference.schema
    lines = []
    if history.only_in_first:
        lines.append(f"not applied here: {', '.join(row.version for row in history.only_in_first)}")
    if history.only_in_second:
        lines.append(f"applied only here: {', '.join(row.version for row in history.only_in_second)}")
    if history.mismatched:
        lines.append(f"recorded differently: {', '.join(m.version for m in history.mismatched)}")
    for change in schema.differences[:5]:
        where = {"removed": "missing here", "added": "only here"}.get(change.change, "defined differently")
        lines.append(f"{change.kind} {change.name}: {where}")
    if len(schema.differences) > 5:
        lines.append(f"and {len(schema.differences) - 5} more schema difference(s)")
    return lines
