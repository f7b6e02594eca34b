"""PostgresTarget: a direct psycopg connection, with the guarantees the Supabase CLI lacks.

Each migration runs in one transaction together with its history row; the deploy holds a session
advisory lock for its whole run; session state is reset between migrations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import psycopg
from psycopg import errors as pg_errors

from supadeploy.errors import ConnectionFailed, DatabaseError, LockTimeout, SupadeployError
from supadeploy.migrations.files import Migration
from supadeploy.migrations.history import (
    CREATE_HISTORY_TABLE,
    HISTORY_TABLE,
    HISTORY_TABLE_COLUMNS,
    HISTORY_TABLE_LOCK_WAIT_SECONDS,
    HistoryEdit,
    HistoryRow,
    missing_columns,
    select_history,
    select_history_summary,
)
from supadeploy.redact import redact_text, redact_url, url_secrets
from supadeploy.sql_diagnostics import SqlDiagnostics
from supadeploy.targets.base import SessionLimits
from supadeploy.targets.cancel_scope import cancelled_by_scope, current_scope
from supadeploy.targets.connection_url import connection_failed, validate_database_url
from supadeploy.targets.postgres_errors import database_error

if TYPE_CHECKING:
    from supadeploy.migrations.executable import ExecutableSql

# pg_advisory_lock(int4, int4): ('supa' as an int, 1 = the deploy lock). Visible in pg_locks as
# classid = DEPLOY_LOCK_NAMESPACE, objid = DEPLOY_LOCK_ID, objsubid = 2.
DEPLOY_LOCK_NAMESPACE = 0x73757061
DEPLOY_LOCK_ID = 1

LOCK_HOLDER = """
SELECT a.pid, a.application_name, a.usename, host(a.client_addr), a.backend_start, a.state
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s AND l.objsubid = 2
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


def describe_lock_holder(rows: Sequence[Sequence[Any]]) -> str:
    """Who holds the deploy lock, from the rows of LOCK_HOLDER (``started`` a datetime, or ISO text over HTTP)."""
    if not rows:
        return "holder unknown (it may have just finished)"
    pid, application, user, client, started, state = rows[0]
    if isinstance(started, str):
        try:
            started = dt.datetime.fromisoformat(started)
        except ValueError:  # Python 3.10 reads only 3 or 6 fractional digits
            started = dt.datetime.fromisoformat(started[:19]).replace(tzinfo=None)
    when = f"{started:%Y-%m-%d %H:%M:%S %Z}".strip()
    return (f"'{application or '?'}' (pid {pid}, user {user}, from {client or 'local socket'}, "
            f"connected {when}, {state})")


