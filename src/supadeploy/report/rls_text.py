"""verify's report for people: findings and probes as text, the access matrix as text and as markdown."""

from __future__ import annotations

import os

from supadeploy.rls.findings import (
    API_ROLES,
    COMMANDS,
    EVERY_ROW,
    NO_GRANT,
    NO_ROW,
    POLICY_GATED,
    Finding,
    MatrixRow,
    ProbeResult,
)
from supadeploy.rls.verify import VerifyReport

_CELL_LETTER = {EVERY_ROW: "A", POLICY_GATED: "P", NO_ROW: "-", NO_GRANT: "x"}
_CELL_MARKDOWN = {EVERY_ROW: "**allowed**", POLICY_GATED: "policy-gated", NO_ROW: "denied", NO_GRANT: "no grant"}


def _display_path(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return path if relative.startswith("..") else relative


def _subject(finding: Finding) -> str:
    subject = finding.qualified_name
    if finding.arguments is not None:
        subject += f"({finding.arguments})"
    if finding.policy:
        subject += f' policy "{finding.policy}"' if ", " not in finding.policy else f" policies {finding.policy}"
    return subject


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary_line(report: VerifyReport) -> str:
    counts = report.summary()
    parts = [_plural(counts["error"], "error"), _plural(counts["warn"], "warning"), f"{counts['info']} info"]
    if counts["accepted"]:
        parts.append(f"{counts['accepted']} accepted")
    if report.probes:
        parts.append(f"probes: {counts['probes_passed']} passed, {counts['probes_failed']} failed")
    return ", ".join(parts)


def failure_text(findings: list[Finding], probes: list[ProbeResult], threshold: str) -> str:
    """Why the run fails, findings (at or above ``threshold``) and failed probes counted apart, each with what
    to do: a failed probe is not a finding, and cannot be accepted."""
    parts = []
    if findings:
        parts.append(f"{len(findings)} finding(s) at or above {threshold} (fix them, or accept them "
                     "with a reason in [[verify.accept]] of supadeploy.toml)")
    if probes:
        parts.append(f"{len(probes)} probe{'' if len(probes) == 1 else 's'} failed "
                     f"({', '.join(probe.name for probe in probes)}: fix the policy the probe exercises, "
                     "or the probe in the manifest)")
    return "; ".join(parts)


def findings_text(report: VerifyReport) -> str:
    """Each finding (level, code, object, message, fix, migration location), the probes, a summary line."""
    lines: list[str] = []
    for finding in report.findings:
        level = f"accepted ({finding.level})" if finding.accepted else finding.level
        lines.append(f"{level:<7} {finding.code}  {_subject(finding)}")
        lines.append(f"        {finding.message}")
        if finding.accepted:
            lines.append(f"        accepted: {finding.accepted_reason}")
        else:
            lines.append(f"        fix: {finding.remediation}")
        if finding.file:
            lines.append(f"        at {_display_path(finding.file)}{f':{finding.line}' if finding.line else ''}")
    if report.probes:
        lines.append(f"Probes ({_display_path(report.manifest) if report.manifest else 'manifest'}):")
        for probe in report.probes:
            if probe.passed:
                lines.append(f"  pass  {probe.name} (as {probe.role}): {probe.got}")
            else:
                lines.append(f"  FAIL  {probe.name} (as {probe.role}): expected {probe.expected}, got {probe.got}")
                if probe.message:
                    lines.append(f"        {probe.message}")
    if not report.findings and not report.probes:
        lines.append("No findings.")
    lines.append(f"Verified {len(report.matrix)} relations in {', '.join(report.schemas)}: {summary_line(report)}.")
    return "\n".join(lines)


def _rls_label(row: MatrixRow) -> str:
    if row.kind not in ("table", "partitioned table"):
        return "n/a"
    return "forced" if row.rls_forced else "on" if row.rls_enabled else "OFF"


def _kind_label(kind: str) -> str:
    return {"partitioned table": "table", "materialized view": "matview", "foreign table": "foreign"}.get(kind, kind)


def matrix_text(report: VerifyReport) -> str:
    """One line per relation: RLS state and, for anon and authenticated, S I U D as A / P / - / x."""
    if not report.matrix:
        return f"Access matrix: no tables or views in {', '.join(report.schemas)}."
    width = max(len("relation"), *(len(row.qualified_name) for row in report.matrix))
    header = f"{'relation':<{width}}  {'kind':<8} {'RLS':<6} {'anon':<5} authenticated"
    lines = ["Access matrix (columns S I U D = select insert update delete; "
             "A every row, P policy-gated, - RLS allows no row, x no grant):",
             header, f"{'':<{width}}  {'':<8} {'':<6} {'SIUD':<5} SIUD"]
    for row in report.matrix:
        cells = ["".join(_CELL_LETTER[row.reach[role][command]] for command in COMMANDS) for role in API_ROLES]
        lines.append(f"{row.qualified_name:<{width}}  {_kind_label(row.kind):<8} {_rls_label(row):<6} "
                     f"{cells[0]:<5} {cells[1]}")
    return "\n".join(lines)


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def matrix_markdown(report: VerifyReport) -> str:
    """The access matrix as a GitHub-flavoured markdown table (for the step summary)."""
    if not report.matrix:
        return f"_No tables or views in {', '.join(report.schemas)}._\n"
    columns = ["Relation", "Kind", "RLS"] + [f"{role} {command.upper()}" for role in API_ROLES for command in COMMANDS]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in report.matrix:
        cells = [f"`{_markdown_cell(row.qualified_name)}`", row.kind, _rls_label(row)]
        cells += [_CELL_MARKDOWN[row.reach[role][command]] for role in API_ROLES for command in COMMANDS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def findings_markdown(report: VerifyReport) -> str:
    """Findings and probes as markdown tables, with the summary line."""
    lines = [f"**RLS verification** of {', '.join(f'`{s}`' for s in report.schemas)}: {summary_line(report)}.", ""]
    if report.findings:
        lines += ["| Level | Code | Object | Message | Where |", "|---|---|---|---|---|"]
        for finding in report.findings:
            level = f"accepted ({finding.level})" if finding.accepted else finding.level
            where = f"`{_display_path(finding.file)}:{finding.line}`" if finding.file and finding.line else ""
            message = finding.message + (f" — accepted: {finding.accepted_reason}" if finding.accepted else "")
            lines.append(f"| {level} | `{finding.code}` | `{_markdown_cell(_subject(finding))}` | "
                         f"{_markdown_cell(message)} | {where} |")
        lines.append("")
    if report.probes:
        lines += ["| Probe | As | Expected | Got | |", "|---|---|---|---|---|"]
        for probe in report.probes:
            lines.append(f"| {_markdown_cell(probe.name)} | {probe.role} | {probe.expected} | {probe.got} | "
                         f"{'pass' if probe.passed else '**FAIL**'} |")
        lines.append("")
    return "\n".join(lines)


def report_markdown(report: VerifyReport) -> str:
    return ("### supadeploy verify\n\n" + findings_markdown(report) + "\n#### Access matrix\n\n"
            + matrix_markdown(report))
