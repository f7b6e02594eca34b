"""Parse a migration file with the real PostgreSQL parser (pglast / libpg_query).

Every statement keeps the character offset where it starts in the file, and every node location the
parser reports is turned into an offset in the file, so a finding can name the exact line and column.
Statements inside ``DO`` blocks are parsed too: the PL/pgSQL body is parsed with libpg_query's
PL/pgSQL parser, each embedded SQL statement is found back in the file and parsed on its own, and
it carries the conditions that guard it (``IF NOT EXISTS (...)``, ``EXCEPTION WHEN duplicate_object``).

A file the parser rejects yields a syntax error at the exact position; the file is then parsed again
statement by statement (split the way the Supabase CLI splits it) so the other statements are still
linted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pglast import ast, parse_sql
from pglast.parser import ParseError, parse_plpgsql_json

from supadeploy.migrations.splitter import line_and_column, split_statements

_DOLLAR_QUOTE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass(frozen=True)
class Guard:
    """A condition that must hold for a statement inside a DO block to run.

    ``kind`` is ``if`` (the text of the IF/ELSIF condition, ``negated`` in an ELSE branch) or
    ``exception`` (the condition names of an EXCEPTION handler that catches the statement's errors).
    """

    kind: str
    text: str
    negated: bool = False


@dataclass(frozen=True)
class ParsedStatement:
    """One statement: its parse tree, and where it is in the file."""

    node: ast.Node
    start: int
    """Character offset in the file of the statement's first character."""
    text: str
    base: int
    """Offset to add to the parser's node locations to get an offset in the file."""
    guards: tuple[Guard, ...] = ()
    in_do_block: bool = False

    def offset_of(self, node: ast.Node | None) -> int:
        """File offset of ``node`` (the statement's start when the node has no location)."""
        location = getattr(node, "location", None) if node is not None else None
        if isinstance(location, int) and location >= 0:
            return self.base + location
        return self.start

    def find(self, pattern: str, nth: int = 0, after: int | None = None) -> int:
        """File offset of the ``nth`` case-insensitive match of ``pattern`` in the statement's text
        (after file offset ``after``), for clauses the parser does not locate; the start if none."""
        begin = max(0, (after - self.start) if after is not None else 0)
        matches = list(re.finditer(pattern, _blank_comments(self.text), re.IGNORECASE))
        matches = [m for m in matches if m.start() >= begin]
        return self.start + matches[nth].start() if nth < len(matches) else self.start


@dataclass(frozen=True)
class SyntaxProblem:
    offset: int
    message: str


@dataclass
class ParsedFile:
    source: str
    statements: list[ParsedStatement] = field(default_factory=list)
    syntax_errors: list[SyntaxProblem] = field(default_factory=list)

    def line_column(self, offset: int) -> tuple[int, int]:
        return line_and_column(self.source, min(max(offset, 0), len(self.source)))


def parse_file(source: str) -> ParsedFile:
    """Parse ``source`` (a whole migration file) into located statements."""
    text = source.replace("\ufeff", " ")  # a BOM is not SQL; keep offsets unchanged
    parsed = ParsedFile(source=source)
    try:
        raw_statements = parse_sql(text)
    except ParseError as error:
        parsed.syntax_errors.append(_syntax_problem(error, 0, text))
        _parse_statement_by_statement(text, parsed)
        return parsed
    for raw in raw_statements:
        if raw.stmt is None:
            continue
        start = raw.stmt_location or 0
        length = raw.stmt_len or (len(text) - start)
        start, statement_text = _trim(text, start, start + length)
        _add(parsed, ParsedStatement(node=raw.stmt, start=start, text=statement_text, base=0), text)
    return parsed


def _parse_statement_by_statement(text: str, parsed: ParsedFile) -> None:
    first_error = parsed.syntax_errors[0].offset
    for piece in split_statements(text):
        try:
            raw_statements = parse_sql(piece.text)
        except ParseError as error:
            problem = _syntax_problem(error, piece.offset, piece.text)
            if problem.offset != first_error:
                parsed.syntax_errors.append(problem)
            continue
        for raw in raw_statements:
            if raw.stmt is None:
                continue
            start = piece.offset + (raw.stmt_location or 0)
            end = start + (raw.stmt_len or (len(piece.text) - (raw.stmt_location or 0)))
            start, statement_text = _trim(text, start, end)
            _add(parsed, ParsedStatement(node=raw.stmt, start=start, text=statement_text, base=piece.offset), text)
    parsed.syntax_errors.sort(key=lambda p: p.offset)


def _syntax_problem(error: ParseError, base: int, text: str) -> SyntaxProblem:
    message = str(error.args[0]) if error.args else "syntax error"
    location = error.args[1] if len(error.args) > 1 else None
    offset = base + (location if isinstance(location, int) else len(text.rstrip()))
    return SyntaxProblem(offset=offset, message=message)


def _trim(text: str, start: int, end: int) -> tuple[int, str]:
    """Skip leading whitespace and comments so a statement starts at its first keyword."""
    while start < end:
        if text[start].isspace():
            start += 1
        elif text.startswith("--", start):
            newline = text.find("\n", start)
            start = end if newline < 0 else newline + 1
        elif text.startswith("/*", start):
            close = text.find("*/", start + 2)
            start = end if close < 0 else close + 2
        else:
            break
    return start, text[start:end]


def _add(parsed: ParsedFile, statement: ParsedStatement, text: str) -> None:
    parsed.statements.append(statement)
    if isinstance(statement.node, ast.DoStmt):
        parsed.statements.extend(do_block_statements(statement, text))


# --- DO blocks ---------------------------------------------------------------------------------------


def do_block_statements(statement: ParsedStatement, text: str) -> list[ParsedStatement]:
    """The SQL statements inside a PL/pgSQL DO block, located in the file, with their guards."""
    node = statement.node
    assert isinstance(node, ast.DoStmt)
    body, language = None, "plpgsql"
    for option in node.args or ():
        if option.defname == "as" and isinstance(option.arg, ast.String):
            body = option.arg.sval
        elif option.defname == "language" and isinstance(option.arg, ast.String):
            language = (option.arg.sval or "").lower()
    if body is None or language != "plpgsql":
        return []
    body_start = _body_offset(statement, body)
    try:
        functions = json.loads(parse_plpgsql_json(statement.text))
    except (ParseError, ValueError):
        return []  # the server reports PL/pgSQL errors when the block runs
    found: list[ParsedStatement] = []
    for function in functions:
        action = function.get("PLpgSQL_function", {}).get("action")
        if action:
            _walk_plpgsql(action, (), body, body_start, text, found)
    return found


def _body_offset(statement: ParsedStatement, body: str) -> int | None:
    for quote in _DOLLAR_QUOTE.finditer(statement.text):
        if statement.text.startswith(body, quote.end()):
            return statement.start + quote.end()
    index = statement.text.find(body)
    return statement.start + index if index >= 0 else None


def _walk_plpgsql(item: Any, guards: tuple[Guard, ...], body: str, body_start: int | None, text: str,
                  found: list[ParsedStatement]) -> None:
    if isinstance(item, list):
        for element in item:
            _walk_plpgsql(element, guards, body, body_start, text, found)
        return
    if not isinstance(item, dict):
        return
    for kind, value in item.items():
        if not isinstance(value, dict):
            continue
        if kind == "PLpgSQL_stmt_execsql":
            query = value.get("sqlstmt", {}).get("PLpgSQL_expr", {}).get("query")
            if query:
                found.extend(_embedded(query, value.get("lineno", 1), guards, body, body_start, text))
        elif kind == "PLpgSQL_stmt_if":
            _walk_if(value, guards, body, body_start, text, found)
        elif kind == "PLpgSQL_stmt_block":
            inner = guards + _exception_guards(value)
            _walk_plpgsql(value.get("body", []), inner, body, body_start, text, found)
            for handler in _handlers(value):
                _walk_plpgsql(handler.get("action", []), guards, body, body_start, text, found)
        else:
            for child in ("body", "stmts", "action"):
                if child in value:
                    _walk_plpgsql(value[child], guards, body, body_start, text, found)


def _walk_if(value: dict[str, Any], guards: tuple[Guard, ...], body: str, body_start: int | None, text: str,
             found: list[ParsedStatement]) -> None:
    conditions: list[str] = []
    condition = _expr_text(value.get("cond"))
    conditions.append(condition)
    _walk_plpgsql(value.get("then_body", []), (*guards, Guard("if", condition)), body, body_start, text, found)
    for elsif in value.get("elsif_list", []):
        branch = elsif.get("PLpgSQL_if_elsif", {})
        condition = _expr_text(branch.get("cond"))
        negated = tuple(Guard("if", c, negated=True) for c in conditions)
        conditions.append(condition)
        _walk_plpgsql(branch.get("stmts", []), (*guards, *negated, Guard("if", condition)), body, body_start,
                      text, found)
    negated = tuple(Guard("if", c, negated=True) for c in conditions)
    _walk_plpgsql(value.get("else_body", []), (*guards, *negated), body, body_start, text, found)


def _handlers(block: dict[str, Any]) -> list[dict[str, Any]]:
    exceptions = block.get("exceptions", {}).get("PLpgSQL_exception_block", {})
    return [entry.get("PLpgSQL_exception", {}) for entry in exceptions.get("exc_list", [])]


def _exception_guards(block: dict[str, Any]) -> tuple[Guard, ...]:
    names: list[str] = []
    for handler in _handlers(block):
        for condition in handler.get("conditions", []):
            name = condition.get("PLpgSQL_condition", {}).get("condname")
            if name:
                names.append(str(name))
    return (Guard("exception", " ".join(names)),) if names else ()


def _expr_text(expression: Any) -> str:
    if isinstance(expression, dict):
        return str(expression.get("PLpgSQL_expr", {}).get("query", ""))
    return ""


def _embedded(query: str, lineno: int, guards: tuple[Guard, ...], body: str, body_start: int | None,
              text: str) -> Iterator[ParsedStatement]:
    query_offset = _query_offset(query, lineno, body, body_start)
    try:
        raw_statements = parse_sql(query)
    except ParseError:
        return
    for raw in raw_statements:
        if raw.stmt is None:
            continue
        location = raw.stmt_location or 0
        start = query_offset + location
        length = raw.stmt_len or (len(query) - location)
        statement_text = text[start:start + length] if body_start is not None else query[location:location + length]
        yield ParsedStatement(node=raw.stmt, start=start, text=statement_text, base=query_offset, guards=guards,
                              in_do_block=True)


def _query_offset(query: str, lineno: int, body: str, body_start: int | None) -> int:
    if body_start is None:
        return 0
    line_start = 0
    for _ in range(max(lineno - 1, 0)):
        newline = body.find("\n", line_start)
        if newline < 0:
            break
        line_start = newline + 1
    index = body.find(query, line_start)
    if index < 0:
        index = body.find(query)
    return body_start + (index if index >= 0 else line_start)


def _blank_comments(text: str) -> str:
    """The text with comments and string literals replaced by spaces (same length), for keyword search."""
    return re.sub(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'", lambda m: " " * len(m.group(0)), text, flags=re.DOTALL)


def walk(node: Any) -> Iterator[ast.Node]:
    """Every node under ``node`` (included), depth first."""
    if isinstance(node, ast.Node):
        yield node
        for name in node.__slots__:  # type: ignore[attr-defined]
            yield from walk(getattr(node, name, None))
    elif isinstance(node, (list, tuple)):
        for element in node:
            yield from walk(element)
