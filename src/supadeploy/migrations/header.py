"""The runbook header teams put at the top of a migration file.

```sql
-- Migration: 004_add_robinhood_user_id
-- Purpose: link users to their Robinhood account
-- Date: 2024-03-02
-- Author: dana@example.com
-- Breaking Changes: none
-- Rollback:
--   ALTER TABLE public.users DROP COLUMN IF EXISTS robinhood_user_id;
```
A field's value may continue on the following comment lines that do not start a new field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

HEADER_FIELDS = {
    "migration": "migration",
    "purpose": "purpose",
    "date": "date",
    "author": "author",
    "breaking changes": "breaking_changes",
    "rollback": "rollback",
}
_FIELD_LINE = re.compile(r"^--\s*([A-Za-z][A-Za-z ]*?)\s*:\s?(.*)$")
_DIRECTIVE = re.compile(r"^--\s*supadeploy:([a-z-]+)\b(.*)$")


@dataclass(frozen=True)
class RunbookHeader:
    migration: str | None = None
    purpose: str | None = None
    date: str | None = None
    author: str | None = None
    breaking_changes: str | None = None
    rollback: str | None = None
    line_of_field: dict[str, int] = field(default_factory=dict)

    def missing_fields(self) -> list[str]:
        return [name for name in HEADER_FIELDS.values() if getattr(self, name) is None]


@dataclass(frozen=True)
class Directives:
    """`-- supadeploy:...` comments in the leading comment block."""

    no_transaction: bool = False
    names: tuple[str, ...] = ()


def leading_comment_lines(sql: str) -> list[tuple[int, str]]:
    """(line number, stripped text) of the first block of comment lines; a blank line or SQL ends it."""
    lines: list[tuple[int, str]] = []
    text = sql.lstrip("\ufeff")
    start, number = 0, 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        number += 1
        stripped = text[start:end].strip()
        start = end + 1
        if not stripped:
            if lines:
                break
            continue
        if not stripped.startswith("--"):
            break
        lines.append((number, stripped))
    return lines


def parse_header(sql: str) -> RunbookHeader:
    values: dict[str, list[str]] = {}
    lines_of: dict[str, int] = {}
    current: str | None = None
    for number, line in leading_comment_lines(sql):
        if _DIRECTIVE.match(line):
            current = None
            continue
        match = _FIELD_LINE.match(line)
        key = HEADER_FIELDS.get(match.group(1).strip().lower()) if match else None
        if match and key:
            current = key
            lines_of[key] = number
            values[key] = [match.group(2).strip()] if match.group(2).strip() else []
        elif current is not None:
            text = line[2:].strip()
            if text:
                values[current].append(text)
    joined = {key: "\n".join(parts) for key, parts in values.items()}
    return RunbookHeader(**joined, line_of_field=lines_of)


def parse_directives(sql: str) -> Directives:
    names = tuple(m.group(1) for _, line in leading_comment_lines(sql) if (m := _DIRECTIVE.match(line)))
    return Directives(no_transaction="no-transaction" in names, names=names)
