"""``supadeploy fleet push NAME`` and ``fleet status NAME``: one migration set rolled out to the members of a
``[fleets.NAME]`` (supadeploy.fleet_config), each through the one push pipeline (``commands.push.run_push``:
deploy lock, backup, verify, deploy log).

First every member is planned, read-only and ``parallel`` at once (supadeploy.status): a member that cannot
be reached, whose applied files were edited (drift), or that is protected without --yes stops the rollout
before anything is applied. Then wave by wave (the canary first), at most ``parallel`` members at once; a
failure starts nothing new (members already running finish) unless --continue-on-error or --max-failures K
allow more. A rerun resumes: members already up to date are not pushed again.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from supadeploy.errors import SupadeployError

if TYPE_CHECKING:
    from supadeploy.commands.invocation import Invocation
    from supadeploy.config import ProjectConfig
    from supadeploy.deploylog import Deployment
    from supadeploy.fleet_config import Fleet
    from supadeploy.lint.report import LintFinding
    from supadeploy.migrations.files import Discovery
    from supadeploy.status import EnvironmentStatus
    from supadeploy.targets.cancel_scope import CancelScope


@dataclass(frozen=True)
class FleetPushRequest:
    fleet: str
    parallel: int | None = None
    """Members deployed at once (default: the fleet's ``parallel``)."""
    continue_on_error: bool = False
    max_failures: int = 0
    """Failures tolerated before nothing new starts (--max-failures; --continue-on-error: no limit)."""
    exclude: tuple[str, ...] = ()
    members: tuple[str, ...] = ()
    """Only these members (--members: one shard of a GitHub Actions matrix job); empty: every member."""
    tags: tuple[str, ...] = ()
    """Only the members carrying one of these tags (--tag; members_file rows)."""
    wave: int | None = None
    """Only this wave (--wave, from 1: the canary; the canary job of the fleet workflow)."""
    dry_run: bool = False
    allow_destructive: bool = False
    backup: bool = True
    verify: bool = True
    run_id: str | None = None
    """This rollout's id in every member's deploy log (--run-id; default: made from the time)."""
    live: Callable[[str], None] | None = field(default=None, compare=False)
    """On a terminal: shows the counts (done, failed, running, pending) in place, as they change; the members
    are then not listed one by one (only failures are). None: a line per member (CI logs)."""


@dataclass
class MemberResult:
    name: str
    wave: int
    status: str
    """up to date, applied, failed, not started (a failure halted the rollout), interrupted (Ctrl-C, SIGTERM),
    excluded, or planned (--dry-run)."""
    pending: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    error: str | None = None
    started: float | None = None
    finished: float | None = None


@dataclass
class FleetRun:
    fleet: Fleet
    run_id: str
    parallel: int
    members: list[MemberResult]
    halted: str | None = None
    """Why nothing more was started, when a failure (or an interrupt) stopped the rollout."""
    interrupted: bool = False
    """Ctrl-C or SIGTERM: the running members were cancelled (their migration in flight rolled back)."""

    def count(self, status: str) -> int:
        return sum(member.status == status for member in self.members)

    @property
    def ok(self) -> bool:
        return not any(self.count(status) for status in ("failed", "not started", "interrupted"))


@dataclass(frozen=True)
class FleetStatus:
    fleet: Fleet
    members: list[EnvironmentStatus]
    run_id: str | None = None
    reached: dict[str, Deployment | None] = field(default_factory=dict)
    """With ``run_id``: each reachable member's newest deploy-log run of that rollout (None: not reached)."""


def run_fleet_status(invocation: Invocation, name: str, parallel: int | None = None,
                     run_id: str | None = None) -> FleetStatus:
    """Every member's status, read ``parallel`` at once (verify and the type files left out); with ``run_id``,
    also which members that rollout reached, from their deploy logs."""
    project, fleet = fleet_of(invocation, name)
    parallel = parallel or fleet.parallel
    statuses = _plan(invocation, _discovery(project), fleet.members, parallel)
    if run_id is None:
        return FleetStatus(fleet, statuses)
    checked_run_id(run_id)
    reachable = [status.environment for status in statuses if status.reachable]
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="supadeploy-fleet-runs") as pool:
        runs = list(pool.map(lambda member: _run_of(invocation, member, run_id), reachable))
    return FleetStatus(fleet, statuses, run_id, dict(zip(reachable, runs, strict=True)))


def _run_of(invocation: Invocation, member: str, run_id: str) -> Deployment | None:
    from supadeploy.deploylog import fleet_run_deployments

    with replace(invocation, quiet=True, db_url=None).for_environment(member).reading("fleet status") as (_, target):
        runs = fleet_run_deployments(target, run_id)
    return runs[0] if runs else None


