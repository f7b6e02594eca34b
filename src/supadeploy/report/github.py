"""GitHub Actions output: annotations, the step summary and step outputs (when GITHUB_ACTIONS=true)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from supadeploy.push_result import PushResult
from supadeploy.redact import redact_text

if TYPE_CHECKING:
    from supadeploy.deploy import DeployOutcome


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def workspace_relative(path: str) -> str:
    """Annotations need paths relative to the repository root."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace:
        try:
            return str(Path(path).resolve().relative_to(Path(workspace).resolve()))
        except ValueError:
            return path
    return path


def annotation(level: str, message: str, *, file: str | None = None, line: int | None = None,
               column: int | None = None, title: str | None = None) -> str:
    """A workflow command such as ``::error file=a.sql,line=3,col=5,title=...::message``."""
    command = {"error": "error", "warn": "warning", "warning": "warning"}.get(level, "notice")
    properties = []
    if file:
        properties.append(f"file={_escape_property(workspace_relative(file))}")
    if line is not None:
        properties.append(f"line={line}")
    if column is not None:
        properties.append(f"col={column}")
    if title:
        properties.append(f"title={_escape_property(title)}")
    joined = " " + ",".join(properties) if properties else ""
    return f"::{command}{joined}::{_escape_data(redact_text(message))}"


def append_step_summary(markdown: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(redact_text(markdown).rstrip("\n") + "\n\n")


def write_outputs(outputs: Mapping[str, str | int]) -> None:
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        for key, value in outputs.items():
            text = redact_text(str(value))
            if "\n" in text:
                delimiter = f"EOF_{uuid.uuid4().hex}"
                handle.write(f"{key}<<{delimiter}\n{text}\n{delimiter}\n")
            else:
                handle.write(f"{key}={text}\n")


def push_markdown(result: PushResult, *, target: str, environment: str | None, command: str = "push") -> str:
    """The plan and what was applied, with durations, as a step-summary section."""
    title = f"### supadeploy {command} → `{environment or 'database'}`"
    lines = [title, "", f"Database: `{target}`", ""]
    if result.dry_run:
        lines.append(f"Dry run: {len(result.plan.pending)} migration(s) would be applied.")
    elif result.failed:
        lines.append(f"**Failed** at `{result.failed.version}_{result.failed.name}` "
                     f"({result.failed.location}): {result.failed.message}")
    elif not result.applied:
        lines.append(f"Up to date: {len(result.plan.applied)} migration(s) already applied.")
    else:
        lines.append(f"Applied {len(result.applied)} migration(s).")
    rows = [(a.version, a.name, f"{a.duration_seconds * 1000:.0f} ms", "applied") for a in result.applied]
    if result.failed:
        rows.append((result.failed.version, result.failed.name, "-", "failed"))
    rows += [(m.version, m.name, "-", "pending" if result.dry_run else "not attempted")
             for m in (result.plan.pending if result.dry_run else result.not_attempted)]
    if rows:
        lines += ["", "| version | name | duration | status |", "|---|---|---|---|"]
        lines += [f"| {v} | {n} | {d} | {s} |" for v, n, d, s in rows]
    return "\n".join(lines)


def push_outputs(result: PushResult) -> dict[str, str | int]:
    return {
        "applied": len(result.applied),
        "pending": len(result.plan.pending) if result.dry_run else len(result.not_attempted),
        "failed": 1 if result.failed else 0,
        "applied_versions": " ".join(a.version for a in result.applied),
    }


def push_annotations(result: PushResult) -> list[str]:
    if result.failed is None:
        return []
    failure = result.failed
    message = failure.message + (f" (SQLSTATE {failure.sqlstate})" if failure.sqlstate else "")
    if failure.hint:
        message += f"\nhint: {failure.hint}"
    return [annotation("error", message, file=failure.file, line=failure.line, column=failure.column,
                       title=f"migration {failure.version}_{failure.name} failed")]


def deploy_annotations(outcome: DeployOutcome) -> list[str]:
    """The failed migration, verification findings that fail the run, and lint errors in what was pushed."""
    lines = push_annotations(outcome.push)
    for finding in outcome.verify_failing:
        lines.append(annotation("error", f"{finding.code}: {finding.message}\nfix: {finding.remediation}",
                                file=finding.file, line=finding.line, title=f"RLS {finding.code}"))
    for probe in outcome.verify_failing_probes:
        lines.append(annotation("error", f'probe "{probe.name}" (as {probe.role}): expected {probe.expected}, '
                                f"got {probe.got}" + (f" ({probe.message})" if probe.message else ""),
                                file=outcome.verify.manifest if outcome.verify else None, title="RLS probe failed"))
    for lint in outcome.lint:
        if lint.level == "error" and not lint.suppressed:
            lines.append(annotation("error", f"{lint.code}: {lint.message}\nfix: {lint.fix}", file=lint.file,
                                    line=lint.line, column=lint.column, title=f"lint {lint.code}"))
    return lines


def deploy_markdown(outcome: DeployOutcome, *, target: str, environment: str | None, command: str = "push") -> str:
    """Plan, applied migrations with durations, backup, RLS access matrix, types changed."""
    sections = [push_markdown(outcome.push, target=target, environment=environment, command=command)]
    if outcome.backup is not None:
        sections.append(f"**Backup:** {outcome.backup.location}")
    if outcome.verify is not None:
        from supadeploy.report.rls_text import report_markdown

        sections.append(report_markdown(outcome.verify))
    if outcome.types:
        rows = "\n".join(f"| `{r.path.name}` | {r.lang} | {'updated' if r.changed else 'unchanged'} |"
                          for r in outcome.types)
        sections.append("#### Types\n\n| file | language | |\n|---|---|---|\n" + rows)
    return "\n\n".join(sections)


def deploy_outputs(outcome: DeployOutcome) -> dict[str, str | int]:
    outputs = push_outputs(outcome.push)
    if outcome.verify is not None:
        summary = outcome.verify.summary()
        outputs.update({"verify_errors": summary["error"], "verify_warnings": summary["warn"],
                        "verify_failing": len(outcome.verify_failing),
                        "verify_failed_probes": len(outcome.verify_failing_probes)})
    outputs["types_changed"] = sum(1 for r in outcome.types if r.changed)
    outputs["backup"] = outcome.backup.location if outcome.backup else ""
    # The file a workflow uploads as an artifact (empty for a restore point, which outlives the job by itself).
    outputs["backup_file"] = outcome.backup.location if outcome.backup and outcome.backup.kind == "pg_dump" else ""
    return outputs
