"""Applying one migration over a psycopg connection: each statement sent once, failures located exactly.

A transactional migration is one pipeline (one round trip): its BEGIN (the file's own when the file is
wrapped in one), the limits, the history row, every statement as the file has it, the COMMIT and the session
reset. The server answers each statement separately, so the failing one is the first without a result: no
statement is ever executed a second time to find it. A ``-- supadeploy:no-transaction`` migration runs its
statements one by one, then resets the session and writes its history row.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.pq import TransactionStatus

from supadeploy.errors import DatabaseError, SupadeployError
from supadeploy.migrations.failure import LOCK_STATES, MigrationFailed, failure_at
from supadeploy.migrations.files import LARGE_FILE_CHARS
from supadeploy.migrations.history import COPY_HISTORY_ROW, HISTORY_SCHEMA, INSERT_HISTORY_ROW, copy_history_fields
from supadeploy.sql_diagnostics import SqlDiagnostics
from supadeploy.targets.cancel_scope import cancelled_by_scope

if TYPE_CHECKING:
    from supadeploy.migrations.executable import ExecutableSql
    from supadeploy.migrations.files import Migration
    from supadeploy.migrations.lexer import LexedStatement
    from supadeploy.targets.base import SessionLimits
    from supadeploy.targets.postgres import PostgresTarget

RESET_SESSION_STATEMENTS = ("SET SESSION AUTHORIZATION DEFAULT", "RESET ALL", "CLOSE ALL", "UNLISTEN *",
                            "DISCARD PLANS", "DISCARD SEQUENCES", "DISCARD TEMP")
RESET_SESSION = "; ".join(RESET_SESSION_STATEMENTS)
PIPELINE_BATCH = 2000
LOCK_HOLDERS = """
SELECT a.pid, coalesce(nullif(a.application_name, ''), '?'), a.usename, a.state, l.mode, l.relation::regclass::text
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.granted AND l.locktype = 'relation' AND l.pid <> pg_backend_pid()
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.relation IN (SELECT to_regclass(name) FROM unnest(%s::text[]) AS name)
ORDER BY a.backend_start LIMIT 3
"""

# psycopg logs "error ignored terminating <Pipeline>" when a pipeline ends after an error; the error itself is
# what this module reports.
logging.getLogger("psycopg").addHandler(logging.NullHandler())


class StatementsInterrupted(KeyboardInterrupt):
    """Ctrl-C / SIGTERM during a no-transaction migration: how many of its statements had completed."""

    def __init__(self, completed: int, total: int) -> None:
        super().__init__(completed, total)
        self.completed = completed
        self.total = total


@dataclass(frozen=True)
class _Step:
    sql: str
    params: tuple[Any, ...] | None = None
    statement: int | None = None
    """Index in ExecutableSql.statements; None for supadeploy's own steps."""
    role: str = "statement"


def apply_in_transaction(target: PostgresTarget, migration: Migration, executable: ExecutableSql,
                         limits: SessionLimits, *, durable: bool) -> bool:
    """Apply ``migration`` and its history row in one transaction; False if its version was already there."""
    connection = target.connection
    limits_sql = limits_statement(limits, local=True, durable=durable)
    opening = [_Step(executable.begin.text if executable.begin else "BEGIN", role="begin"),
               _Step(limits_sql, role="limits")]
    large = len(migration.sql) >= LARGE_FILE_CHARS
    try:
        if large:  # the history row is streamed by COPY before the statements: never one huge parameter
            _run_one_by_one(connection, opening)
            _copy_history_row(connection, migration)
            _run_pipelined(connection, _statement_steps(executable, limits_sql))
        else:
            _run_pipelined(connection, [*opening, _Step(*history_row(migration), role="history"),
                                        *_statement_steps(executable, limits_sql)])
    except _StepFailed as failure:
        exc, failed = failure.error, failure.step
        _roll_back(target, exc, migration)
        if cancelled_by_scope(exc):
            raise KeyboardInterrupt from None
        if failed.role == "history" and _is_history_conflict(exc):
            return False  # another deploy applied this version meanwhile
        if failed.role == "reset":  # committed; only the session reset failed
            target.close()
            return True
        raise _failed(target, migration, executable, failed, exc) from None
    return True


class _StepFailed(Exception):
    def __init__(self, step: _Step, error: psycopg.Error) -> None:
        super().__init__(str(error))
        self.step = step
        self.error = error


