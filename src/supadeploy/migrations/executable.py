"""What a migration (or down file) executes, checked before anything is sent.

The statements come from PostgreSQL's lexer with psql's boundaries (supadeploy.migrations.lexer), so the
server runs exactly the text of the file. Before the first statement of a push runs, every pending file is
checked here; a file that cannot keep supadeploy's promise is refused at file:line:

* transaction control: a transactional file runs in ONE transaction together with its history row. A file
  wholly wrapped in ``BEGIN; … COMMIT;`` is that transaction (its own BEGIN opens it). Any other COMMIT,
  END, ROLLBACK, ABORT, ``… AND CHAIN``, ``PREPARE TRANSACTION``, ``COMMIT/ROLLBACK PREPARED``, or a
  RELEASE / ROLLBACK TO of a savepoint that was never set, is refused. A ``-- supadeploy:no-transaction``
  file may open and close its own transactions, but must close each one and may not prepare one;
* ``COPY … FROM STDIN`` / ``TO STDOUT`` (psql streams the data; nothing would here) and psql meta-commands;
* statements that change ``lock_timeout`` / ``statement_timeout`` (``SET``, ``RESET``, ``RESET ALL``) are
  allowed, and the configured limits are set again right after them, so they stay in force.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supadeploy.errors import MigrationFileError
from supadeploy.migrations.lexer import LexedStatement, LexerError, StatementList, lex_statements
from supadeploy.migrations.splitter import line_and_column

if TYPE_CHECKING:
    from supadeploy.migrations.files import Migration

__all__ = ["ExecutableSql", "NotExecutable", "cli_split_disagreement", "prepare_sql"]

_SPLIT_REMEDY = ("split the file so that each migration is one transaction (supadeploy runs every file in one, "
                 "together with its history row), or put `-- supadeploy:no-transaction` at its top to run its "
                 "statements one by one, as written")
_LIMIT_SETTINGS = ("lock_timeout", "statement_timeout")
_NO_CLOSE_REMEDY = "close it with COMMIT; before the end of the file"


class NotExecutable(MigrationFileError):
    """The file cannot be run as written; ``offset`` is where, in its text."""

    def __init__(self, what: str, *, path: Path, source: str, offset: int, fix: str) -> None:
        self.offset = offset
        super().__init__(what, where=_where(path, source, offset), fix=fix)


@dataclass(frozen=True)
class ExecutableSql:
    """The statements to run, in order, and how."""

    statements: StatementList
    """Every statement to run, in order; for a wrapped file without its BEGIN and COMMIT."""
    begin: LexedStatement | None = None
    """The file's own ``BEGIN …`` when the whole file is one transaction (it opens supadeploy's)."""
    commit: LexedStatement | None = None
    """The file's closing ``COMMIT`` / ``END`` of a wrapped file."""
    limits_reset_after: frozenset[int] = frozenset()
    """Indexes of statements that change lock_timeout / statement_timeout: the limits are set again after."""


def prepare_sql(source: str, path: Path, *, transactional: bool, standard_conforming_strings: bool = True,
                what: str = "migration", cli_statements: Collection[tuple[int, int]] | None = None) -> ExecutableSql:
    """Lex ``source`` (the text of ``path``) and check it; NotExecutable at file:line if it is refused.
    ``cli_statements``: (start, end) of the Supabase CLI's statements, for the lexer's fast path."""
    try:
        statements = lex_statements(source, standard_conforming_strings=standard_conforming_strings,
                                    cli_statements=cli_statements)
    except LexerError as error:
        raise NotExecutable(f"the PostgreSQL lexer rejects this {what}: {error.message}",
                            path=path, source=source, offset=error.offset,
                            fix="fix the SQL at that position") from None
    if what == "migration" and not statements:
        raise NotExecutable("this migration has no SQL statement, only comments: it would be recorded as applied "
                            "without doing anything", path=path, source=source, offset=0,
                            fix="write its SQL below the header, or delete the file")
    kinds: dict[int, str] = {}
    for index in statements.detailed_indexes():
        statement = statements[index]
        _refuse_psql_only(statement, path, source)
        kind = _transaction_kind(statement.words)
        if kind is not None:
            kinds[index] = kind
    if transactional:
        return _transactional(statements, kinds, path, source, what)
    _check_own_transactions(statements, kinds, path, source)
    return ExecutableSql(statements, limits_reset_after=_limit_resets(statements))