def run_fleet_push(invocation: Invocation, request: FleetPushRequest) -> FleetRun:
    project, fleet = fleet_of(invocation, request.fleet)
    wave_of = _wave_numbers(fleet)  # a shard (--members) keeps the fleet's wave numbers
    for option, names in (("--exclude", request.exclude), ("--members", request.members)):
        strangers = [name for name in names if name not in fleet.members]
        if strangers:
            raise SupadeployError(f"{option} {strangers[0]}: not a member of fleet '{fleet.name}'", exit_code=2,
                                  fix=f"members: {', '.join(fleet.members)}")
    if request.wave is not None:
        _check_wave(fleet, request.wave)
    fleet = _selected(fleet, request)
    parallel = request.parallel or fleet.parallel
    if parallel < 1:
        raise SupadeployError("--parallel must be at least 1", exit_code=2, fix="pass --parallel 4")
    run_id = checked_run_id(request.run_id) if request.run_id is not None else new_run_id()
    included = [member for member in fleet.members if member not in request.exclude]
    discovery = _discovery(project)
    statuses = dict(zip(included, _plan(invocation, discovery, tuple(included), parallel), strict=True))
    _refuse_before_anything(invocation, project, discovery, fleet, statuses, request)
    results = {member: MemberResult(member, wave_of[member], "excluded") for member in request.exclude
               if member in fleet.members}
    for member, status in statuses.items():
        state = "up to date" if not status.pending else ("planned" if request.dry_run else "not started")
        results[member] = MemberResult(member, wave_of[member], state, pending=list(status.pending))
    run = FleetRun(fleet, run_id, parallel, [results[member] for member in fleet.members])
    invocation.note(f"fleet {fleet.name} (run {run_id}): {len(fleet.members)} member(s), "
                    f"{run.count('up to date')} up to date, "
                    f"{sum(bool(status.pending) for status in statuses.values())} with pending migrations, "
                    f"{len(request.exclude)} excluded; {len(fleet.waves)} wave(s), at most {parallel} at once")
    if request.dry_run:
        return run
    _roll_out(invocation, request, run, results, parallel)
    return run


_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")


def new_run_id() -> str:
    """A rollout id that sorts by time: ``20261202T190201Z-3f9a1c``."""
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def checked_run_id(value: str) -> str:
    if not _RUN_ID.fullmatch(value):
        raise SupadeployError(f"--run-id '{value[:40]}' is not a rollout id", exit_code=2,
                              fix="use up to 100 letters, digits and . _ : - (e.g. gh-${{ github.run_id }})")
    return value


MATRIX_JOBS = 256
"""The most jobs one GitHub Actions matrix holds."""


@dataclass(frozen=True)
class Shard:
    wave: int
    members: tuple[str, ...]


def run_fleet_matrix(invocation: Invocation, name: str, wave: int, shard_size: int,
                     expect_waves: int | None = None) -> list[Shard]:
    """Wave ``wave`` (from 1, the canary) of fleet ``name`` cut into shards of at most ``shard_size`` members:
    one GitHub Actions matrix job each (a matrix holds at most 256 jobs). ``expect_waves``: the number of
    waves the fleet workflow was written for (a different number fails: the workflow must be rewritten)."""
    _, fleet = fleet_of(invocation, name)
    if expect_waves is not None and expect_waves != len(fleet.waves):
        raise SupadeployError(
            f"fleet '{fleet.name}' has {len(fleet.waves)} wave(s); the workflow was written for {expect_waves}",
            exit_code=2, fix=f"rerun `supadeploy ci init --fleet {fleet.name} --force` and commit the workflow")
    _check_wave(fleet, wave)
    if shard_size < 1:
        raise SupadeployError("--shard-size must be at least 1", exit_code=2, fix="pass --shard-size 10")
    members = fleet.waves[wave - 1]
    shards = [Shard(wave, members[start:start + shard_size]) for start in range(0, len(members), shard_size)]
    if len(shards) > MATRIX_JOBS:
        raise SupadeployError(f"wave {wave} of fleet '{fleet.name}' makes {len(shards)} jobs; a GitHub Actions "
                              f"matrix holds at most {MATRIX_JOBS}",
                              fix=f"pass --shard-size {-(-len(members) // MATRIX_JOBS)} or more")
    return shards


def _check_wave(fleet: Fleet, wave: int) -> None:
    if not 1 <= wave <= len(fleet.waves):
        raise SupadeployError(f"fleet '{fleet.name}' has {len(fleet.waves)} wave(s); there is no wave {wave}",
                              exit_code=2, fix=f"pass --wave 1 to {len(fleet.waves)}")


