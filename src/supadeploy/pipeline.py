"""push: plan → lock → apply → report. A library call: returns data, never prints."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from supadeploy.deploylog import DeploymentContext, finish_deployment, mark_interrupted_runs, start_deployment
from supadeploy.errors import Interrupted, SupadeployError
from supadeploy.migrations.failure import MigrationFailed
from supadeploy.migrations.files import Discovery, Migration
from supadeploy.migrations.history import HistoryRow, select_statements_of
from supadeploy.migrations.plan import Plan, build_plan, check_plan, set_aside_comment_only_edits
from supadeploy.push_result import AppliedMigration, PushListener, PushOptions, PushResult
from supadeploy.targets.base import Target

__all__ = ["AppliedMigration", "Applier", "PushListener", "PushOptions", "PushResult", "plan_push", "push"]


class Applier(Protocol):
    """How the pending migrations reach the database, inside the one push pipeline: :func:`push` holds the deploy
    lock, plans, checks every file, and writes the deploy log around it (e.g. supadeploy.engines'
    ``SupabaseCliApplier``, which runs `supabase db push` once for all of them)."""

    def refuse(self, pending: list[Migration]) -> None:
        """Raise SupadeployError for pending files this applier cannot run as written; nothing is applied yet."""

    def apply_all(self, target: Target, pending: list[Migration], options: PushOptions, listener: PushListener,
                  result: PushResult) -> None:
        """Apply ``pending`` in order: fill ``result.applied`` (and ``result.failed``, ``result.skipped``)."""


class EachThroughTarget:
    """The native and api engines: each migration through ``Target.apply_migration``, in its own transaction."""

    def refuse(self, pending: list[Migration]) -> None:
        return None

    def apply_all(self, target: Target, pending: list[Migration], options: PushOptions, listener: PushListener,
                  result: PushResult) -> None:
        _apply_pending(target, pending, options, listener, result)


def plan_push(target: Target, discovery: Discovery, options: PushOptions) -> Plan:
    plan = build_plan(discovery.migrations, _history_for_plan(target))
    plan = set_aside_comment_only_edits(plan, lambda versions: _stored_statements(target, versions))
    check_plan(plan, include_all=options.include_all, allow_drift=options.allow_drift)
    if not options.allow_existing_objects:
        from supadeploy.hand_migrated import refuse_hand_migrated_database

        refuse_hand_migrated_database(target, plan, options.exposed_schemas)
    check_executable(target, plan.pending)
    return plan


def check_executable(target: Target, pending: list[Migration]) -> None:
    """Lex and check every pending file as the server will run it, before the first one is applied
    (MigrationFileError at file:line: transaction control, COPY FROM STDIN, meta-commands, lexer errors)."""
    if not pending:
        return
    standard_conforming_strings = target.standard_conforming_strings()
    for migration in pending:
        migration.executable(standard_conforming_strings=standard_conforming_strings)


def push(target: Target, discovery: Discovery, options: PushOptions,
         listener: PushListener | None = None, deployment: DeploymentContext | None = None,
         applier: Applier | None = None) -> PushResult:
    """Apply the pending migrations in ``discovery`` to ``target`` (through ``applier``; by default each one
    through ``target.apply_migration``).

    Raises SupadeployError before anything is applied when the plan is unsafe. A failing migration
    stops the run: the result carries the failure, earlier migrations stay applied. With ``deployment``,
    a run that applies something, or is refused, is recorded in the deploy log (supadeploy.deploylog); one
    with nothing to do only marks the rows of killed runs.
    """
    listener = listener or PushListener()
    applier = applier or EachThroughTarget()
    if options.dry_run:
        return PushResult(plan=plan_push(target, discovery, options), dry_run=True)
    try:
        target.acquire_deploy_lock(options.deploy_lock_wait_seconds)
    except KeyboardInterrupt:
        raise Interrupted("interrupted while waiting for the deploy lock: nothing was applied") from None
    try:
        target.ensure_history_table()
        try:
            plan = plan_push(target, discovery, options)
            applier.refuse(plan.pending)
        except SupadeployError as refused:
            if deployment:  # a refused push is a run worth recording; it applied nothing
                _record_refused(target, deployment, refused)
            raise
        if not plan.pending:  # nothing to do, nothing recorded (as the quick check in supadeploy.uptodate)
            if deployment:
                mark_interrupted_runs(target)
            return PushResult(plan=plan, dry_run=False)
        deployment_id = start_deployment(target, deployment) if deployment else None
        result = PushResult(plan=plan, dry_run=False, deployment_id=deployment_id)
        try:
            applier.apply_all(target, plan.pending, options, listener, result)
        except BaseException as error:
            if deployment_id is not None:
                applied = [a.version for a in result.applied]
                status = "interrupted" if isinstance(error, Interrupted) else "failed"
                _finish_quietly(target, deployment_id, status, applied, str(error) or type(error).__name__)
            raise
        if deployment_id is not None:
            finish_deployment(target, deployment_id, status="succeeded" if result.ok else "failed",
                              versions_applied=[a.version for a in result.applied],
                              error=result.failed.render() if result.failed else None)
        return result
    finally:
        _release_quietly(target.release_deploy_lock)


def _record_refused(target: Target, deployment: DeploymentContext, refused: SupadeployError) -> None:
    with contextlib.suppress(Exception):  # the refusal is what the user must see
        finish_deployment(target, start_deployment(target, deployment), status="failed", versions_applied=[],
                          error=str(refused))


def _finish_quietly(target: Target, deployment_id: int, status: str, versions: list[str], error: str) -> None:
    with contextlib.suppress(Exception):  # the connection may be what failed
        finish_deployment(target, deployment_id, status=status, versions_applied=versions, error=error)


def _apply_pending(target: Target, pending: list[Migration], options: PushOptions,
                   listener: PushListener, result: PushResult) -> None:
    for index, migration in enumerate(pending):
        listener.starting(migration, index, len(pending))
        started = time.perf_counter()
        last = index == len(pending) - 1
        try:
            # Only the last commit of a run waits for the WAL flush; it makes every earlier one durable.
            applied = target.apply_migration(migration, options.limits, durable=last)
        except MigrationFailed as failure:
            listener.failed(migration)
            result.failed = failure.failure
            return
        except KeyboardInterrupt as interrupt:
            listener.failed(migration)
            raise _interrupted(target, migration, result, interrupt) from None
        seconds = time.perf_counter() - started
        listener.finished(migration, seconds, applied)
        if applied:
            result.applied.append(AppliedMigration(migration.version, migration.name, str(migration.path), seconds))
        else:
            result.skipped.append(migration)


def _interrupted(target: Target, migration: Migration, result: PushResult,
                 interrupt: KeyboardInterrupt) -> Interrupted:
    """What an interruption while applying ``migration`` left: read back from the history, never assumed."""
    before = ", ".join(f"{a.version}_{a.name}" for a in result.applied)
    earlier = f"; applied before it in this run, and kept: {before}" if before else ""
    target.close()  # the server rolls back what the session had not committed
    try:
        committed: bool | None = migration.version in {row.version for row in target.read_history()}
    except (SupadeployError, OSError):
        committed = None
    if committed:
        result.applied.append(AppliedMigration(migration.version, migration.name, str(migration.path), 0.0))
        return Interrupted(f"interrupted after {migration.file_name} was committed: it is applied{earlier}",
                           fix="rerun the push to apply the rest")
    if committed is None:
        return Interrupted(f"interrupted while applying {migration.file_name}, and the history could not be read "
                           f"back{earlier}", fix="run `supadeploy migration list` to see what is applied")
    if not migration.transactional:
        completed, total = getattr(interrupt, "completed", None), getattr(interrupt, "total", None)
        ran = (f"{completed} of its {total} statements had completed and stay applied (statement {completed + 1} "
               "was cancelled)" if completed is not None else "the statements of it that ran stay applied")
        return Interrupted(
            f"interrupted while applying {migration.file_name}, which runs outside a transaction "
            f"(supadeploy:no-transaction): {ran}; its history row was not written{earlier}",
            fix="rerun the push: it runs the file again, so its statements must be idempotent")
    return Interrupted(f"interrupted while applying {migration.file_name}: it was rolled back, nothing of it is "
                       f"applied{earlier}", fix="rerun the push to continue")


def _history_for_plan(target: Target) -> list[HistoryRow]:
    """Digests are enough to plan; targets that can send them instead of every statement do."""
    read_summary = getattr(target, "read_history_summary", None)
    return list(read_summary()) if callable(read_summary) else target.read_history()


def _stored_statements(target: Target, versions: list[str]) -> Mapping[str, Sequence[str]]:
    return {str(version): list(statements) for version, statements in target.query(select_statements_of(versions))
            if statements is not None}


def _release_quietly(release: Callable[[], None]) -> None:
    with contextlib.suppress(Exception):  # the session may be gone; Postgres drops its advisory locks with it
        release()
