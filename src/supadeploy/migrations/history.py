"""The migration history table, kept exactly where and how the Supabase CLI keeps it."""

from __future__ import annotations

from dataclasses import dataclass

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
INSERT_HISTORY_ROW = f"INSERT INTO {HISTORY_TABLE} (version, name, statements) VALUES (%s, %s, %s)"


@dataclass(frozen=True)
class HistoryRow:
    version: str
    name: str | None
    statements: tuple[str, ...] | None

    @classmethod
    def from_record(cls, record: tuple[object, ...]) -> HistoryRow:
        version, name, statements = record
        return cls(
            version=str(version),
            name=None if name is None else str(name),
            statements=None if statements is None else tuple(str(s) for s in statements),  # type: ignore[attr-defined]
        )