def _selected(fleet: Fleet, request: FleetPushRequest) -> Fleet:
    """The fleet cut down to --members, --tag and --wave (each member keeping its wave number)."""
    chosen = set(request.members or fleet.members)
    if request.wave is not None:
        chosen &= set(fleet.waves[request.wave - 1])
    if request.tags:
        tagged = fleet.tagged(request.tags)
        if not tagged:
            raise SupadeployError(f"no member of fleet '{fleet.name}' is tagged {' or '.join(request.tags)}",
                                  exit_code=2, fix="tags come from the members_file's tags column")
        chosen &= set(tagged)
    if len(chosen) == len(fleet.members):
        return fleet
    return replace(fleet, members=tuple(m for m in fleet.members if m in chosen),
                   waves=tuple(w for w in (tuple(m for m in wave if m in chosen) for wave in fleet.waves) if w))


def _wave_numbers(fleet: Fleet) -> dict[str, int]:
    return {member: index for index, wave in enumerate(fleet.waves, start=1) for member in wave}


def fleet_of(invocation: Invocation, name: str) -> tuple[ProjectConfig, Fleet]:
    from supadeploy.config import load_project
    from supadeploy.fleet_config import load_fleet

    project = load_project(invocation.workdir)
    return project, load_fleet(project, name)


def _discovery(project: ProjectConfig) -> Discovery:
    from supadeploy.migrations.files import discover_migrations

    return discover_migrations(project.migrations_dir)


def _plan(invocation: Invocation, discovery: Discovery, members: tuple[str, ...],
          parallel: int) -> list[EnvironmentStatus]:
    from supadeploy.commands.status import environment_status_of

    quiet = replace(invocation, quiet=True, db_url=None)
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="supadeploy-fleet-plan") as pool:
        return list(pool.map(lambda member: environment_status_of(quiet.for_environment(member), discovery,
                                                                  verify=False, types=False), members))


def _refuse_before_anything(invocation: Invocation, project: ProjectConfig, discovery: Discovery, fleet: Fleet,
                            statuses: dict[str, EnvironmentStatus], request: FleetPushRequest) -> None:
    unreachable = [member for member, status in statuses.items() if status.error]
    if unreachable:
        first = statuses[unreachable[0]]
        raise SupadeployError(
            f"fleet '{fleet.name}': {len(unreachable)} member(s) cannot be reached ({', '.join(unreachable)}; "
            f"{unreachable[0]}: {first.error}); nothing was applied",
            fix="fix their connection, or leave them out with --exclude NAME")
    drifted = [member for member, status in statuses.items() if status.drifted]
    if drifted:
        raise SupadeployError(
            f"fleet '{fleet.name}': applied migration file(s) were edited since they ran on {', '.join(drifted)} "
            f"({', '.join(statuses[drifted[0]].drifted)}); nothing was applied",
            fix="revert the edits and put the change in a new migration, or leave them out with --exclude NAME")
    protected = [member for member, status in statuses.items()
                 if status.pending and project.environments[member].protected]
    if protected and not invocation.yes and not request.dry_run:
        raise SupadeployError(f"fleet '{fleet.name}': member(s) {', '.join(protected)} are protected; nothing was "
                              "applied", fix="pass --yes to confirm the rollout (in CI, after a review)")
    _gate_protected(project, discovery, fleet, {member: statuses[member] for member in protected}, request)


def _gate_protected(project: ProjectConfig, discovery: Discovery, fleet: Fleet,
                    statuses: dict[str, EnvironmentStatus], request: FleetPushRequest) -> None:
    """The lint gate of a protected push (deploy.gate_protected), in the plan: a protected member whose
    pending migrations it would refuse stops the rollout before the canary, not at the canary."""
    from supadeploy.deploy import gate_protected
    from supadeploy.lint.report import lint_migrations

    if not statuses:
        return
    by_version = {migration.version: migration for migration in discovery.migrations}
    findings: dict[tuple[str, ...], list[LintFinding]] = {}  # members pending the same files: linted once
    for member, status in statuses.items():
        pending = tuple(status.pending)
        if pending not in findings:
            findings[pending] = lint_migrations([by_version[v] for v in pending if v in by_version], project,
                                                context=discovery.migrations)
        try:
            gate_protected(project.environments[member], findings[pending],
                           allow_destructive=request.allow_destructive)
        except SupadeployError as refused:
            raise SupadeployError(f"fleet '{fleet.name}': {refused.what}\nnothing was applied to any member",
                                  fix=refused.fix) from None


class _Halt:
    """The failures so far, and whether they stop the rollout: recorded by the member that failed before it
    records its end, and read by a member as it starts, so no member starts after the failure that halts
    the rollout has ended (whatever the main thread has yet to hear)."""

    def __init__(self, run: FleetRun, limit: int | None) -> None:
        self._run, self._limit, self._failures = run, limit, 0
        self._lock = threading.Lock()

    def failed(self, result: MemberResult) -> None:
        with self._lock:
            self._failures += 1
            if self._limit is not None and self._failures > self._limit and self._run.halted is None:
                self._run.halted = (f"{result.name} failed in wave {result.wave}: {result.error}; nothing more "
                                    "was started")

    def interrupt(self, running: int) -> None:
        with self._lock:
            self._run.interrupted = True
            self._run.halted = (f"interrupted: nothing more was started, and the {running} member(s) running were "
                                "cancelled (the migration in flight rolled back)")

    @property
    def halted(self) -> bool:
        with self._lock:
            return self._run.halted is not None