def _transactional(statements: StatementList, kinds: dict[int, str], path: Path, source: str,
                   what: str) -> ExecutableSql:
    begin = commit = None
    body: StatementList = statements
    body_kinds = kinds
    last = len(statements) - 1
    if last >= 1 and kinds.get(0) == "begin" and kinds.get(last) == "commit":
        begin, commit = statements[0], statements[last]
        body = statements[1:last]
        body_kinds = {index - 1: kind for index, kind in kinds.items() if 0 < index < last}
    savepoints: list[str] = []
    for index in sorted(body_kinds):
        statement, kind = body[index], body_kinds[index]
        if kind in ("savepoint", "release", "rollback_to"):
            _track_savepoint(statement, kind, savepoints, path, source, inside="the migration's transaction")
            continue
        keyword = " ".join(statement.words[:3]).rstrip(" ;").upper()
        raise NotExecutable(
            f"transaction control inside a {what}: `{keyword}` would end or change the transaction supadeploy "
            f"runs {path.name} in, so the file and its history row would no longer apply all together or not "
            "at all",
            path=path, source=source, offset=statement.offset,
            fix=f"nothing was applied; {_SPLIT_REMEDY}. A file wholly wrapped in BEGIN; … COMMIT; is accepted",
        )
    return ExecutableSql(body, begin=begin, commit=commit, limits_reset_after=_limit_resets(body))


def _check_own_transactions(statements: StatementList, kinds: dict[int, str], path: Path, source: str) -> None:
    """A no-transaction file may run its own transactions, each one closed, none prepared."""
    opened: LexedStatement | None = None
    savepoints: list[str] = []
    for index in sorted(kinds):
        statement, kind = statements[index], kinds[index]
        where: dict[str, Any] = {"path": path, "source": source, "offset": statement.offset}
        if kind in ("prepare", "prepared"):
            raise NotExecutable(
                "transaction control: two-phase commit (PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED) in a "
                "migration: a prepared transaction outlives the deploy and holds its locks until someone resolves "
                "it", **where, fix="nothing was applied; remove it: supadeploy commits each migration itself")
        if kind == "begin":
            if opened is not None:
                raise NotExecutable("transaction control: BEGIN inside a transaction that is already open", **where,
                                    fix="nothing was applied; close the first transaction with COMMIT; first")
            opened = statement
        elif kind in ("commit", "rollback"):
            opened, savepoints = None, []
        elif kind in ("savepoint", "release", "rollback_to"):
            if opened is None:
                raise NotExecutable("transaction control: savepoint outside a transaction", **where,
                                    fix="nothing was applied; use savepoints between BEGIN; and COMMIT;")
            _track_savepoint(statement, kind, savepoints, path, source, inside="this transaction")
    if opened is not None:
        raise NotExecutable(
            "transaction control: this no-transaction migration opens a transaction it never closes, so its "
            "history row would be written inside it", path=path, source=source, offset=opened.offset,
            fix=f"nothing was applied; {_NO_CLOSE_REMEDY}")


def _track_savepoint(statement: LexedStatement, kind: str, savepoints: list[str], path: Path, source: str,
                     *, inside: str) -> None:
    name = _savepoint_name(statement.words, kind)
    if kind == "savepoint":
        savepoints.append(name)
        return
    if name not in savepoints:
        verb = "RELEASE" if kind == "release" else "ROLLBACK TO"
        raise NotExecutable(
            f"transaction control: {verb} SAVEPOINT {name}, but no savepoint {name} was set in {inside}",
            path=path, source=source, offset=statement.offset,
            fix=f"nothing was applied; add SAVEPOINT {name}; before it, or remove it ({_SPLIT_REMEDY})")
    index = len(savepoints) - 1 - savepoints[::-1].index(name)
    del savepoints[index + (1 if kind == "rollback_to" else 0):]


