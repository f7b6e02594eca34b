"""ManagementApiTarget: a Supabase project reached only through the Management API (``POST /database/query``).

Each request is its own connection and its own implicit transaction, so nothing session-scoped survives
between requests. The guarantees come from the shape of the one request that applies a migration::

    DO: take the deploy lock as a transaction-scoped advisory lock (waiting up to deploy_lock_wait)
    the migration's lock_timeout / statement_timeout / synchronous_commit, transaction-local
    DO: abort (SQLSTATE SD001) if the version is already in the history
    INSERT the history row, exactly as the native engine writes it
    the migration's statements
    reset the session

All of it commits or none of it does. Two concurrent pushes, or a retry after a dropped connection, meet the
lock and the guard, so a migration is never applied twice. The lock key is the native engine's deploy lock,
so an API push also waits for a native push to the same database (advisory locks of either scope conflict).

``acquire_deploy_lock`` / ``release_deploy_lock`` only remember the wait: a session lock cannot span HTTP
requests. A request that fails ambiguously (sent, no answer) is never blindly resent: the history is read
again, and only a version that is still absent is sent again, the guard making that safe.

Migrations marked ``-- supadeploy:no-transaction`` run one statement per request (that is what lets
``CREATE INDEX CONCURRENTLY`` run) with the history row last; concurrent API pushes are not excluded for
them, so keep such statements idempotent.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from collections.abc import Callable, Collection, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from supadeploy.errors import LockTimeout
from supadeploy.management_api.client import ManagementApiClient, decode_rows
from supadeploy.management_api.errors import AmbiguousOutcome, ManagementApiError, QueryFailed, SqlError
from supadeploy.migrations.failure import MigrationFailed, MigrationFailure, failure_at
from supadeploy.migrations.files import Migration
from supadeploy.migrations.history import (
    ADDED_COLUMNS,
    ALREADY_APPLIED,
    CREATE_HISTORY_TABLE,
    HISTORY_TABLE,
    HISTORY_TABLE_COLUMNS,
    HISTORY_TABLE_LOCK_WAIT_SECONDS,
    NOT_IN_HISTORY,
    HistoryEdit,
    HistoryEntry,
    HistoryRow,
    already_applied_guard,
    dollar_quote,
    history_insert,
    missing_columns,
    removal_of,
    select_history,
    select_history_summary,
)
from supadeploy.migrations.splitter import split_statements
from supadeploy.targets.base import SessionLimits

if TYPE_CHECKING:
    from supadeploy.migrations.executable import ExecutableSql
from supadeploy.targets.postgres import DEPLOY_LOCK_ID, DEPLOY_LOCK_NAMESPACE, LOCK_HOLDER, describe_lock_holder

DEPLOY_LOCK_TIMEOUT = "SD003"
UNDEFINED_TABLE_STATES = {"42P01", "3F000"}
UNDEFINED_COLUMN = "42703"
LOCK_NOT_AVAILABLE = "55P03"
MAX_AMBIGUOUS_ATTEMPTS = 3
SESSION_RESET = "SET SESSION AUTHORIZATION DEFAULT;\nRESET ALL"
# Progress marks of an applying request: setval before each statement (a sequence is never rolled back), so a
# failure without a position is located without running any statement again. The high bits are the request's.
PROGRESS_SEQUENCE = "supabase_migrations.supadeploy_apply_progress"
PROGRESS_BITS = 20
PROGRESS_MASK = (1 << PROGRESS_BITS) - 1
CREATE_PROGRESS_SEQUENCE = f"CREATE SEQUENCE IF NOT EXISTS {PROGRESS_SEQUENCE}"
READ_PROGRESS = f"SELECT last_value FROM {PROGRESS_SEQUENCE}"
SET_UP_STATE = (HISTORY_TABLE_COLUMNS.replace("FROM to_regclass", ", current_setting('standard_conforming_strings'), "
                                               f"to_regclass('{PROGRESS_SEQUENCE}') IS NOT NULL\nFROM to_regclass"))

_ROW_RETURNING = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*(select|with|values|table)\b",
                            re.IGNORECASE | re.DOTALL)
_PLACEHOLDER = re.compile(r"%(.)", re.DOTALL)


class ManagementApiTarget:
    def __init__(self, client: ManagementApiClient, project_ref: str) -> None:
        self._client = client
        self.project_ref = project_ref
        self._lock_wait_seconds = 300.0
        self._standard_conforming_strings: bool | None = None
        self._progress_ready = False

    @property
    def description(self) -> str:
        return f"project {self.project_ref} via the Management API ({self._client.api_url})"

    @property
    def client(self) -> ManagementApiClient:
        return self._client

    # --- reading ---------------------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one read query (psycopg-style ``%s`` placeholders) and return its rows as tuples.

        A single SELECT / WITH / VALUES / TABLE statement is wrapped so that the database encodes the rows
        as JSON text itself: column order and duplicate column names survive, values arrive as JSON (text,
        numbers, booleans, arrays, objects; timestamps as ISO strings).
        """
        text = numbered_placeholders(sql) if params else sql
        parameters = [json_parameter(value) for value in params]
        wrapped = _wrapped_in_json(text)
        if wrapped is not None:
            try:
                result = self._client.run_query(self.project_ref, wrapped, parameters)
            except QueryFailed as failure:
                if failure.error.sqlstate != "0A000":  # a data-modifying WITH cannot be a subquery
                    raise
            else:
                rows_text = result.tuples()[0][0] if result.rows else "[]"
                return [tuple(value for _, value in row) for row in decode_rows(str(rows_text))]
        return self._client.run_query(self.project_ref, text, parameters).tuples()

    def query_rolled_back(self, script: str) -> list[tuple[Any, ...]]:
        """Run ``script`` in one transaction that is always rolled back; the rows of its last result set."""
        sql = "BEGIN;\n" + script.rstrip().rstrip(";") + "\n;\nROLLBACK"
        return self._client.run_query(self.project_ref, sql).tuples()

    def read_history(self) -> list[HistoryRow]:
        return [HistoryRow.from_record(row) for row in self._read_history_table(select_history)]

    def read_history_summary(self) -> list[HistoryRow]:
        """The history with a digest of each row's statements instead of the statements (enough to plan)."""
        return [HistoryRow.from_summary(row) for row in self._read_history_table(select_history_summary)]

    def _read_history_table(self, query: Callable[[Collection[str]], str]) -> list[tuple[Any, ...]]:
        """One request; a second one only for a table made by an older CLI (a column missing): read what exists."""
        try:
            return self.query(query(ADDED_COLUMNS))
        except QueryFailed as failure:
            if failure.error.sqlstate in UNDEFINED_TABLE_STATES:
                return []
            if failure.error.sqlstate != UNDEFINED_COLUMN:
                raise
        columns = self._history_table_columns()
        return [] if columns is None else self.query(query(columns))

    def _history_table_columns(self) -> list[str] | None:
        ((exists, columns),) = self.query(HISTORY_TABLE_COLUMNS)
        return list(columns) if exists else None

    def ensure_history_table(self) -> None:
        """Create the history table, or add the columns an older CLI's table lacks, with the CLI's own statements;
        and the progress sequence of applying requests. One read request when both are there (no DDL, so no lock
        on the table); it also reads standard_conforming_strings for the lexer."""
        ((exists, column_list, setting, progress_exists),) = self.query(SET_UP_STATE)
        self._standard_conforming_strings = str(setting) != "off"
        columns = list(column_list) if exists else None
        if columns is not None and not missing_columns(columns):
            if not progress_exists:
                self._client.run_query(self.project_ref, CREATE_PROGRESS_SEQUENCE)
            self._progress_ready = True
            return
        # Under the deploy lock, so that concurrent first pushes do not race on CREATE SCHEMA.
        lock = deploy_lock_sql(self._lock_wait_seconds)
        try:
            self._client.run_query(self.project_ref,
                                   ";\n".join((lock, *CREATE_HISTORY_TABLE, CREATE_PROGRESS_SEQUENCE)))
            self._progress_ready = True
        except QueryFailed as failure:
            if failure.error.sqlstate == DEPLOY_LOCK_TIMEOUT:
                raise self._lock_timeout() from None
            if failure.error.sqlstate == LOCK_NOT_AVAILABLE:
                raise LockTimeout(
                    f"could not add {', '.join(missing_columns(columns or []))} to {HISTORY_TABLE} on "
                    f"{self.description}: another session held a lock on it for {HISTORY_TABLE_LOCK_WAIT_SECONDS}s",
                    fix="rerun when the session reading or changing the history table has finished") from None
            what = "create" if columns is None else f"add {', '.join(missing_columns(columns))} to"
            raise ManagementApiError(
                f"cannot {what} the migration history table {HISTORY_TABLE} on {self.description}: "
                f"{failure.error.message} [SQLSTATE {failure.error.sqlstate}]",
                fix="the project's postgres role must own the history table") from None

    # --- the deploy lock: transaction-scoped, inside each applying request ------------------------------

    def acquire_deploy_lock(self, wait_seconds: float) -> None:
        self._lock_wait_seconds = wait_seconds

    def release_deploy_lock(self) -> None:
        pass

    # --- applying --------------------------------------------------------------------------------------

    def standard_conforming_strings(self) -> bool:
        """The server's setting, which decides how backslashes in '...' strings are lexed."""
        if self._standard_conforming_strings is None:
            rows = self.query("SELECT current_setting('standard_conforming_strings')")
            self._standard_conforming_strings = str(rows[0][0]) != "off"
        return self._standard_conforming_strings

    def apply_migration(self, migration: Migration, limits: SessionLimits, *, durable: bool) -> bool:
        executable = migration.executable(standard_conforming_strings=self.standard_conforming_strings())
        if not migration.transactional:
            return self._apply_statement_by_statement(migration, executable)
        self._ensure_progress_sequence()
        request = ApplyRequest.build(migration, executable, limits, durable=durable,
                                     lock_wait_seconds=self._lock_wait_seconds)
        ambiguous: list[str] = []
        while True:
            try:
                self._client.run_query(self.project_ref, request.sql, idempotent=False)
                return True
            except AmbiguousOutcome as outcome:
                ambiguous.append(outcome.reason)
            except QueryFailed as failure:
                if failure.error.sqlstate == ALREADY_APPLIED:
                    return bool(ambiguous)  # after an ambiguous attempt, that attempt is what applied it
                if failure.error.sqlstate == DEPLOY_LOCK_TIMEOUT:
                    raise self._lock_timeout() from None
                raise MigrationFailed(self._failure(migration, executable, request, failure.error)) from None
            # The request may or may not have committed: look before sending it again.
            try:
                history = self.read_history()
            except ManagementApiError as error:  # e.g. the API went away: say what is known, not only that
                raise AmbiguousOutcome(f"{migration.file_name}: {ambiguous[-1]}; then reading the history back "
                                       f"failed: {error.what}") from None
            if migration.version in {row.version for row in history}:
                return True
            if len(ambiguous) >= MAX_AMBIGUOUS_ATTEMPTS:
                raise AmbiguousOutcome(f"{migration.file_name}: {ambiguous[-1]} ({len(ambiguous)} attempts; "
                                       "it is not in the history)")

    def _lock_timeout(self) -> LockTimeout:
        try:
            holder = describe_lock_holder(self.query(LOCK_HOLDER, (DEPLOY_LOCK_NAMESPACE, DEPLOY_LOCK_ID)))
        except ManagementApiError:
            holder = "holder unknown"
        return LockTimeout(f"another deploy held the deploy lock on {self.description} for longer than "
                           f"{self._lock_wait_seconds:g}s: {holder}",
                           fix="rerun when it has finished, or raise [push] deploy_lock_wait")

    def _apply_statement_by_statement(self, migration: Migration, executable: ExecutableSql) -> bool:
        """One request per statement, exactly as written, history row last. Each request is a session and an
        implicit transaction of its own, so nothing can be prefixed to a statement (CREATE INDEX CONCURRENTLY
        must be alone): the server's own lock_timeout / statement_timeout apply."""
        if migration.version in {row.version for row in self.read_history()}:
            return False
        for index, statement in enumerate(executable.statements):
            try:
                self._client.run_query(self.project_ref, statement.text, idempotent=False)
            except QueryFailed as failure:
                position = _position_in(statement.text, failure.error)
                raise MigrationFailed(failure_at(
                    migration, statement, index, failure.error.diagnostics(position=position),
                    partially_applied=True, statements_applied=index)) from None
        insert = history_insert(HistoryEntry.of(migration))
        try:
            self._client.run_query(self.project_ref, insert, idempotent=False)
        except AmbiguousOutcome:
            if migration.version not in {row.version for row in self.read_history()}:
                self._client.run_query(self.project_ref, insert, idempotent=False)
        return True

    def _ensure_progress_sequence(self) -> None:
        if not self._progress_ready:
            self._client.run_query(self.project_ref, CREATE_PROGRESS_SEQUENCE)
            self._progress_ready = True

    def _failure(self, migration: Migration, executable: ExecutableSql, request: ApplyRequest,
                 error: SqlError) -> MigrationFailure:
        located = request.locate(error)
        if located is None:  # a runtime error has no position: the progress marks say which statement ran last
            index, position = self._statement_reached(request), None
        else:
            index, position = located
        if index < 0:  # the error is in supadeploy's own part of the request
            raise ManagementApiError(f"applying {migration.file_name} failed before its statements ran: "
                                     f"{error.message} [SQLSTATE {error.sqlstate}]")
        statement = executable.statements[index] if index < len(executable.statements) else None
        return failure_at(migration, statement, index, error.diagnostics(position=position))

    def _statement_reached(self, request: ApplyRequest) -> int:
        """The statement that was running when the request failed, read from the progress sequence (setval is
        never rolled back); the migration's statements are never run again to find it."""
        try:
            rows = self.query(READ_PROGRESS)
        except ManagementApiError:
            return 0
        mark = int(rows[0][0]) if rows else 0
        if mark >> PROGRESS_BITS != request.nonce:
            return 0  # another request moved the sequence since: the first statement is the best guess
        return max((mark & PROGRESS_MASK) - 1, 0)

    # --- writing the history outside a push (repair, baseline, reconcile, rollback) -------------------------

    def edit_history(self, edit: HistoryEdit) -> int:
        """One request (one transaction) under the deploy lock; the number of rows deleted."""
        try:
            result = self._client.run_query(
                self.project_ref, f"{deploy_lock_sql(self._lock_wait_seconds)};\n{edit.script()}", idempotent=False)
        except QueryFailed as failure:
            if failure.error.sqlstate == DEPLOY_LOCK_TIMEOUT:
                raise self._lock_timeout() from None
            raise ManagementApiError(f"cannot change the migration history on {self.description}: "
                                     f"{failure.error.message} [SQLSTATE {failure.error.sqlstate}]",
                                     fix="the project's postgres role must own the history table; nothing was "
                                         "changed") from None
        rows = result.tuples()
        return int(rows[0][0]) if rows else 0

    def undo_migration(self, version: str, down: Migration, executable: ExecutableSql,
                       limits: SessionLimits) -> None:
        """One request: lock, limits, the removal of the row (aborting when it is gone), the down statements."""
        self._ensure_progress_sequence()
        request = ApplyRequest.around(executable, removal_of(version), limits, durable=True,
                                      lock_wait_seconds=self._lock_wait_seconds)
        try:
            self._client.run_query(self.project_ref, request.sql, idempotent=False)
        except QueryFailed as failure:
            if failure.error.sqlstate == NOT_IN_HISTORY:
                raise ManagementApiError(f"{version} is no longer in the history (another deploy changed it "
                                         "meanwhile); nothing of it was rolled back",
                                         fix="run `supadeploy migration list` and retry") from None
            if failure.error.sqlstate == DEPLOY_LOCK_TIMEOUT:
                raise self._lock_timeout() from None
            raise MigrationFailed(self._failure(down, executable, request, failure.error)) from None

    def close(self) -> None:
        self._client.close()


