"""PostgresTarget's writes of the history outside a push: an edit in one transaction (repair, baseline,
reconcile) and the undo of one migration with the removal of its row (rollback). The SQL is in
supadeploy.migrations.history."""

from __future__ import annotations

from typing import TYPE_CHECKING

import psycopg

from supadeploy.errors import SupadeployError
from supadeploy.migrations.history import DELETE_HISTORY_ROW, HistoryEdit
from supadeploy.redact import redact_text, url_secrets
from supadeploy.targets.base import SessionLimits
from supadeploy.targets.postgres_apply import RESET_SESSION, limits_statement, run_statements

if TYPE_CHECKING:
    from supadeploy.migrations.executable import ExecutableSql
    from supadeploy.migrations.files import Migration
    from supadeploy.targets.postgres import PostgresTarget

def edit_history(target: PostgresTarget, edit: HistoryEdit) -> int:
    """Run ``edit`` in one transaction; the number of rows it deleted."""
    connection = target.connection
    deleted = 0
    try:
        with connection.transaction():
            for index, (sql, params) in enumerate(edit.statements()):
                rows = connection.execute(sql, params or None).rowcount
                if index == 0 and (edit.delete_all or edit.delete):
                    deleted = max(rows, 0)
    except psycopg.Error as exc:
        if connection.closed or connection.broken:
            raise target.lost_connection(exc) from None
        raise SupadeployError(f"cannot change the migration history on {target.description}: "
                              f"{_first_line(target, exc)}", fix="connect as the history table's owner (e.g. postgres);"
                              " nothing was changed") from None
    return deleted


def undo_migration(target: PostgresTarget, version: str, down: Migration, executable: ExecutableSql,
                   limits: SessionLimits) -> None:
    """Run ``down``'s statements and delete ``version``'s history row, in one transaction: all or nothing.

    MigrationFailed (located in the file holding the down SQL) when a statement fails."""
    connection = target.connection
    limits_sql = limits_statement(limits, local=True, durable=True)
    try:
        with connection.transaction():
            connection.execute(limits_sql)
            if connection.execute(DELETE_HISTORY_ROW, (version,)).rowcount != 1:
                raise SupadeployError(f"{version} is no longer in the history (another deploy changed it "
                                      "meanwhile); nothing of it was rolled back",
                                      fix="run `supadeploy migration list` and retry")
            run_statements(connection, down, executable, limits_sql=limits_sql)
    finally:
        if not connection.closed and not connection.broken:
            connection.execute(RESET_SESSION)


def _first_line(target: PostgresTarget, exc: Exception) -> str:
    return redact_text((str(exc).strip().splitlines() or [type(exc).__name__])[0], url_secrets(target.connection_url))