def _savepoint_name(words: tuple[str, ...], kind: str) -> str:
    rest = [word for word in words if word not in (";", "work", "transaction")]
    rest = rest[2:] if kind == "rollback_to" else rest[1:]  # after "rollback to", "savepoint", "release"
    if rest[:1] == ["savepoint"]:
        rest = rest[1:]
    return rest[0] if rest else "?"


def _transaction_kind(words: tuple[str, ...]) -> str | None:
    """begin | commit | rollback | chain | savepoint | release | rollback_to | prepare | prepared | None."""
    first = words[0] if words else ""
    rest = [word for word in words[1:] if word != ";"]
    if first == "begin" or (first == "start" and rest[:1] == ["transaction"]):
        return "begin"
    if first in ("commit", "end", "rollback", "abort"):
        if rest[:1] == ["prepared"]:
            return "prepared"
        if first in ("rollback", "abort") and "to" in rest:
            return "rollback_to"
        if "chain" in rest and "no" not in rest:
            return "chain"
        return "commit" if first in ("commit", "end") else "rollback"
    if first == "savepoint":
        return "savepoint"
    if first == "release":
        return "release"
    if first == "prepare" and rest[:1] == ["transaction"]:
        return "prepare"
    return None


def _refuse_psql_only(statement: LexedStatement, path: Path, source: str) -> None:
    where: dict[str, Any] = {"path": path, "source": source, "offset": statement.offset}
    if statement.has_backslash_command:
        raise NotExecutable(
            "psql meta-command (a backslash command such as \\set or \\i): supadeploy sends SQL to the server, "
            "it is not psql", **where, fix="nothing was applied; replace it with SQL")
    if statement.words[:1] == ("copy",) and statement.names_std_stream:
        raise NotExecutable(
            "COPY … FROM STDIN / TO STDOUT: psql streams the data lines that follow it; a migration is sent as "
            "SQL only, so there is no data to read", **where,
            fix="nothing was applied; load the rows with INSERT … VALUES, or COPY from a file the server can read")


def _limit_resets(statements: StatementList) -> frozenset[int]:
    return frozenset(index for index in statements.detailed_indexes() if _changes_limits(statements[index].words))


def _changes_limits(words: tuple[str, ...]) -> bool:
    first, rest = (words[0] if words else ""), [word for word in words[1:] if word not in (";", "session", "local")]
    setting = rest[0] if rest else ""
    if first == "reset":
        return setting == "all" or setting in _LIMIT_SETTINGS
    if first == "set":
        return setting in _LIMIT_SETTINGS
    return first == "discard" and setting == "all"


def _where(path: Path, source: str, offset: int) -> str:
    line, column = line_and_column(source, offset)
    return f"{path}:{line}:{column}"


def cli_split_disagreement(migration: Migration) -> int | None:
    """Where the Supabase CLI's split ends a statement that PostgreSQL's lexer does not end (an offset in
    the file), or None when both agree on every statement (the CLI also runs comment-only statements)."""
    lexed = migration.executable().statements
    real_ends = {_code_end(statement) for statement in lexed}
    begin, commit = migration.executable().begin, migration.executable().commit
    real_ends.update(_code_end(statement) for statement in (begin, commit) if statement is not None)
    for statement in migration.statements:
        end = statement.offset + len(statement.text)
        if end not in real_ends and lex_statements(statement.text):
            return end
    return None


def _code_end(statement: LexedStatement) -> int:
    text = statement.text[:-1] if statement.text.endswith(";") else statement.text
    return statement.offset + len(text.rstrip())
