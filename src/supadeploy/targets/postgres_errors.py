"""A statement the database refused, as one clear message: what Postgres said, on which database, what to do.

PostgresTarget maps every psycopg error here as it enters (a lost connection is ConnectionFailed instead), so
no command ever shows a psycopg traceback.
"""

from __future__ import annotations

from supadeploy.errors import DatabaseError
from supadeploy.sql_diagnostics import (
    INSUFFICIENT_PRIVILEGE,
    INVALID_SCHEMA_NAME,
    UNDEFINED_COLUMN,
    UNDEFINED_FUNCTION,
    UNDEFINED_TABLE,
    SqlDiagnostics,
)

UNDEFINED_OBJECT_STATES = (UNDEFINED_COLUMN, UNDEFINED_TABLE, UNDEFINED_FUNCTION, INVALID_SCHEMA_NAME)
TIMEOUT_STATES = ("55P03", "57014")  # lock_not_available (lock_timeout), query_canceled (statement_timeout)
PRIVILEGES_FIX = "connect as the project's postgres role (the one that owns the supabase_migrations schema)"


def database_error(diagnostics: SqlDiagnostics, *, database: str, role: str | None,
                   doing: str | None = None) -> DatabaseError:
    """``database`` is the target's redacted description; ``doing`` what supadeploy was doing ("reading the
    migration history"), when the caller knows."""
    during = f" while {doing}" if doing else ""
    if diagnostics.sqlstate == INSUFFICIENT_PRIVILEGE:
        who = f"the role {role}" if role else "this role"
        return DatabaseError(f"{who} lacks privileges on {database}{during}: {diagnostics.render()}", diagnostics,
                             fix=PRIVILEGES_FIX)
    if diagnostics.sqlstate in UNDEFINED_OBJECT_STATES:
        return DatabaseError(
            f"{database} lacks an object supadeploy uses{during}: {diagnostics.render()}", diagnostics,
            fix="a table supadeploy reads was made by another tool or version, or changed by hand: run "
                "`supadeploy push` as the project's postgres role to bring its tables up to date; if this persists, "
                "report this message")
    if diagnostics.sqlstate in TIMEOUT_STATES:
        return DatabaseError(
            f"a query on {database} was cancelled{during}: {diagnostics.render()}", diagnostics,
            fix="another session held a lock it needed, or it ran past statement_timeout; rerun when the database "
                "is less busy")
    return DatabaseError(f"a query on {database} failed{during}: {diagnostics.render()}", diagnostics,
                         fix="if the message does not say what to change, report it as a supadeploy bug")
