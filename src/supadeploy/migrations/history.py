"""The migration history table, kept exactly where and how the Supabase CLI keeps it."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

HISTORY_SCHEMA = "supabase_migrations"
HISTORY_TABLE = f"{HISTORY_SCHEMA}.schema_migrations"

# The same statements, in the same order, as the Supabase CLI runs before each push (pkg/migration/history.go,
# CreateMigrationTable, as of 2.117.0): they also bring a table made by an older CLI up to date.
CREATE_HISTORY_TABLE = (
    "SET LOCAL lock_timeout = '4s'",  # the CLI's SET lock_timeout = '4s', kept to this transaction
    f"CREATE SCHEMA IF NOT EXISTS {HISTORY_SCHEMA}",
    f"CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (version text NOT NULL PRIMARY KEY)",
    f"ALTER TABLE {HISTORY_TABLE} ADD COLUMN IF NOT EXISTS statements text[]",
    f"ALTER TABLE {HISTORY_TABLE} ADD COLUMN IF NOT EXISTS name text",
)
HISTORY_TABLE_LOCK_WAIT_SECONDS = 4
# The columns the CLI added over time (2023: statements, then name): a table made before lacks them.
ADDED_COLUMNS = ("statements", "name")
_MISSING_COLUMN_VALUES = {"statements": "NULL::text[]", "name": "NULL::text"}

# One row: whether the table exists, and its columns (an empty array when it does not).
HISTORY_TABLE_COLUMNS = f"""
SELECT t IS NOT NULL, ARRAY(SELECT attname::text FROM pg_attribute WHERE attrelid = t AND attnum > 0
                            AND NOT attisdropped ORDER BY attnum)
FROM to_regclass('{HISTORY_TABLE}') AS t"""
_SELECT_HISTORY = (f"SELECT version, {{name}} AS name, {{statements}} AS statements FROM {HISTORY_TABLE} "
                   "ORDER BY version")
# For planning: a digest of each row's statements instead of the statements (see statements_digest).
_SELECT_HISTORY_SUMMARY = """
SELECT version, {name}, CASE WHEN {statements} IS NULL THEN NULL ELSE md5(coalesce(
    (SELECT string_agg(length(s)::text || ':' || s, '' ORDER BY i)
     FROM unnest({statements}) WITH ORDINALITY AS u(s, i)),
    '')) END
FROM """ + HISTORY_TABLE + " ORDER BY version"


def missing_columns(columns: Collection[str]) -> list[str]:
    """The columns the CLI adds that a history table with ``columns`` lacks, in the order the CLI adds them."""
    return [column for column in ADDED_COLUMNS if column not in columns]


def select_history(columns: Collection[str] = ADDED_COLUMNS) -> str:
    """version, name, statements of every row; NULL for a column an older CLI's table does not have."""
    return _SELECT_HISTORY.format(**_column_values(columns))


def select_history_summary(columns: Collection[str] = ADDED_COLUMNS) -> str:
    """version, name, digest of the statements (NULL without statements) of every row."""
    return _SELECT_HISTORY_SUMMARY.format(**_column_values(columns))


def _column_values(columns: Collection[str]) -> dict[str, str]:
    return {column: column if column in columns else _MISSING_COLUMN_VALUES[column] for column in ADDED_COLUMNS}


SELECT_HISTORY_SUMMARY = select_history_summary()


def select_statements_of(versions: Collection[str]) -> str:
    """version, statements of the rows of ``versions`` (the few a digest comparison found edited)."""
    from supadeploy.rls.sqltext import text_array

    return f"SELECT version, statements FROM {HISTORY_TABLE} WHERE version = ANY({text_array(versions)})"


INSERT_HISTORY_ROW = f"INSERT INTO {HISTORY_TABLE} (version, name, statements) VALUES (%s, %s, %s)"
# The same row streamed with COPY: what a big migration sends, so that neither its statements nor one literal
# holding all of them is ever in memory (see copy_history_fields).
COPY_HISTORY_ROW = f"COPY {HISTORY_TABLE} (version, name, statements) FROM STDIN"


def statements_digest(statements: Iterable[str]) -> str:
    """md5 of the length-prefixed statements; the same value SELECT_HISTORY_SUMMARY computes server-side."""
    digest = hashlib.md5(usedforsecurity=False)
    for statement in statements:
        digest.update(f"{len(statement)}:{statement}".encode())
    return digest.hexdigest()


def copy_history_fields(version: str, name: str, statements: Iterable[str]) -> Iterator[str]:
    """The history row in COPY text format, in pieces: ``version<TAB>name<TAB>{"…","…"}<NL>``."""
    yield f"{_copy_escape(version)}\t{_copy_escape(name)}\t{{"
    for index, statement in enumerate(statements):
        element = '"' + statement.replace("\\", "\\\\").replace('"', '\\"') + '"'
        yield ("," if index else "") + _copy_escape(element)
    yield "}\n"


def _copy_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


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
