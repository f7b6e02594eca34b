"""Text for people: progress lines on stderr, a plan, a summary."""

from __future__ import annotations

import sys

from supadeploy.migrations.files import Migration
from supadeploy.migrations.plan import Plan, comment_only_note
from supadeploy.push_result import PushListener, PushResult


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


class ProgressPrinter(PushListener):
    """One line per migration on stderr: `[2/5] 002_portfolio_analytics.sql ... 14 ms`."""

    def __init__(self) -> None:
        self._stream = sys.stderr
        self._total = 0

    def starting(self, migration: Migration, index: int, total: int) -> None:
        self._total = total
        self._stream.write(f"[{index + 1}/{total}] {migration.file_name} ... ")
        self._stream.flush()

    def failed(self, migration: Migration) -> None:
        self._stream.write("failed\n")
        self._stream.flush()

    def finished(self, migration: Migration, seconds: float, applied: bool) -> None:
        self._stream.write(f"{_ms(seconds)}\n" if applied else "already applied by another deploy\n")
        self._stream.flush()


def plan_text(plan: Plan, target: str) -> str:
    if not plan.pending:
        return f"Database {target} is up to date ({len(plan.applied)} migrations applied)."
    lines = [f"Plan for {target}: {len(plan.pending)} to apply, {len(plan.applied)} already applied"]
    lines += [f"  + {m.file_name}" for m in plan.pending]
    return "\n".join(lines)


def push_summary(result: PushResult, target: str) -> str:
    """The outcome in a few lines, then a note for each applied file edited only in comments or whitespace."""
    notes = [f"note: {comment_only_note(drift)}" for drift in result.plan.comment_only]
    return "\n".join([_outcome_text(result, target), *notes])


def _outcome_text(result: PushResult, target: str) -> str:
    if result.dry_run:
        return plan_text(result.plan, target) + "\n(dry run: nothing applied)"
    lines: list[str] = []
    if result.failed:
        lines.append(f"Push to {target} failed at {result.failed.version}_{result.failed.name}: applied "
                     f"{len(result.applied)} migration(s) before it; {len(result.not_attempted)} not attempted.")
        return "\n".join(lines)
    if not result.applied and not result.skipped:
        return f"Nothing to push: {target} is up to date ({len(result.plan.applied)} migrations applied)."
    total = sum(a.duration_seconds for a in result.applied)
    lines.append(f"Applied {len(result.applied)} migration(s) to {target} in {_ms(total)}.")
    if result.skipped:
        lines.append(f"{len(result.skipped)} were applied meanwhile by another deploy.")
    return "\n".join(lines)
