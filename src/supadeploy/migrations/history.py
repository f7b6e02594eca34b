"""The migration history table, kept exactly where and how the Supabase CLI keeps it."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

HISTORY_SCHEMA = "supabase_migrations"
HISTORY_TABLE = f"{HISTORY_SCHEMA}.schema_migrations"

# The same statements, in the same order, as `supabase db push` runs before applying.
CREATE_HISTORY_TABLE = (
    f"CREATE SCHEMA IF NOT EXISTS {HISTORY_SCHEMA}",
    f"CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (version text NOT NULL PRIMARY KEY)",
    f"ALTER TABLE {HISTORY_TABLE} ADD COLUMN IF NOT EXISTS statements text[]",
    f"ALTER TABLE {HISTORY_TABLE} ADD COLUMN IF NOT EXISTS name text",
)

HISTORY_TABLE_EXISTS = "SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL"
SELECT_HISTORY = f"SELECT version, name, statements FROM {HISTORY_TABLE} ORDER BY version"
# For planning: a digest of each row's statements instead of the statements (see statements_digest).
SELECT_HISTORY_SUMMARY = f"""
SELECT version, name, CASE WHEN statements IS NULL THEN NULL ELSE md5(coalesce(
    (SELECT string_agg(length(s)::text || ':' || s, '' ORDER BY i) FROM unnest(statements) WITH ORDINALITY AS u(s, i)),
    '')) END
FROM {HISTORY_TABLE} ORDER BY version"""
INSERT_HISTORY_ROW = f"INSERT INTO {HISTORY_TABLE} (version, name, statements) VALUES (%s, %s, %s)"
# The same row with client-side literals (psycopg.sql.Literal), to send inside a multi-statement message.
INSERT_HISTORY_ROW_LITERAL = (
    f"INSERT INTO {HISTORY_TABLE} (version, name, statements) VALUES ({{}}, {{}}, {{}}::text[])"
)


def statements_digest(statements: Sequence[str]) -> str:
    """md5 of the length-prefixed statements; the same value SELECT_HISTORY_SUMMARY computes server-side."""
    payload = "".join(f"{len(statement)}:{statement}" for statement in statements)
    return hashlib.md5(payload.encode("utf-8"), usedforsecurity=False).hexdigest()


class LocalStatements(Protocol):
    """What the drift check needs of a local migration (migrations.files.Migration)."""

    @property
    def statement_texts(self) -> list[str]: ...

    @property
    def statements_digest(self) -> str: ...


@dataclass(frozen=True)
class HistoryRow:
    version: str
    name: str | None
    statements: tuple[str, ...] | None
    digest: str | None = None  # set instead of statements by summary reads

    def same_statements(self, local: Sequence[str], local_digest: str | None = None) -> bool | None:
        """True/False when the stored statements are known, None when the row has none recorded."""
        if self.statements is not None:
            return tuple(local) == self.statements
        if self.digest is not None:
            return (local_digest or statements_digest(local)) == self.digest
        return None

    def matches(self, local: LocalStatements) -> bool | None:
        """same_statements for a migration, splitting its file only when stored statements must be compared
        (a digest may come from the digest cache)."""
        if self.statements is not None:
            return tuple(local.statement_texts) == self.statements
        if self.digest is not None:
            return local.statements_digest == self.digest
        return None

    @classmethod
    def from_summary(cls, record: tuple[object, ...]) -> HistoryRow:
        version, name, digest = record
        return cls(version=str(version), name=None if name is None else str(name), statements=None,
                   digest=None if digest is None else str(digest))

    @classmethod
    def from_record(cls, record: tuple[object, ...]) -> HistoryRow:
        version, name, statements = record
        return cls(
            version=str(version),
            name=None if name is None else str(name),
            statements=None if statements is None else tuple(str(s) for s in statements),  # type: ignore[attr-defined]
        )
