"""GitHub annotations (``::error file=...,line=...::message`` workflow commands) for `lint` and `check` findings,
so that a failing pull-request check marks the very line of the migration."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from supadeploy.report.github import annotation

if TYPE_CHECKING:
    from supadeploy.lint.report import LintFinding
    from supadeploy.shadow import CheckResult


def lint_annotations(findings: Iterable[LintFinding]) -> list[str]:
    """One annotation per finding that is not suppressed: errors as ``::error``, warnings as ``::warning``."""
    return [annotation(finding.level, f"{finding.code}: {finding.message}\nfix: {finding.fix}", file=finding.file,
                       line=finding.line, column=finding.column, title=f"lint {finding.code}")
            for finding in findings if not finding.suppressed and finding.level in ("error", "warn", "warning")]


def replay_annotations(result: CheckResult) -> list[str]:
    """The migration that failed on the throwaway database, and every replay problem, as ``::error``."""
    lines = []
    if result.failure is not None:
        failure = result.failure
        message = failure.message + (f" (SQLSTATE {failure.sqlstate})" if failure.sqlstate else "")
        lines.append(annotation("error", message, file=failure.file, line=failure.line, column=failure.column,
                                title=f"migration {failure.version}_{failure.name} fails on a fresh database"))
    for problem in result.problems:
        file, line, column = _split_location(problem.location)
        lines.append(annotation("error", f"{problem.kind}: {problem.message}", file=file, line=line, column=column,
                                title=f"migration {problem.version}_{problem.name}: {problem.kind}"))
    return lines


def _split_location(location: str) -> tuple[str, int | None, int | None]:
    """``file:line:column`` → its parts (a location without numbers is a file)."""
    parts = location.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return parts[0], int(parts[1]), int(parts[2])
    return location, None, None