class ApplyRequest:
    """The SQL of the one request that applies a transactional migration, and where each statement sits in it."""

    def __init__(self, sql: str, statement_offsets: list[int], statement_lengths: list[int], nonce: int) -> None:
        self.sql = sql
        self.statement_offsets = statement_offsets
        self.statement_lengths = statement_lengths
        self.nonce = nonce

    @classmethod
    def build(cls, migration: Migration, executable: ExecutableSql, limits: SessionLimits, *, durable: bool,
              lock_wait_seconds: float) -> ApplyRequest:
        """Lock, limits, the already-applied guard and the history row, then the migration's statements."""
        return cls.around(executable, [already_applied_guard(migration.version),
                                       history_insert(HistoryEntry.of(migration))],
                          limits, durable=durable, lock_wait_seconds=lock_wait_seconds)

    @classmethod
    def around(cls, executable: ExecutableSql, history: list[str], limits: SessionLimits, *, durable: bool,
               lock_wait_seconds: float) -> ApplyRequest:
        """Lock, limits, the ``history`` statements, then those of ``executable`` with their progress marks."""
        nonce = secrets.randbits(30) | 1
        limits_sql = _limits_sql(limits, durable=durable)
        header = ";\n".join([deploy_lock_sql(lock_wait_seconds), limits_sql, *history]) + ";\n"
        parts = [header]
        length = len(header)
        offsets: list[int] = []
        lengths: list[int] = []
        for index, statement in enumerate(executable.statements):
            mark = f"SELECT setval('{PROGRESS_SEQUENCE}', {(nonce << PROGRESS_BITS) + index + 1});\n"
            text = _terminated(statement.text)
            offsets.append(length + len(mark))
            lengths.append(len(statement.text))
            parts += [mark, text]
            length += len(mark) + len(text)
            if index in executable.limits_reset_after:
                parts.append(f"{limits_sql};\n")
                length += len(parts[-1])
        parts.append(SESSION_RESET + ";\n" + f"SELECT set_config('synchronous_commit', '{'on' if durable else 'off'}', "
                     "true)")
        return cls("".join(parts), offsets, lengths, nonce)

    def locate(self, error: SqlError) -> tuple[int, int] | None:
        """(statement index, 1-based position in that statement) of an error, or None without a position.

        Index -1 means the error is in supadeploy's own part of the request.
        """
        if error.line is None:
            return None
        lines = self.sql.split("\n")
        if error.line > len(lines):
            return None
        offset = sum(len(line) + 1 for line in lines[:error.line - 1]) + (error.column or 1) - 1
        for index, (start, length) in enumerate(zip(self.statement_offsets, self.statement_lengths, strict=True)):
            if start <= offset < start + max(length, 1):
                return index, offset - start + 1
        return -1, 0


