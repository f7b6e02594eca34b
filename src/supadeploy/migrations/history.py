"""The migration history table, kept exactly where and how the Supabase CLI keeps it.

This module holds every statement that creates, reads or writes ``supabase_migrations.schema_migrations``
(the deploy log's are in :mod:`supadeploy.migrations.deploy_log_sql`); the targets run them. Statements come
in two forms: with ``%s`` parameters (a psycopg connection, one statement at a time) and with every value
dollar-quoted (one multi-statement request over the Management API).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

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
# `supabase migration repair --status applied`: the row as the CLI writes it, replacing one already there.
UPSERT_HISTORY_ROW = (
    f"INSERT INTO {HISTORY_TABLE} (version, name, statements) VALUES (%s, %s, %s) "
    "ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, statements = EXCLUDED.statements"
)
INSERT_MISSING_HISTORY_ROW = (
    f"INSERT INTO {HISTORY_TABLE} (version, name, statements) VALUES (%s, %s, %s) ON CONFLICT (version) DO NOTHING"
)
REWRITE_HISTORY_ROW = f"UPDATE {HISTORY_TABLE} SET version = %s, name = %s, statements = %s WHERE version = %s"
DELETE_HISTORY_ROWS = f"DELETE FROM {HISTORY_TABLE} WHERE version = ANY(%s)"
DELETE_HISTORY_ROW = f"DELETE FROM {HISTORY_TABLE} WHERE version = %s"
DELETE_WHOLE_HISTORY = f"DELETE FROM {HISTORY_TABLE}"
# For the quick "nothing to push" check (supadeploy.uptodate): the table exists with every column the CLI adds.
HISTORY_TABLE_UP_TO_DATE = (
    f"SELECT to_regclass('{HISTORY_TABLE}') IS NOT NULL AND (SELECT count(*) FROM pg_attribute "
    f"WHERE attrelid = to_regclass('{HISTORY_TABLE}') AND attname = ANY('{{{','.join(ADDED_COLUMNS)}}}') "
    f"AND NOT attisdropped) = {len(ADDED_COLUMNS)}"
)
# Raised by the guards of the Management API's requests (a DO block cannot return a row).
ALREADY_APPLIED = "SD001"
NOT_IN_HISTORY = "SD004"
ROWS_DELETED_SETTING = "supadeploy.history_rows_deleted"


@dataclass(frozen=True)
class HistoryEntry:
    """One row to write: version, name and statements as the Supabase CLI records them."""

    version: str
    name: str
    statements: tuple[str, ...]

    @classmethod
    def of(cls, migration: LocalMigration) -> HistoryEntry:
        return cls(migration.version, migration.name, tuple(migration.statement_texts))


@dataclass(frozen=True)
class HistoryEdit:
    """Changes to the history, made in one transaction, in this order: delete, rewrite, upsert, insert."""

    delete_all: bool = False
    delete: tuple[str, ...] = ()
    rewrite: tuple[tuple[str, HistoryEntry], ...] = ()
    """(old version, the row it becomes): a migration applied under another version."""
    upsert: tuple[HistoryEntry, ...] = ()
    """Written, replacing a row of the same version (repair --status applied)."""
    insert_missing: tuple[HistoryEntry, ...] = ()
    """Written unless the version is already there (baseline)."""

    def statements(self) -> list[tuple[str, tuple[Any, ...]]]:
        """(SQL with %s placeholders, parameters) of each statement, in order."""
        statements: list[tuple[str, tuple[Any, ...]]] = []
        if self.delete_all:
            statements.append((DELETE_WHOLE_HISTORY, ()))
        elif self.delete:
            statements.append((DELETE_HISTORY_ROWS, (list(self.delete),)))
        statements += [(REWRITE_HISTORY_ROW, (new.version, new.name, list(new.statements), old))
                       for old, new in self.rewrite]
        statements += [(UPSERT_HISTORY_ROW, _values(entry)) for entry in self.upsert]
        statements += [(INSERT_MISSING_HISTORY_ROW, _values(entry)) for entry in self.insert_missing]
        return statements

    def script(self) -> str:
        """The same statements with every value dollar-quoted, ``;``-separated, for one request of one
        transaction (the Management API); its last statement returns the number of rows deleted."""
        statements = [_literal_sql(sql, params) for sql, params in self.statements()]
        if self.delete_all or self.delete:  # a DO block cannot return the count: it leaves it in a setting
            statements[0] = (f"DO $sddelete$ DECLARE deleted bigint; BEGIN {statements[0]}; "
                             "GET DIAGNOSTICS deleted = ROW_COUNT; "
                             f"PERFORM set_config('{ROWS_DELETED_SETTING}', deleted::text, true); END $sddelete$")
        return ";\n".join([*statements, f"SELECT coalesce(current_setting('{ROWS_DELETED_SETTING}', true), '0')"])

    @property
    def empty(self) -> bool:
        return not self.statements()


@dataclass(frozen=True)
class HistoryEditResult:
    rows_deleted: int = 0
    rows_written: list[str] = field(default_factory=list)


def _values(entry: HistoryEntry) -> tuple[Any, ...]:
    return entry.version, entry.name, list(entry.statements)


def _literal_sql(sql: str, params: Sequence[Any]) -> str:
    values = iter(params)
    return "".join(part if index == 0 else _literal(next(values)) + part
                   for index, part in enumerate(sql.split("%s")))


def _literal(value: Any) -> str:
    if isinstance(value, list):
        return "ARRAY[" + ", ".join(dollar_quote(str(item)) for item in value) + "]::text[]"
    return dollar_quote(str(value))


def dollar_quote(text: str) -> str:
    """``$tag$text$tag$`` with a tag that cannot occur in ``text``: safe whatever the server's settings."""
    tag = "sd"
    number = 0
    while f"${tag}" in text:
        number += 1
        tag = f"sd{number}"
    return f"${tag}${text}${tag}$"


def history_insert(entry: HistoryEntry) -> str:
    """The history row, as the native engine and the Supabase CLI write it, with every value dollar-quoted."""
    return _literal_sql(INSERT_HISTORY_ROW, _values(entry))


def already_applied_guard(version: str) -> str:
    """A DO block that aborts the request (SQLSTATE SD001) when ``version`` is already in the history."""
    return (f"DO $sdguard$ BEGIN\n"
            f"  IF EXISTS (SELECT 1 FROM {HISTORY_TABLE} WHERE version = '{version}') THEN\n"
            f"    RAISE EXCEPTION USING ERRCODE = '{ALREADY_APPLIED}',\n"
            f"      MESSAGE = 'supadeploy: migration {version} is already in the history';\n"
            f"  END IF;\nEND $sdguard$")


def removal_of(version: str) -> list[str]:
    """Delete ``version``'s row, aborting the request (SQLSTATE SD004) when it is not there (rollback)."""
    return [f"DO $sdguard$ BEGIN\n"
            f"  IF NOT EXISTS (SELECT 1 FROM {HISTORY_TABLE} WHERE version = '{version}') THEN\n"
            f"    RAISE EXCEPTION USING ERRCODE = '{NOT_IN_HISTORY}',\n"
            f"      MESSAGE = 'supadeploy: migration {version} is no longer in the history';\n"
            f"  END IF;\nEND $sdguard$",
            _literal_sql(DELETE_HISTORY_ROW, (version,))]


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


class LocalMigration(Protocol):
    """What a history row is written from (migrations.files.Migration)."""

    @property
    def version(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def statement_texts(self) -> list[str]: ...


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
