"""A migration that failed: where in the file, and what Postgres said."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from supadeploy.errors import SupadeployError
from supadeploy.migrations.files import Migration
from supadeploy.migrations.splitter import line_and_column
from supadeploy.sql_diagnostics import SqlDiagnostics

LOCK_STATES = ("55P03", "57014")  # lock_not_available (lock_timeout), query_canceled (statement_timeout)
_PLPGSQL_LINE = re.compile(r"PL/pgSQL function inline_code_block line (\d+)")
_DOLLAR_QUOTE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass(frozen=True)
class MigrationFailure:
    version: str
    name: str
    file: str
    line: int
    column: int
    statement_index: int
    sqlstate: str | None
    message: str
    detail: str | None = None
    hint: str | None = None
    context: str | None = None
    partially_applied: bool = False
    statements_applied: int = 0
    """No-transaction files: how many statements ran (and stay) before the failing one."""
    blocked_by: str | None = None
    """A lock or statement timeout: the session that held the lock, when Postgres could name it."""

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def render(self) -> str:
        code = f" [SQLSTATE {self.sqlstate}]" if self.sqlstate else ""
        lines = [f"{self.location}: {self.message}{code}"]
        if self.detail:
            lines.append(f"  detail: {self.detail}")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        if self.blocked_by:
            lines.append(f"  blocked by: {self.blocked_by}")
        if self.partially_applied:
            ran = ("no statement before it ran" if self.statements_applied == 0 else
                   f"the {self.statements_applied} statement(s) before it ran and stay applied")
            lines.append(
                f"  this migration runs outside a transaction (supadeploy:no-transaction): {ran}; its history row "
                "was not written. Make them idempotent (IF NOT EXISTS), fix the file and rerun"
            )
        elif self.sqlstate in LOCK_STATES:
            lines.append(f"  nothing of {self.version}_{self.name} was applied: another session held a lock it "
                         "needed; rerun when that session is done, or raise [push] lock_timeout / statement_timeout")
        else:
            lines.append(f"  nothing of {self.version}_{self.name} was applied; fix the file and rerun the push")
        return "\n".join(lines)


class MigrationFailed(SupadeployError):
    def __init__(self, failure: MigrationFailure) -> None:
        self.failure = failure
        super().__init__(failure.render())

    def render(self) -> str:
        return self.failure.render() if hasattr(self, "failure") else super().render()


class StatementText(Protocol):
    """A statement and where it starts in its file (a splitter Statement or a lexer LexedStatement)."""

    @property
    def text(self) -> str: ...

    @property
    def offset(self) -> int: ...


def failure_from_error(migration: Migration, statement_index: int, diagnostics: SqlDiagnostics, *,
                       partially_applied: bool = False) -> MigrationFailure:
    """Map an error raised by the CLI-split statement ``statement_index`` back to file:line:column."""
    statements = migration.statements
    statement = statements[statement_index] if statement_index < len(statements) else None
    return failure_at(migration, statement, statement_index, diagnostics, partially_applied=partially_applied)


def failure_at(migration: Migration, statement: StatementText | None, statement_index: int,
               diagnostics: SqlDiagnostics, *, partially_applied: bool = False, statements_applied: int = 0,
               blocked_by: str | None = None) -> MigrationFailure:
    """Map an error raised by ``statement`` (of ``migration``'s file) back to file:line:column.

    The diagnostics' ``position`` is 1-based within the statement (a caller that sent the statement as part of a
    larger message gives the position within the statement itself).
    """
    offset = 0 if statement is None else _error_offset(statement, diagnostics)
    line, column = line_and_column(migration.sql, offset)
    return MigrationFailure(
        version=migration.version, name=migration.name, file=str(migration.path), line=line, column=column,
        statement_index=statement_index, sqlstate=diagnostics.sqlstate, message=diagnostics.message,
        detail=diagnostics.detail, hint=diagnostics.hint, context=diagnostics.context,
        partially_applied=partially_applied, statements_applied=statements_applied, blocked_by=blocked_by,
    )


def _error_offset(statement: StatementText, diagnostics: SqlDiagnostics) -> int:
    if diagnostics.position is not None:
        return statement.offset + diagnostics.position - 1
    plpgsql_line = _plpgsql_line(diagnostics.context)
    if plpgsql_line is not None:
        body = _DOLLAR_QUOTE.search(statement.text)
        if body is not None:
            body_start = statement.offset + body.end()
            # Line 1 of a PL/pgSQL body is the line that holds the opening quote.
            return _offset_of_line(statement.text, body.end(), plpgsql_line - 1, statement.offset, body_start)
    return statement.offset + _code_start(statement.text)


def _code_start(text: str) -> int:
    """Where the statement's code starts: after the comments and blank lines kept in front of it."""
    from supadeploy.migrations.lexer import code_start

    return code_start(text, 0, len(text))


def _offset_of_line(text: str, start: int, lines_down: int, base: int, fallback: int) -> int:
    index = start
    for _ in range(lines_down):
        newline = text.find("\n", index)
        if newline < 0:
            return fallback
        index = newline + 1
    while index < len(text) and text[index] in " \t":
        index += 1
    return base + index


def _plpgsql_line(context: str | None) -> int | None:
    if not context:
        return None
    match = _PLPGSQL_LINE.search(context)
    return int(match.group(1)) if match else None