def _terminated(text: str) -> str:
    """A statement as the file has it, ended so that the next one cannot run into it (a last statement may
    end in a -- comment and no ';')."""
    return text + "\n" if text.endswith(";") else text + "\n;\n"


def deploy_lock_sql(wait_seconds: float) -> str:
    """Take the deploy lock for the rest of the request's transaction, waiting at most ``wait_seconds``."""
    wait_ms = max(1, round(wait_seconds * 1000))
    return (f"DO $sdlock$ BEGIN\n"
            f"  IF NOT pg_try_advisory_xact_lock({DEPLOY_LOCK_NAMESPACE}, {DEPLOY_LOCK_ID}) THEN\n"
            f"    PERFORM set_config('lock_timeout', '{wait_ms}ms', true);\n"
            f"    BEGIN PERFORM pg_advisory_xact_lock({DEPLOY_LOCK_NAMESPACE}, {DEPLOY_LOCK_ID});\n"
            f"    EXCEPTION WHEN lock_not_available THEN RAISE EXCEPTION USING ERRCODE = '{DEPLOY_LOCK_TIMEOUT}',\n"
            f"      MESSAGE = 'supadeploy: another deploy holds the deploy lock'; END;\n"
            f"    PERFORM set_config('lock_timeout', '0', true);\n"
            f"  END IF;\nEND $sdlock$")