def _roll_out(invocation: Invocation, request: FleetPushRequest, run: FleetRun, results: dict[str, MemberResult],
              parallel: int) -> None:
    """Wave by wave, at most ``parallel`` members at once; stop starting new ones once the failures exceed the
    limit, letting the running ones finish."""
    from supadeploy.targets.cancel_scope import CancelScope

    halt = _Halt(run, None if request.continue_on_error else request.max_failures)
    for index, wave in enumerate(run.fleet.waves, start=1):
        queue = [member for member in wave if results[member].status == "not started"]
        running: dict[Future[None], str] = {}
        scopes: dict[str, CancelScope] = {}
        with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="supadeploy-fleet-push") as pool:
            while queue or running:
                while queue and len(running) < parallel and not halt.halted:
                    member = queue.pop(0)
                    scopes[member] = CancelScope()
                    running[pool.submit(_push_member, invocation, request, run.run_id, results[member], halt,
                                        scopes[member])] = member
                if request.live is not None:
                    request.live(_counts(run, index, set(running.values())))
                if not running:
                    break
                try:
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:  # SIGTERM / Ctrl-C reach this thread only: cancel the members' work
                    halt.interrupt(len(running))
                    for member in running.values():
                        scopes[member].cancel()
                    done, _ = wait(running)  # they end within moments; a second interrupt stops waiting
                for future in done:
                    result = results[running.pop(future)]
                    if result.finished is not None and (request.live is None or result.status != "applied"):
                        invocation.note(_progress(run, result))
        if request.live is not None:
            request.live(_counts(run, index, set()))
        if halt.halted:
            return


def _counts(run: FleetRun, wave: int, running: set[str]) -> str:
    done = sum(member.status in ("applied", "up to date") for member in run.members if member.name not in running)
    pending = sum(member.status == "not started" for member in run.members if member.name not in running)
    return (f"fleet {run.fleet.name}: wave {wave}/{len(run.fleet.waves)}: {done} done, {run.count('failed')} "
            f"failed, {len(running)} running, {pending} pending")


def _push_member(invocation: Invocation, request: FleetPushRequest, run_id: str, result: MemberResult,
                 halt: _Halt, scope: CancelScope) -> None:
    from supadeploy.targets.cancel_scope import inside

    with inside(scope):
        _push_member_in_scope(invocation, request, run_id, result, halt)


def _push_member_in_scope(invocation: Invocation, request: FleetPushRequest, run_id: str, result: MemberResult,
                          halt: _Halt) -> None:
    from supadeploy.commands.push import PushRequest, run_push
    from supadeploy.errors import Interrupted

    member = replace(invocation, quiet=True, db_url=None, ask=None).for_environment(result.name)
    result.started = time.time()
    if halt.halted:  # another member's failure halted the rollout since this one was queued
        result.started = None
        return
    try:
        pushed = run_push(member, PushRequest(
            verify=request.verify, types=False, allow_destructive=request.allow_destructive,
            backup=request.backup, progress=False, command="fleet push", fleet_run=run_id, fleet_wave=result.wave))
    except SupadeployError as error:
        result.status, result.error = "interrupted" if isinstance(error, Interrupted) else "failed", error.what
    except KeyboardInterrupt:  # cancelled before its migrations began (its backup, its plan)
        result.status, result.error = "interrupted", "interrupted before anything was applied"
    except Exception as unexpected:  # a bug: this member failed, the others carry on; no detail
        result.status = "failed"  # (an exception's text may hold anything, a password included)
        result.error = f"internal error ({type(unexpected).__name__}): this is a supadeploy bug; please report it"
    else:
        outcome = pushed.outcome
        result.applied = [applied.version for applied in outcome.push.applied]
        if outcome.ok:
            result.status = "applied"
        else:
            result.status = "failed"
            failed = outcome.push.failed
            result.error = (failed.render().splitlines()[0] if failed is not None
                            else "verification or a step after the apply failed")
    finally:
        if result.status == "failed":
            halt.failed(result)
        result.finished = time.time()


def _progress(run: FleetRun, result: MemberResult) -> str:
    done = run.count("applied") + run.count("up to date")
    detail = (f"applied {', '.join(result.applied)}" if result.status == "applied"
              else f"{result.status.upper()}: {result.error}")
    return (f"fleet {run.fleet.name}: wave {result.wave} {result.name} {detail} "
            f"({done} done, {run.count('failed')} failed, {run.count('not started')} to go)")