class PostgresTarget:
    def __init__(self, url: str, *, application_name: str = "supadeploy", connect_timeout: int = 10) -> None:
        validate_database_url(url)
        self._url = url
        self._application_name = application_name
        self._connect_timeout = connect_timeout
        self._connection: psycopg.Connection[tuple[Any, ...]] | None = None
        self._standard_conforming_strings: bool | None = None

    @property
    def description(self) -> str:
        return redact_url(self._url)

    @property
    def connection_url(self) -> str:
        """The URL with its password, for tools that need it (pg_dump). Never print it."""
        return self._url

    def _secrets(self) -> tuple[str, ...]:
        return url_secrets(self._url)

    @property
    def connection(self) -> psycopg.Connection[tuple[Any, ...]]:
        if self._connection is None or self._connection.closed:
            self._connection = self._connect()
        return self._connection

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        options: dict[str, Any] = {"application_name": self._application_name}
        if "connect_timeout" not in self._url:
            options["connect_timeout"] = str(self._connect_timeout)
        try:
            connection: psycopg.Connection[tuple[Any, ...]] = psycopg.connect(
                self._url, autocommit=True, prepare_threshold=None, **options)
        except psycopg.Error as exc:
            raise connection_failed(self._url, str(exc)) from None
        scope = current_scope()
        if scope is not None:  # a fleet member's push: interruptible from the main thread
            scope.register(connection)
        return connection

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one statement; a refused statement is a DatabaseError, a lost connection ConnectionFailed."""
        connection = self.connection
        try:
            cursor = connection.execute(sql, params or None)
            return cursor.fetchall() if cursor.description else []
        except psycopg.Error as exc:
            if connection.closed or connection.broken:
                raise self.lost_connection(exc) from None
            raise self.database_error(exc) from None

    def query_rolled_back(self, script: str) -> list[tuple[Any, ...]]:
        connection = self.connection
        rows: list[tuple[Any, ...]] = []
        try:
            with connection.transaction() as transaction:
                cursor = connection.execute(script)
                while True:
                    if cursor.description is not None:
                        rows = cursor.fetchall()
                    if not cursor.nextset():
                        break
                raise psycopg.Rollback(transaction)
        except psycopg.OperationalError as exc:
            raise self.lost_connection(exc) from None
        except psycopg.Error as exc:
            if connection.closed or connection.broken:
                raise self.lost_connection(exc) from None
            raise self.database_error(exc) from None
        return rows

    def database_error(self, exc: psycopg.Error, doing: str | None = None) -> DatabaseError:
        """What the database refused, as one message naming this database and the role (never the password)."""
        diagnostics = SqlDiagnostics.of_psycopg(exc)
        secrets = self._secrets()
        redacted = SqlDiagnostics(
            sqlstate=diagnostics.sqlstate, message=redact_text(diagnostics.message, secrets),
            detail=redact_text(diagnostics.detail, secrets) if diagnostics.detail else None,
            hint=diagnostics.hint, context=diagnostics.context, position=diagnostics.position)
        return database_error(redacted, database=self.description, role=self._role(), doing=doing)

    def _role(self) -> str | None:
        connection = self._connection
        if connection is not None and not connection.closed:
            return connection.info.user
        return urlsplit(self._url).username

    def lost_connection(self, exc: Exception, migration: Migration | None = None) -> SupadeployError:
        reason = redact_text((str(exc).strip().splitlines() or [type(exc).__name__])[0], self._secrets())
        if migration is None:
            return ConnectionFailed(
                f"lost the connection to {self.description}: {reason}",
                fix="each migration is applied in its own transaction, so a rerun is safe and continues where this "
                    "stopped",
            )
        if not migration.transactional:
            return ConnectionFailed(
                f"lost the connection to {self.description} while applying {migration.file_name}: {reason}",
                fix=f"{migration.file_name} runs outside a transaction (supadeploy:no-transaction): some of its "
                    "statements may have run, its history row was not written; rerun the push (it runs the file "
                    "again, so its statements must be idempotent)",
            )
        return ConnectionFailed(
            f"lost the connection to {self.description} while applying {migration.file_name}: {reason}",
            fix=f"{migration.file_name} was applied completely, with its history row, or not at all; rerun the push: "
                "it reads the history and safely continues where this stopped",
        )

    def read_history(self) -> list[HistoryRow]:
        columns = self._history_table_columns()
        if columns is None:
            return []
        return [HistoryRow.from_record(row) for row in self._read_history_table(select_history(columns))]

    def read_history_summary(self) -> list[HistoryRow]:
        """History rows with a digest of their statements instead of the statements: cheaper to plan with."""
        columns = self._history_table_columns()
        if columns is None:
            return []
        return [HistoryRow.from_summary(row) for row in self._read_history_table(select_history_summary(columns))]

    def _history_table_columns(self) -> list[str] | None:
        """The history table's columns (one made by an older CLI lacks some), None when there is no table."""
        ((exists, columns),) = self._read_history_table(HISTORY_TABLE_COLUMNS)
        return list(columns) if exists else None

    def _read_history_table(self, query: str) -> list[tuple[Any, ...]]:
        try:
            return self.query(query)
        except DatabaseError as error:
            raise database_error(error.diagnostics, database=self.description, role=self._role(),
                                 doing=f"reading the migration history ({HISTORY_TABLE})") from None

    def ensure_history_table(self) -> None:
        """Create the history table, or add the columns an older CLI's table lacks, with the CLI's own statements.
        One catalog query when the table is up to date."""
        columns = self._history_table_columns()
        if columns is not None and not missing_columns(columns):
            return
        connection = self.connection
        try:
            with connection.transaction():
                for statement in CREATE_HISTORY_TABLE:
                    connection.execute(statement)
        except pg_errors.LockNotAvailable:
            raise LockTimeout(
                f"could not add {', '.join(missing_columns(columns or []))} to {HISTORY_TABLE} on {self.description}:"
                f" another session held a lock on it for {HISTORY_TABLE_LOCK_WAIT_SECONDS}s",
                fix="rerun when the session reading or changing the history table has finished") from None
        except psycopg.Error as exc:
            if connection.closed or connection.broken:
                raise self.lost_connection(exc) from None
            what = "create" if columns is None else f"add {', '.join(missing_columns(columns))} to"
            diagnostics = SqlDiagnostics.of_psycopg(exc)
            raise DatabaseError(
                f"cannot {what} the migration history table {HISTORY_TABLE} on {self.description}: "
                f"{self._first_line(exc)}", diagnostics,
                fix="run the push once as the table's owner (e.g. postgres), or grant this role the right to change "
                    "it") from None

    def _first_line(self, exc: Exception) -> str:
        return redact_text((str(exc).strip().splitlines() or [type(exc).__name__])[0], self._secrets())

    def acquire_deploy_lock(self, wait_seconds: float) -> None:
        (got,) = self.query("SELECT pg_try_advisory_lock(%s, %s)", (DEPLOY_LOCK_NAMESPACE, DEPLOY_LOCK_ID))[0]
        if got:
            return
        timeout_ms = max(1, round(wait_seconds * 1000))
        connection = self.connection
        try:
            with connection.transaction():
                connection.execute("SELECT set_config('lock_timeout', %s, true)", (f"{timeout_ms}ms",))
                connection.execute("SELECT pg_advisory_lock(%s, %s)", (DEPLOY_LOCK_NAMESPACE, DEPLOY_LOCK_ID))
        except pg_errors.LockNotAvailable:
            raise LockTimeout(
                f"another deploy holds the deploy lock on {self.description}: {self.describe_lock_holder()}",
                fix=f"waited {wait_seconds:g}s; rerun when it has finished, or raise [push] deploy_lock_wait",
            ) from None
        except psycopg.Error as exc:
            if cancelled_by_scope(exc):
                raise KeyboardInterrupt from None
            if connection.closed or connection.broken:
                raise self.lost_connection(exc) from None
            raise self.database_error(exc, "taking the deploy lock") from None

    def describe_lock_holder(self) -> str:
        return describe_lock_holder(self.query(LOCK_HOLDER, (DEPLOY_LOCK_NAMESPACE, DEPLOY_LOCK_ID)))

    def release_deploy_lock(self) -> None:
        if self._connection is not None and not self._connection.closed:
            self.query("SELECT pg_advisory_unlock(%s, %s)", (DEPLOY_LOCK_NAMESPACE, DEPLOY_LOCK_ID))

    def standard_conforming_strings(self) -> bool:
        """The server's setting, which decides how backslashes in '...' strings are lexed."""
        if self._standard_conforming_strings is None:  # the server reports it on connecting (ParameterStatus)
            reported = self.connection.info.parameter_status("standard_conforming_strings")
            self._standard_conforming_strings = reported != "off"
        return self._standard_conforming_strings

    @property
    def open_connection(self) -> psycopg.Connection[tuple[Any, ...]] | None:
        """The current connection as it is (possibly closed or broken), without reconnecting."""
        return self._connection

    def apply_migration(self, migration: Migration, limits: SessionLimits, *, durable: bool) -> bool:
        from supadeploy.targets import postgres_apply

        executable = migration.executable(standard_conforming_strings=self.standard_conforming_strings())
        if migration.transactional:
            return postgres_apply.apply_in_transaction(self, migration, executable, limits, durable=durable)
        already = migration.version in {row.version for row in self.read_history()}
        return postgres_apply.apply_without_transaction(self, migration, executable, limits,
                                                        already_applied=already)

    def edit_history(self, edit: HistoryEdit) -> int:
        from supadeploy.targets.postgres_history import edit_history

        return edit_history(self, edit)

    def undo_migration(self, version: str, down: Migration, executable: ExecutableSql,
                       limits: SessionLimits) -> None:
        from supadeploy.targets.postgres_history import undo_migration

        undo_migration(self, version, down, executable, limits)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
