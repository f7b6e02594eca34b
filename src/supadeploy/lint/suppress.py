"""Suppressing lint findings: inline comments with a reason, and the project's ``[lint]`` configuration.

Inline, in a migration file::

    -- supadeploy:ignore SD201 the table was replaced by public.accounts in 012
    DROP TABLE public.legacy_accounts;

    ALTER TABLE public.users DROP COLUMN nickname; -- supadeploy:ignore SD202 unused since v2.3

    -- supadeploy:ignore-file SD306 small tables, run during the maintenance window

A comment on a line of its own applies to the next statement (and everything inside it, such as the
statements of a DO block); a comment after code applies to the statement on that line; ``ignore-file``
applies to the whole file. Several codes are separated by commas; rule names work too
(``drop-table``). The reason is required: a comment without one suppresses nothing and is reported.

Per project, in ``supadeploy.toml``::

    [lint]
    exposed_schemas = ["public"]        # schemas the Data API serves (table-without-rls); default ["public"]

    [lint.ignore]                       # codes off for the whole project, each with its reason
    SD306 = "supadeploy push sets lock_timeout from [push]"

    [lint.levels]                       # change a rule's level: "error", "warning" or "info"
    SD403 = "error"
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from supadeploy.config import ProjectConfig
from supadeploy.lint.rules import LEVELS, RULES, rule_for
from supadeploy.migrations.splitter import line_and_column

_IGNORE = re.compile(r"--\s*supadeploy:(ignore(?:-file)?)\b[ \t]*([^\s]*)[ \t]*([^\n]*)")
DEFAULT_EXPOSED_SCHEMAS = ("public",)


@dataclass(frozen=True)
class InlineSuppression:
    codes: tuple[str, ...]
    reason: str
    offset: int
    """File offset of the comment."""
    line: int
    whole_file: bool
    trailing: bool
    """True when code precedes the comment on its line."""


@dataclass(frozen=True)
class InvalidSuppression:
    offset: int
    message: str


@dataclass(frozen=True)
class InlineSuppressions:
    valid: list[InlineSuppression]
    invalid: list[InvalidSuppression]


def inline_suppressions(source: str) -> InlineSuppressions:
    """Every ``-- supadeploy:ignore`` comment of a file, checked."""
    valid: list[InlineSuppression] = []
    invalid: list[InvalidSuppression] = []
    for match in _IGNORE.finditer(source):
        kind, code_list, reason = match.group(1), match.group(2), match.group(3).strip()
        line_start = source.rfind("\n", 0, match.start()) + 1
        before = source[line_start:match.start()]
        if "--" in before or before.count("'") % 2:  # inside another comment or a string: not a directive
            continue
        codes: list[str] = []
        unknown: list[str] = []
        for item in filter(None, code_list.split(",")):
            rule = rule_for(item)
            (codes.append(rule.code) if rule else unknown.append(item))
        if unknown or not codes:
            what = f"unknown code {', '.join(unknown)}" if unknown else "no code"
            invalid.append(InvalidSuppression(match.start(), f"supadeploy:{kind} names {what}: it suppresses nothing"))
            continue
        if not reason:
            invalid.append(InvalidSuppression(
                match.start(), f"supadeploy:{kind} {','.join(codes)} gives no reason: it suppresses nothing"))
            continue
        line, _ = line_and_column(source, match.start())
        valid.append(InlineSuppression(codes=tuple(codes), reason=reason, offset=match.start(), line=line,
                                       whole_file=kind == "ignore-file", trailing=bool(before.strip())))
    return InlineSuppressions(valid=valid, invalid=invalid)


@dataclass(frozen=True)
class LintSettings:
    """The ``[lint]`` section of supadeploy.toml, validated."""

    exposed_schemas: frozenset[str] = frozenset(DEFAULT_EXPOSED_SCHEMAS)
    ignored: dict[str, str] = field(default_factory=dict)
    """code → reason, for the whole project."""
    levels: dict[str, str] = field(default_factory=dict)
    """code → level, overriding the rule's own."""


