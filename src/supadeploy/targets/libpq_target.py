"""A PostgresTarget whose read-only text reads go over libpq directly, several at once, without psycopg.

verify reads the whole catalog in two queries that take about the same time on the server (the policies,
whose ``pg_get_expr`` builds every table's relation cache entry, and everything else). Run on two sessions
at once they take half the time, and importing psycopg (~0.1 s) is not needed at all when nothing else is
asked of the database. ``read_texts`` does that over targets.libpq_reader, one thread and one session per
statement (ctypes releases the GIL while libpq waits). Every other call (probes, the rolled-back
evaluations, the Target protocol's writes) goes to a PostgresTarget opened on first use.

A failed or lost connection is reported as PostgresTarget words it (``connection_failed``,
``lost_connection``); a statement that fails over libpq, or a machine without a loadable libpq, is run again
by the PostgresTarget, whose errors are the ones users know. Each statement sees its own snapshot: a catalog
changed between them may show, e.g., a policy of a table that is not listed, which verify's lints skip.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from supadeploy.redact import redact_url
from supadeploy.targets.base import SessionLimits
from supadeploy.targets.connection_url import connection_failed, validate_database_url
from supadeploy.targets.libpq_reader import LibpqError, ReadOnlySession, load_libpq

if TYPE_CHECKING:  # annotations only: a read-only target never loads the migration modules
    from supadeploy.migrations.executable import ExecutableSql
    from supadeploy.migrations.files import Migration
    from supadeploy.migrations.history import HistoryEdit, HistoryRow
    from supadeploy.targets.postgres import PostgresTarget


class LibpqReadTarget:
    """The Target protocol, with ``read_texts`` over libpq (see the module's docstring)."""

    def __init__(self, url: str, *, application_name: str = "supadeploy", connect_timeout: int = 10) -> None:
        validate_database_url(url)
        self._url = url
        self._application_name = application_name
        self._connect_timeout = connect_timeout
        self._full_target: PostgresTarget | None = None
        self._full_target_lock = threading.Lock()

    @property
    def description(self) -> str:
        return redact_url(self._url)

    def read_texts(self, statements: Sequence[str]) -> list[str | None]:
        """The value of each statement (one row of one column, as text), all run at once on their own sessions."""
        try:
            load_libpq()
        except LibpqError:
            return [self._read_one_with_psycopg(statement) for statement in statements]
        values: list[str | None] = [None] * len(statements)
        errors: list[BaseException] = []

        def read(index: int) -> None:
            try:
                values[index] = self._read_one(statements[index])
            except BaseException as error:  # re-raised on the calling thread
                errors.append(error)

        threads = [threading.Thread(target=read, args=(index,), name=f"supadeploy-read-{index}", daemon=True)
                   for index in range(1, len(statements))]
        for thread in threads:
            thread.start()
        read(0)
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return values

    def _read_one(self, statement: str) -> str | None:
        parameters = {"dbname": self._url, "application_name": self._application_name, "client_encoding": "UTF8"}
        if "connect_timeout" not in self._url:
            parameters["connect_timeout"] = str(self._connect_timeout)
        try:
            session = ReadOnlySession(parameters)
        except LibpqError as error:
            raise connection_failed(self._url, str(error)) from None
        with session:
            try:
                rows = session.rows(statement)
            except LibpqError as error:
                if not session.connected():  # not run again: a lost connection is reported as one
                    raise self._full().lost_connection(error) from None
                rows = None
        if rows is None:  # the statement failed: PostgresTarget runs it again and reports it as usual
            return self._read_one_with_psycopg(statement)
        return rows[0][0] if rows and rows[0] else None

    def _read_one_with_psycopg(self, statement: str) -> str | None:
        rows = self._full().query(statement)
        return str(rows[0][0]) if rows and rows[0] and rows[0][0] is not None else None

    def _full(self) -> PostgresTarget:
        with self._full_target_lock:  # read_texts' threads may both fall back
            if self._full_target is None:
                from supadeploy.targets.postgres import PostgresTarget

                self._full_target = PostgresTarget(self._url, application_name=self._application_name,
                                                   connect_timeout=self._connect_timeout)
            return self._full_target

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._full().query(sql, params)

    def query_rolled_back(self, script: str) -> list[tuple[Any, ...]]:
        return self._full().query_rolled_back(script)

    def read_history(self) -> list[HistoryRow]:
        return self._full().read_history()

    def ensure_history_table(self) -> None:
        self._full().ensure_history_table()

    def acquire_deploy_lock(self, wait_seconds: float) -> None:
        self._full().acquire_deploy_lock(wait_seconds)

    def release_deploy_lock(self) -> None:
        self._full().release_deploy_lock()

    def apply_migration(self, migration: Migration, limits: SessionLimits, *, durable: bool) -> bool:
        return self._full().apply_migration(migration, limits, durable=durable)

    def edit_history(self, edit: HistoryEdit) -> int:
        return self._full().edit_history(edit)

    def undo_migration(self, version: str, down: Migration, executable: ExecutableSql,
                       limits: SessionLimits) -> None:
        self._full().undo_migration(version, down, executable, limits)

    def standard_conforming_strings(self) -> bool:
        return self._full().standard_conforming_strings()

    def close(self) -> None:
        if self._full_target is not None:
            self._full_target.close()
            self._full_target = None