def _run_pipelined(connection: psycopg.Connection[tuple[Any, ...]], steps: Iterable[_Step]) -> None:
    """Send every step in one pipeline (one round trip; a big file syncs every PIPELINE_BATCH statements);
    _StepFailed names the step the server rejected: the first without a result."""
    batch: list[tuple[_Step, psycopg.Cursor[tuple[Any, ...]]]] = []
    step = _Step("", role="begin")
    try:
        with connection.pipeline() as pipeline:
            for step in steps:
                cursor = connection.cursor()
                cursor.execute(step.sql, step.params)  # the file's text, as written
                batch.append((step, cursor))
                if len(batch) >= PIPELINE_BATCH:
                    pipeline.sync()
                    batch.clear()
    except psycopg.Error as exc:
        raise _StepFailed(next((queued for queued, cursor in batch if cursor.pgresult is None), step), exc) from None


def _run_one_by_one(connection: psycopg.Connection[tuple[Any, ...]], steps: Iterable[_Step]) -> None:
    for step in steps:
        try:
            connection.execute(step.sql, step.params)
        except psycopg.Error as exc:
            raise _StepFailed(step, exc) from None


def _copy_history_row(connection: psycopg.Connection[tuple[Any, ...]], migration: Migration) -> None:
    try:
        with connection.cursor().copy(COPY_HISTORY_ROW) as copy:
            for piece in copy_history_fields(migration.version, migration.name, migration.iter_statement_texts()):
                copy.write(piece)
    except psycopg.Error as exc:
        raise _StepFailed(_Step(COPY_HISTORY_ROW, role="history"), exc) from None


def apply_without_transaction(target: PostgresTarget, migration: Migration, executable: ExecutableSql,
                              limits: SessionLimits, *, already_applied: bool) -> bool:
    """Run the statements one by one (autocommit), then reset the session and write the history row."""
    if already_applied:
        return False
    connection = target.connection
    limits_sql = limits_statement(limits, local=False, durable=True)
    connection.execute(limits_sql)
    for index, statement in enumerate(executable.statements):
        try:
            connection.execute(statement.text)  # the file's text, as written
            if index in executable.limits_reset_after:
                connection.execute(limits_sql)
        except KeyboardInterrupt:
            raise StatementsInterrupted(index, len(executable.statements)) from None
        except psycopg.Error as exc:
            if cancelled_by_scope(exc):
                raise StatementsInterrupted(index, len(executable.statements)) from None
            if connection.closed or connection.broken:
                raise target.lost_connection(exc, migration) from None
            if connection.info.transaction_status != TransactionStatus.IDLE:
                connection.execute("ROLLBACK")  # the file's own transaction, aborted by the error
            connection.execute(RESET_SESSION)
            raise MigrationFailed(failure_at(
                migration, statement, index, SqlDiagnostics.of_psycopg(exc), partially_applied=True,
                statements_applied=index,
                blocked_by=_lock_holders(target, statement, exc))) from None
    try:
        connection.execute(RESET_SESSION)  # e.g. a file that ends in SET ROLE: the history row is written as us
        if len(migration.sql) >= LARGE_FILE_CHARS:
            _copy_history_row(connection, migration)
        else:
            connection.execute(*history_row(migration))
    except (psycopg.Error, _StepFailed) as exc:
        error = exc.error if isinstance(exc, _StepFailed) else exc
        if connection.closed or connection.broken:
            raise target.lost_connection(error, migration) from None
        raise SupadeployError(
            f"{migration.file_name}: every statement ran, but its history row could not be written on "
            f"{target.description}: {error.diag.message_primary or error} [SQLSTATE {error.diag.sqlstate}]",
            fix=f"record it with `supadeploy repair --status applied {migration.version}` once the cause is fixed"
        ) from None
    return True


def run_statements(connection: psycopg.Connection[Any], migration: Migration, executable: ExecutableSql, *,
                   limits_sql: str | None = None) -> None:
    """Each statement once, exactly as the file has it, inside the caller's transaction (``limits_sql`` set again
    after a statement that changes the limits); MigrationFailed located in ``migration``'s file on an error."""
    for index, statement in enumerate(executable.statements):
        try:
            connection.execute(statement.text)  # the file's text, as written
            if limits_sql is not None and index in executable.limits_reset_after:
                connection.execute(limits_sql)
        except psycopg.Error as error:
            raise MigrationFailed(failure_at(migration, statement, index, SqlDiagnostics.of_psycopg(error))) from None


def limits_statement(limits: SessionLimits, *, local: bool, durable: bool) -> str:
    is_local = "true" if local else "false"
    values = (("lock_timeout", limits.lock_timeout), ("statement_timeout", limits.statement_timeout),
              ("synchronous_commit", "on" if durable else "off"))
    for _, value in values:
        if not value.replace(".", "").isalnum():
            raise ValueError(f"unexpected setting value {value!r}")
    calls = ", ".join(f"set_config('{name}', '{value}', {is_local})" for name, value in values)
    return f"SELECT {calls}"