def numbered_placeholders(sql: str) -> str:
    """psycopg's ``%s`` placeholders as the API's ``$1, $2, ...`` (``%%`` is a literal ``%``)."""
    counter = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal counter
        if match.group(1) == "%":
            return "%"
        if match.group(1) == "s":
            counter += 1
            return f"${counter}"
        raise ValueError(f"unsupported placeholder %{match.group(1)} (use %s)")

    return _PLACEHOLDER.sub(replace, sql)


def json_parameter(value: Any) -> Any:
    """A query parameter as JSON (the API passes parameters as text of unknown type)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [json_parameter(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_parameter(item) for key, item in value.items()}
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return "\\x" + bytes(value).hex()
    return str(value)


def _wrapped_in_json(sql: str) -> str | None:
    statements = split_statements(sql)
    if len(statements) != 1 or not _ROW_RETURNING.match(statements[0].text):
        return None
    return ("SELECT coalesce(json_agg(supadeploy_row), '[]')::text AS supadeploy_rows FROM (\n"
            f"{statements[0].text}\n) AS supadeploy_row")


def _limits_sql(limits: SessionLimits, *, durable: bool) -> str:
    return (f"SELECT set_config('lock_timeout', {dollar_quote(limits.lock_timeout)}, true), "
            f"set_config('statement_timeout', {dollar_quote(limits.statement_timeout)}, true), "
            f"set_config('synchronous_commit', '{'on' if durable else 'off'}', true)")


def _position_in(text: str, error: SqlError) -> int | None:
    """1-based position in ``text`` (sent alone) of an error reported as line and column."""
    if error.line is None:
        return None
    lines = text.split("\n")
    if error.line > len(lines):
        return None
    return sum(len(line) + 1 for line in lines[:error.line - 1]) + (error.column or 1)

