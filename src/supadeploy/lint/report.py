"""Lint migrations: run every rule, apply suppressions, and report findings.

The library entry point is :func:`lint_migrations`; it returns :class:`LintFinding` s (suppressed ones
included, with their reason) and never prints. :func:`findings_text` and :func:`lint_document` render them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from supadeploy.config import ProjectConfig
from supadeploy.lint.bodies import UncheckedSql
from supadeploy.lint.executable_hits import executable_hits
from supadeploy.lint.functions import FunctionRegistry, SourceFile
from supadeploy.lint.parse import ParsedStatement, parse_file
from supadeploy.lint.rules import (
    DYNAMIC_SQL,
    ERROR,
    INFO,
    RULES,
    STATEMENT_RULES,
    WARNING,
    FileState,
    Hit,
    access_hits,
    observe,
    table_renames,
    tables_created,
    tables_granted_to_api,
    tables_with_rls_enabled,
)
from supadeploy.lint.sources import Source, StatementSources
from supadeploy.lint.suppress import FileSuppressions, LintSettings, lint_settings
from supadeploy.migrations.files import Migration
from supadeploy.migrations.header import HEADER_FIELDS

_FIELD_LABELS = {attribute: label.title() for label, attribute in HEADER_FIELDS.items()}


@dataclass(frozen=True)
class LintFinding:
    code: str
    level: str
    file: str
    line: int
    column: int
    message: str
    fix: str
    suppressed_reason: str | None = None

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    @property
    def suppressed(self) -> bool:
        return self.suppressed_reason is not None

    @property
    def rule_name(self) -> str:
        return RULES[self.code].name

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "rule": self.rule_name, "category": RULES[self.code].category,
                "level": self.level, "file": self.file, "line": self.line, "column": self.column,
                "message": self.message, "fix": self.fix,
                "suppressed": self.suppressed, "suppressed_reason": self.suppressed_reason}


def lint_migrations(migrations: list[Migration], project: ProjectConfig, *,
                    context: Sequence[Migration] = ()) -> list[LintFinding]:
    """Lint ``migrations``; the result is sorted by file, line and column.

    Every statement that will run is linted: top-level statements, what DO blocks run (constant EXECUTEs
    included), data-modifying WITH members, and the bodies of functions these migrations define and call
    (see :mod:`supadeploy.lint.sources`). ``context`` are other migrations of the project (typically every
    file of supabase/migrations/): they are not reported on, but rules that look across files read them (a
    table created in one migration may get ENABLE ROW LEVEL SECURITY in a later one). The ``[lint]``
    section of ``project`` sets exposed schemas, project-wide ignores and level overrides; raises
    SupadeployError when it is invalid.
    """
    settings = lint_settings(project)
    linted = {m.path.resolve() for m in migrations}
    everything = sorted({m.path.resolve(): m for m in [*context, *migrations]}.values(), key=lambda m: m.path.name)
    files = {m.path.resolve(): SourceFile(name=m.path.name, display=display_path(m.path, project.workdir),
                                          parsed=parse_file(m.sql)) for m in everything}
    pending = [m for m in everything if m.path.resolve() in linted]
    sources = StatementSources(FunctionRegistry([files[m.path.resolve()] for m in pending]))
    rls_enabled_in = _rls_enabled(everything, files, sources)
    granted_in = _rls_enabled(everything, files, sources, tables_granted_to_api)
    suppressions = {path: FileSuppressions(files[path].parsed.source, partial(sources.written_in, files[path]))
                    for path in linted}
    by_name = {files[path].name: suppressions[path] for path in linted}
    findings: list[LintFinding] = []
    for migration in pending:
        linter = _FileLinter(migration, files[migration.path.resolve()], settings, sources, by_name)
        findings.extend(linter.run(rls_enabled_in, granted_in))
    findings.extend(_down_files_in_folder(migrations, settings, project.workdir))
    return sorted(findings, key=lambda f: (f.file, f.line, f.column, f.code))


def _rls_enabled(migrations: list[Migration], files: dict[Path, SourceFile], sources: StatementSources,
                 tables_of: Callable[[ParsedStatement], list[str]] = tables_with_rls_enabled) -> dict[str, list[str]]:
    """table → file names of the migrations that enable RLS on it (under this name or a later one); with
    ``tables_of``, that do what it reads from a statement instead."""
    enabled: dict[str, list[str]] = {}
    renamed_to: dict[str, str] = {}
    for migration in migrations:
        for top_level in files[migration.path.resolve()].parsed.statements:
            for statement in sources.running(top_level):
                if not isinstance(statement, ParsedStatement):
                    continue
                for table in tables_of(statement):
                    enabled.setdefault(table, []).append(migration.path.name)
                renamed_to.update(table_renames(statement))
    for old in renamed_to:
        seen, name = {old}, old
        while name in renamed_to and renamed_to[name] not in seen:
            name = renamed_to[name]
            seen.add(name)
            enabled.setdefault(old, []).extend(enabled.get(name, []))
    return enabled


class _FileLinter:
    def __init__(self, migration: Migration, file: SourceFile, settings: LintSettings, sources: StatementSources,
                 suppressions: dict[str, FileSuppressions]) -> None:
        self.migration = migration
        self.source_file = file
        self.parsed = file.parsed
        self.settings = settings
        self.file = file.display
        self.sources = sources
        self.suppressions = suppressions

    def run(self, rls_enabled_in: dict[str, list[str]], granted_in: dict[str, list[str]]) -> list[LintFinding]:
        findings = [self._finding(Hit("SD501", problem.offset, problem.message))
                    for problem in self.parsed.syntax_errors]
        state = FileState(exposed_schemas=self.settings.exposed_schemas, transactional=self.migration.transactional)
        for source in self.sources.file_sources(self.source_file):
            for hit in self._hits(source, state, rls_enabled_in):
                offset, message = source.placed(hit.offset, hit.message)
                body = (source.file.name, hit.offset) if source.calls else None
                findings.append(self._finding(Hit(hit.code, offset, message), body))
        findings.extend(self._finding(hit) for hit in access_hits(state, partial(self._later, granted_in)))
        findings.extend(self._finding(hit) for hit in executable_hits(self.migration))
        findings.extend(self._finding(hit) for hit in self._missing_header_fields())
        invalid = self.suppressions[self.source_file.name].comments.invalid
        findings.extend(self._finding(Hit("SD503", i.offset, i.message)) for i in invalid)
        return findings

    def _hits(self, source: Source, state: FileState, rls_enabled_in: dict[str, list[str]]) -> list[Hit]:
        item = source.item
        if isinstance(item, UncheckedSql):
            return [Hit(DYNAMIC_SQL, item.offset, item.message)]
        hits = [hit for rule in STATEMENT_RULES for hit in rule(item, state)]
        hits.extend(self._table_without_rls(item, rls_enabled_in))
        observe(item, state)
        return hits

    def _table_without_rls(self, statement: ParsedStatement, rls_enabled_in: dict[str, list[str]]) -> list[Hit]:
        hits = []
        for table, relation in tables_created(statement):
            schema = table.split(".", 1)[0]
            if schema not in self.settings.exposed_schemas:
                continue
            later = [name for name in rls_enabled_in.get(table, []) if name >= self.migration.path.name]
            if not later:
                hits.append(Hit("SD401", statement.offset_of(relation),
                                f"table {table} is in exposed schema {schema} and no migration from this one on "
                                "enables Row Level Security on it"))
        return hits

    def _later(self, done_in: dict[str, list[str]], table: str) -> bool:
        names = done_in.get(table, []) + done_in.get(f"{table.split('.')[0]}.*", []) + done_in.get("*.*", [])
        return any(name > self.migration.path.name for name in names)

    def _missing_header_fields(self) -> list[Hit]:
        missing = [_FIELD_LABELS[name] for name in self.migration.header.missing_fields()]
        if not missing:
            return []
        fields = ", ".join(f"-- {label}:" for label in missing)
        return [Hit("SD502", 0, f"the runbook header has no {fields}")]

    def _finding(self, hit: Hit, body: tuple[str, int] | None = None) -> LintFinding:
        rule = RULES[hit.code]
        line, column = self.parsed.line_column(hit.offset)
        return LintFinding(code=hit.code, level=self.settings.levels.get(hit.code, rule.level), file=self.file,
                           line=line, column=column, message=hit.message, fix=rule.fix,
                           suppressed_reason=self._suppressed_reason(hit, body))

    def _suppressed_reason(self, hit: Hit, body: tuple[str, int] | None) -> str | None:
        """``body``: (file name, offset) of the statement in a called function's body the finding is about;
        a comment there suppresses it too."""
        if hit.code in self.settings.ignored:
            return f"[lint.ignore] {self.settings.ignored[hit.code]}"
        if hit.code == "SD503":
            return None
        reason = self.suppressions[self.source_file.name].reason(hit.code, hit.offset)
        if reason is None and body is not None:
            reason = self.suppressions[body[0]].reason(hit.code, body[1])
        return reason


def _down_files_in_folder(migrations: list[Migration], settings: LintSettings, workdir: Path) -> list[LintFinding]:
    findings = []
    rule = RULES["SD504"]
    for migration in migrations:
        down = migration.path.with_name(f"{migration.version}_{migration.name}.down.sql")
        if down.exists():
            findings.append(LintFinding(
                code="SD504", level=settings.levels.get("SD504", rule.level), file=display_path(down, workdir),
                line=1, column=1, fix=rule.fix,
                message=f"supabase db push would apply {down.name} as migration {migration.version} "
                        f"'{migration.name}.down', before {migration.path.name}",
                suppressed_reason=(f"[lint.ignore] {settings.ignored['SD504']}" if "SD504" in settings.ignored
                                   else None)))
    return findings


def display_path(path: Path, workdir: Path) -> str:
    try:
        return str(path.resolve().relative_to(workdir.resolve()))
    except ValueError:
        return str(path)


# --- rendering ---------------------------------------------------------------------------------------


def active(findings: Sequence[LintFinding]) -> list[LintFinding]:
    return [f for f in findings if not f.suppressed]


def error_findings(findings: Sequence[LintFinding]) -> list[LintFinding]:
    """Unsuppressed error-level findings: what a protected environment refuses."""
    return [f for f in active(findings) if f.level == ERROR]


def counts(findings: Sequence[LintFinding]) -> dict[str, int]:
    shown = active(findings)
    return {"error": sum(f.level == ERROR for f in shown), "warning": sum(f.level == WARNING for f in shown),
            "info": sum(f.level == INFO for f in shown), "suppressed": len(findings) - len(shown)}


def findings_text(findings: Sequence[LintFinding], *, show_suppressed: bool = False) -> str:
    lines = []
    for finding in findings:
        if finding.suppressed and not show_suppressed:
            continue
        suffix = f" (suppressed: {finding.suppressed_reason})" if finding.suppressed else ""
        lines.append(f"{finding.location}: {finding.level} {finding.code} {finding.rule_name}: "
                     f"{finding.message}{suffix}")
        if not finding.suppressed:
            lines.append(f"  fix: {finding.fix}")
    number = counts(findings)
    lines.append(f"{number['error']} error(s), {number['warning']} warning(s), {number['info']} info, "
                 f"{number['suppressed']} suppressed")
    return "\n".join(lines)


def lint_document(findings: Sequence[LintFinding], files: Sequence[str]) -> dict[str, Any]:
    return {"ok": not error_findings(findings), "files": list(files), "summary": counts(findings),
            "findings": [f.as_dict() for f in findings]}