def _statement_steps(executable: ExecutableSql, limits_sql: str) -> Iterator[_Step]:
    """The file's statements (limits set again after those that change them), COMMIT, the session reset."""
    for index, statement in enumerate(executable.statements):
        yield _Step(statement.text, statement=index)
        if index in executable.limits_reset_after:
            yield _Step(limits_sql, role="limits")
    yield _Step(executable.commit.text if executable.commit else "COMMIT", role="commit")
    yield from (_Step(reset, role="reset") for reset in RESET_SESSION_STATEMENTS)


def history_row(migration: Migration) -> tuple[str, tuple[Any, ...]]:
    """The history row's INSERT and its parameters."""
    return INSERT_HISTORY_ROW, (migration.version, migration.name, migration.statement_texts)


def _roll_back(target: PostgresTarget, exc: psycopg.Error, migration: Migration) -> None:
    connection = target.open_connection
    if connection is None or connection.closed or connection.broken:
        raise target.lost_connection(exc, migration) from None
    try:
        if connection.info.transaction_status != TransactionStatus.IDLE:
            connection.execute("ROLLBACK")
        connection.execute(RESET_SESSION)
    except psycopg.Error as again:
        raise target.lost_connection(again, migration) from None


def _failed(target: PostgresTarget, migration: Migration, executable: ExecutableSql, step: _Step,
            exc: psycopg.Error) -> SupadeployError:
    statement = _statement_of(executable, step)
    if step.role in ("limits", "history"):
        action = "write its history row" if step.role == "history" else "set the limits"
        diagnostics = SqlDiagnostics.of_psycopg(exc)
        return DatabaseError(
            f"{migration.file_name}: supadeploy could not {action} on {target.description}: {diagnostics.render()}",
            diagnostics, fix="nothing of it was applied; check the role's privileges on the supabase_migrations schema")
    index = step.statement if step.statement is not None else max(len(executable.statements) - 1, 0)
    return MigrationFailed(failure_at(migration, statement, index, SqlDiagnostics.of_psycopg(exc),
                                      blocked_by=_lock_holders(target, statement, exc)))


def _statement_of(executable: ExecutableSql, step: _Step) -> LexedStatement | None:
    if step.statement is not None:
        return executable.statements[step.statement]
    if step.role == "begin":
        return executable.begin
    if step.role == "commit":
        return executable.commit or (executable.statements[-1] if executable.statements else None)
    return None


def _lock_holders(target: PostgresTarget, statement: LexedStatement | None, exc: psycopg.Error) -> str | None:
    """Who held a lock on the tables of ``statement``, after a lock or statement timeout."""
    if exc.diag.sqlstate not in LOCK_STATES or statement is None:
        return None
    relations = relations_named(statement.text)
    if not relations:
        return None
    try:
        rows = target.query(LOCK_HOLDERS, (relations,))
    except (psycopg.Error, SupadeployError):
        return None
    if not rows:
        return "the session that held the lock has finished"
    return "; ".join(f"pid {pid} ('{application}', user {user}, {state}) holding {mode} on {relation}"
                     for pid, application, user, state, mode, relation in rows)


def relations_named(sql: str) -> list[str]:
    """schema.table names a statement refers to (pglast's parse tree), or [] if it does not parse."""
    from pglast import parser as pg_parser

    try:
        tree = json.loads(pg_parser.parse_sql_json(sql))
    except (pg_parser.ParseError, ValueError):
        return []
    names: list[str] = []
    _collect_range_vars(tree, names)
    return list(dict.fromkeys(names))


def _collect_range_vars(node: Any, names: list[str]) -> None:
    if isinstance(node, dict):
        range_var = node.get("RangeVar", node)  # typed fields hold a RangeVar without its wrapper
        if isinstance(range_var, dict) and isinstance(range_var.get("relname"), str):
            schema = range_var.get("schemaname")
            names.append(f'"{schema}"."{range_var["relname"]}"' if schema else f'"{range_var["relname"]}"')
        for value in node.values():
            _collect_range_vars(value, names)
    elif isinstance(node, list):
        for item in node:
            _collect_range_vars(item, names)


def _is_history_conflict(exc: psycopg.Error) -> bool:
    return (isinstance(exc, pg_errors.UniqueViolation)
            and exc.diag.constraint_name == "schema_migrations_pkey"
            and exc.diag.schema_name == HISTORY_SCHEMA)
