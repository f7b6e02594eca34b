"""Find the migration file and line that created the object of a finding.

The statements of each migration are searched for ``CREATE TABLE / VIEW / MATERIALIZED VIEW / FOREIGN TABLE
/ FUNCTION / PROCEDURE / EXTENSION / POLICY``; the last migration that creates (or replaces) the object wins,
because that is the definition the database holds. Comments and string literals are ignored, and so are
function bodies; the bodies of ``DO`` blocks are searched (the runbook's idempotent pattern creates objects
there).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from supadeploy.migrations.files import Migration
from supadeploy.migrations.splitter import line_and_column
from supadeploy.rls.findings import Finding

_NAME = r'(?:"(?:[^"]|"")*"|[^\W\d][\w$]*)'
_QUALIFIED = rf"{_NAME}(?:\s*\.\s*{_NAME})?"
_CREATE = re.compile(
    r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:GLOBAL|LOCAL)\s+)?(?:(?:TEMP|TEMPORARY|UNLOGGED|RECURSIVE)\s+)?"
    r"(?P<kind>TABLE|VIEW|MATERIALIZED\s+VIEW|FOREIGN\s+TABLE|FUNCTION|PROCEDURE|EXTENSION)\s+"
    rf"(?:IF\s+NOT\s+EXISTS\s+)?(?P<name>{_QUALIFIED})",
    re.IGNORECASE,
)
_POLICY = re.compile(rf"\bCREATE\s+POLICY\s+(?P<policy>{_NAME})\s+ON\s+(?:ONLY\s+)?(?P<table>{_QUALIFIED})",
                     re.IGNORECASE)
_MASKED = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|(?P<dollar>\$(?P<tag>[A-Za-z_]\w*)?\$).*?(?P=dollar)",
                     re.DOTALL)
_DO = re.compile(r"^\s*DO\b", re.IGNORECASE)
_LEADING_COMMENTS = re.compile(r"^(?:\s+|--[^\n]*|/\*.*?\*/)*", re.DOTALL)

# Codes about one policy: they point at its CREATE POLICY; other findings point at the table's creation.
POLICY_CODES = frozenset({
    "policy_always_true", "policy_null_auth_disjunct", "policy_per_row_auth_call", "policy_user_metadata",
    "manifest_policy_extra", "manifest_policy_changed", "manifest_policy_missing",
})
_KINDS = {
    "table": "TABLE", "partitioned table": "TABLE", "view": "VIEW", "materialized view": "MATERIALIZED VIEW",
    "foreign table": "FOREIGN TABLE", "function": "FUNCTION", "extension": "EXTENSION",
}


@dataclass(frozen=True)
class Location:
    file: str
    line: int


def _identifier(text: str) -> str:
    text = text.strip()
    if text.startswith('"'):
        return text[1:-1].replace('""', '"')
    return text.lower()


def _qualified(text: str) -> tuple[str, str]:
    parts = re.findall(_NAME, text)
    names = [_identifier(part) for part in parts]
    return ("public", names[0]) if len(names) == 1 else (names[0], names[1])


def _masked(text: str) -> str:
    """Blank out comments, strings and dollar-quoted bodies (except a DO block's), keeping offsets."""
    is_do = bool(_DO.match(_LEADING_COMMENTS.sub("", text)))

    def blank(match: re.Match[str]) -> str:
        if match.group("dollar") and is_do:
            return match.group()  # a DO body: keep it searchable
        return "".join("\n" if char == "\n" else " " for char in match.group())

    return _MASKED.sub(blank, text)


class MigrationIndex:
    """Where each object is created, across the migrations in order (the last creation wins)."""

    def __init__(self, migrations: Iterable[Migration]) -> None:
        self.objects: dict[tuple[str, str, str], Location] = {}
        self.policies: dict[tuple[str, str, str], Location] = {}
        for migration in migrations:
            for statement in migration.statements:
                self._index(migration, statement.text, statement.offset)

    def _index(self, migration: Migration, text: str, offset: int) -> None:
        masked = _masked(text)
        for match in _CREATE.finditer(masked):
            kind = re.sub(r"\s+", " ", match.group("kind").upper())
            kind = "FUNCTION" if kind == "PROCEDURE" else kind
            name = match.group("name")
            key = ("", _identifier(name), kind) if kind == "EXTENSION" else (*_qualified(name), kind)
            self.objects[key] = self._location(migration, offset + match.start())
        for match in _POLICY.finditer(masked):
            schema, table = _qualified(match.group("table"))
            policy = _identifier(match.group("policy"))
            self.policies[(schema, table, policy)] = self._location(migration, offset + match.start())
            self.objects.setdefault((schema, table, "TABLE"), self._location(migration, offset + match.start()))

    @staticmethod
    def _location(migration: Migration, offset: int) -> Location:
        line, _ = line_and_column(migration.sql, offset)
        return Location(file=str(migration.path), line=line)

    def find(self, finding: Finding) -> Location | None:
        if finding.code in POLICY_CODES and finding.policy and finding.schema and finding.object:
            found = self.policies.get((finding.schema, finding.object, finding.policy))
            if found is not None:
                return found
        kind = _KINDS.get(finding.object_type)
        if kind is None or finding.object is None:
            return None
        if kind == "EXTENSION":
            return self.objects.get(("", finding.object, kind))
        return self.objects.get((finding.schema or "public", finding.object, kind))


def locate(findings: Iterable[Finding], migrations: Iterable[Migration]) -> None:
    index = MigrationIndex(migrations)
    for finding in findings:
        if finding.file is not None:
            continue
        location = index.find(finding)
        if location is not None:
            finding.file, finding.line = location.file, location.line