def lint_settings(project: ProjectConfig) -> LintSettings:
    section = project.section("lint")
    allowed = {"exposed_schemas", "ignore", "levels"}
    for key in section:
        if key not in allowed:
            raise project.section_error(f"unknown key '{key}' in [lint]", key=key,
                                        fix=f"allowed keys: {', '.join(sorted(allowed))}")
    schemas = section.get("exposed_schemas", list(DEFAULT_EXPOSED_SCHEMAS))
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        raise project.section_error("exposed_schemas in [lint] must be a list of schema names",
                                    key="exposed_schemas", fix='for example: exposed_schemas = ["public", "api"]')
    ignored = {_code(project, key, "ignore"): _reason(project, key, value)
               for key, value in _table(project, section, "ignore").items()}
    levels = {_code(project, key, "levels"): _level(project, key, value)
              for key, value in _table(project, section, "levels").items()}
    return LintSettings(exposed_schemas=frozenset(s.lower() for s in schemas), ignored=ignored, levels=levels)


def _table(project: ProjectConfig, section: dict[str, Any], name: str) -> dict[str, Any]:
    table = section.get(name, {})
    if not isinstance(table, dict):
        raise project.section_error(f"[lint] {name} must be a table of CODE = value", key=name,
                                    fix=f'write it as [lint.{name}] with lines like SD306 = "..."')
    return table


def _code(project: ProjectConfig, key: str, table: str) -> str:
    rule = rule_for(key)
    if rule is None:
        raise project.section_error(f"unknown lint code '{key}' in [lint.{table}]", key=key,
                                    fix=f"known codes: {', '.join(RULES)} (see docs/safety.md)")
    return rule.code


def _reason(project: ProjectConfig, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise project.section_error(f"[lint.ignore] {key} needs a reason", key=key,
                                    fix=f'write {key} = "why this rule does not apply to this project"')
    return value.strip()


def _level(project: ProjectConfig, key: str, value: Any) -> str:
    if value not in LEVELS:
        raise project.section_error(f"[lint.levels] {key} must be one of {', '.join(LEVELS)}", key=key,
                                    fix=f'for example: {key} = "warning"')
    return str(value)


class Located(Protocol):
    """Something written in the file that a comment can cover: a statement, an EXECUTE."""

    @property
    def start(self) -> int: ...

    @property
    def text(self) -> str: ...


class FileSuppressions:
    """The inline suppressions of one file, and which statement each one covers."""

    def __init__(self, source: str, statements: Callable[[], Sequence[Located]]) -> None:
        """``statements``: the statements whose text is in the file, read when a comment is first matched."""
        self.comments = inline_suppressions(source)
        self.source = source
        self._read_statements = statements
        self._statements: Sequence[Located] | None = None

    @property
    def statements(self) -> Sequence[Located]:
        if self._statements is None:
            self._statements = self._read_statements()
        return self._statements

    def reason(self, code: str, offset: int) -> str | None:
        """The reason of the comment that suppresses ``code`` at file offset ``offset``, if one does."""
        for suppression in self.comments.valid:
            if code in suppression.codes and self._covers(suppression, offset):
                return suppression.reason
        return None

    def _covers(self, suppression: InlineSuppression, offset: int) -> bool:
        if suppression.whole_file:
            return True
        target = self._target(suppression)
        return target is not None and target.start <= offset <= target.start + len(target.text)

    def _target(self, suppression: InlineSuppression) -> Located | None:
        if suppression.trailing:
            covering = [s for s in self.statements if s.start <= suppression.offset <= s.start + len(s.text) + 1
                        or line_and_column(self.source, s.start)[0] == suppression.line]
            return min(covering, key=lambda s: len(s.text), default=None)
        following = [s for s in self.statements if s.start > suppression.offset]
        return min(following, key=lambda s: (s.start, -len(s.text)), default=None)
