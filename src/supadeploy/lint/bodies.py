"""The statements a ``DO`` block or a function / procedure body runs, located in the file.

PL/pgSQL bodies are parsed with libpg_query's PL/pgSQL parser (``pglast.parse_plpgsql``): every SQL
statement and expression it holds (``INSERT ...``, ``PERFORM f()``, ``IF cond``, ``x := expr``, ``FOR r IN
query``, ``RETURN QUERY ...``) is found back in the file and parsed on its own, with the conditions that
guard it (``IF NOT EXISTS (...)``, ``EXCEPTION WHEN duplicate_object``). An ``EXECUTE`` whose text is
constant (see :mod:`supadeploy.lint.execute`) yields the statements it builds, located at the ``EXECUTE``;
any other ``EXECUTE`` yields an :class:`UncheckedSql`. SQL-language bodies (``AS $$...$$`` and
``BEGIN ATOMIC ... END``) are parsed as SQL. A body in another language, or one the parsers reject, is
an :class:`UncheckedSql` too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pglast import ast, parse_plpgsql, parse_sql
from pglast.parser import ParseError

from supadeploy.lint.execute import executed_sql
from supadeploy.lint.parse import Guard, ParsedStatement, blank_comments

_DOLLAR_QUOTE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_BEGIN_ATOMIC = re.compile(r"\bbegin\s+atomic\b", re.IGNORECASE)
_END = re.compile(r"\bend\b", re.IGNORECASE)
_SELECT = "SELECT "
_NATIVE_LANGUAGES = {"c", "internal"}
# PL/pgSQL statements whose expression is the text of SQL to EXECUTE.
_DYNAMIC_KEYS = {"PLpgSQL_stmt_dynexecute": "query", "PLpgSQL_stmt_dynfors": "query",
                 "PLpgSQL_stmt_open": "dynquery", "PLpgSQL_stmt_return_query": "dynquery"}
# libpg_query's RawParseMode of a PL/pgSQL expression.
_STATEMENT_MODE, _EXPRESSION_MODE, _ASSIGNMENT_MODES = 0, 2, (3, 4, 5)


@dataclass(frozen=True)
class UncheckedSql:
    """SQL that will run and cannot be read before it runs (dynamic EXECUTE, a body no parser reads)."""

    offset: int
    message: str
    container: int
    guards: tuple[Guard, ...] = ()
    text: str = ""
    """The SQL expression as written in the file ("" when it is not in the file)."""

    @property
    def start(self) -> int:
        return self.offset


BodyItem = ParsedStatement | UncheckedSql


def _unchecked(offset: int, what: str, container: ParsedStatement, guards: tuple[Guard, ...] = ()) -> UncheckedSql:
    return UncheckedSql(offset, f"SQL that cannot be checked: {what}", container.start, guards)


def _reason(error: Exception) -> str:
    return str(error.args[0]) if error.args else str(error)


def body_items(statement: ParsedStatement) -> list[BodyItem]:
    """What the body of ``statement`` (a DO block or CREATE FUNCTION / PROCEDURE) runs, in order."""
    node = statement.node
    if isinstance(node, ast.DoStmt):
        language, body = _option(node.args, "language") or "plpgsql", _option(node.args, "as")
    elif isinstance(node, ast.CreateFunctionStmt):
        if node.sql_body is not None:
            return _atomic_items(statement)
        language, body = _option(node.options, "language") or "sql", _option(node.options, "as")
    else:
        return []
    if body is None:
        return []
    language = language.lower()
    if language == "plpgsql":
        return _PlpgsqlBody(statement, body).items()
    if language == "sql":
        return _sql_items(statement, body)
    if language in _NATIVE_LANGUAGES:
        return []  # compiled code, not SQL: no statement to check
    return [_unchecked(statement.start, f"a body in language {language}", statement)]


def _option(options: tuple[ast.Node, ...] | None, name: str) -> str | None:
    for option in options or ():
        if isinstance(option, ast.DefElem) and option.defname == name:
            value = option.arg[0] if isinstance(option.arg, tuple) and option.arg else option.arg
            if isinstance(value, ast.String):
                return value.sval or ""
    return None


def _body_offset(statement: ParsedStatement, body: str) -> int | None:
    """File offset of the body's first character; None when it is not in the file as written."""
    if statement.pinned:
        return None
    for quote in _DOLLAR_QUOTE.finditer(statement.text):
        if statement.text.startswith(body, quote.end()):
            return statement.start + quote.end()
    index = statement.text.find(body)
    return statement.start + index if index >= 0 else None


def _located(sql: str, found_at: int | None, prefix: int, container: ParsedStatement,
             guards: tuple[Guard, ...] = ()) -> list[BodyItem]:
    """The statements of ``sql``, whose text from ``prefix`` on is in the file at ``found_at``
    (None: not in the file, every location is the container's start). SQL that PostgreSQL's grammar
    rejects yields nothing: it cannot run."""
    try:
        raw_statements = parse_sql(sql)
    except ParseError:
        return []  # PostgreSQL's own grammar rejects it: it cannot run
    items: list[BodyItem] = []
    for raw in raw_statements:
        if raw.stmt is None:
            continue
        location = raw.stmt_location or 0
        length = raw.stmt_len or (len(sql) - location)
        if found_at is None:
            items.append(ParsedStatement(node=raw.stmt, start=container.start, text=sql[location:location + length],
                                         base=container.start, guards=guards, container=container.start,
                                         pinned=True))
            continue
        base = found_at - prefix
        start = base + max(location, prefix)
        items.append(ParsedStatement(node=raw.stmt, start=start, text=sql[max(location, prefix):location + length],
                                     base=base, guards=guards, container=container.start))
    return items


def _sql_items(statement: ParsedStatement, body: str) -> list[BodyItem]:
    return _located(body, _body_offset(statement, body), 0, statement)


def _atomic_items(statement: ParsedStatement) -> list[BodyItem]:
    blanked = blank_comments(statement.text)
    begin = _BEGIN_ATOMIC.search(blanked)
    ends = list(_END.finditer(blanked))
    if begin is None or not ends or ends[-1].start() < begin.end():
        return [_unchecked(statement.start, "a BEGIN ATOMIC body without its END", statement)]
    body = statement.text[begin.end():ends[-1].start()]
    return _located(body, None if statement.pinned else statement.start + begin.end(), 0, statement)


class _PlpgsqlBody:
    """One PL/pgSQL body, walked in order."""

    def __init__(self, statement: ParsedStatement, body: str) -> None:
        self.statement = statement
        self.body = body
        self.body_start = _body_offset(statement, body)
        self.found: list[BodyItem] = []

    def items(self) -> list[BodyItem]:
        try:
            functions = parse_plpgsql(self.statement.text)
        except (ParseError, ValueError) as error:
            return [_unchecked(self.statement.start, f"the PL/pgSQL parser rejects the body ({_reason(error)})",
                               self.statement)]
        for function in functions:
            self._visit(function.get("PLpgSQL_function", {}).get("action"), (), 1)
        return self.found

    def _visit(self, item: Any, guards: tuple[Guard, ...], lineno: int) -> None:
        if isinstance(item, list):
            for element in item:
                self._visit(element, guards, lineno)
            return
        if not isinstance(item, dict):
            return
        for kind, value in item.items():
            if kind == "PLpgSQL_expr" and isinstance(value, dict):
                self._expression(value, guards, lineno)
            elif kind.startswith("PLpgSQL_stmt_") and isinstance(value, dict):
                self._statement(kind, value, guards)

    def _statement(self, kind: str, value: dict[str, Any], guards: tuple[Guard, ...]) -> None:
        lineno = int(value.get("lineno", 1) or 1)
        if kind == "PLpgSQL_stmt_if":
            self._if(value, guards, lineno)
            return
        if kind == "PLpgSQL_stmt_block":
            self._visit(value.get("body", []), guards + _exception_guards(value), lineno)
            for handler in _handlers(value):
                self._visit(handler.get("action", []), guards, lineno)
            return
        for key, child in value.items():
            if key == _DYNAMIC_KEYS.get(kind):
                self._dynamic(child, guards, lineno)
            else:
                self._visit(child, guards, lineno)

    def _if(self, value: dict[str, Any], guards: tuple[Guard, ...], lineno: int) -> None:
        conditions = [_expr_text(value.get("cond"))]
        self._visit(value.get("cond"), guards, lineno)
        self._visit(value.get("then_body", []), (*guards, Guard("if", conditions[0])), lineno)
        for elsif in value.get("elsif_list", []):
            branch = elsif.get("PLpgSQL_if_elsif", {})
            condition = _expr_text(branch.get("cond"))
            negated = tuple(Guard("if", c, negated=True) for c in conditions)
            self._visit(branch.get("cond"), (*guards, *negated), int(branch.get("lineno", lineno) or lineno))
            conditions.append(condition)
            self._visit(branch.get("stmts", []), (*guards, *negated, Guard("if", condition)), lineno)
        negated = tuple(Guard("if", c, negated=True) for c in conditions)
        self._visit(value.get("else_body", []), (*guards, *negated), lineno)

    def _expression(self, expression: dict[str, Any], guards: tuple[Guard, ...], lineno: int) -> None:
        query = str(expression.get("query") or "")
        mode = expression.get("parseMode", _STATEMENT_MODE)
        if not query.strip():
            return
        if mode == _STATEMENT_MODE:
            if query.startswith(_SELECT) and self._find(query, lineno) is None:  # PERFORM x: "SELECT x"
                self._add(f"{_SELECT}{query[len(_SELECT):]}", query[len(_SELECT):], len(_SELECT), guards, lineno)
            else:
                self._add(query, query, 0, guards, lineno)
        elif mode == _EXPRESSION_MODE:
            self._add(f"{_SELECT}{query}", query, len(_SELECT), guards, lineno)
        elif mode in _ASSIGNMENT_MODES:
            separator = re.search(r":=|=", query)
            value = query[separator.end():] if separator else query
            self._add(f"{_SELECT}{value}", value, len(_SELECT), guards, lineno)

    def _add(self, sql: str, in_body: str, prefix: int, guards: tuple[Guard, ...], lineno: int) -> None:
        self.found.extend(_located(sql, self._find(in_body, lineno), prefix, self.statement, guards))

    def _dynamic(self, child: Any, guards: tuple[Guard, ...], lineno: int) -> None:
        expression = child.get("PLpgSQL_expr", {}) if isinstance(child, dict) else {}
        query = str(expression.get("query") or "")
        offset = self._find(query, lineno)
        sql = executed_sql(query)
        if sql is None:
            where = self.statement.start if offset is None else offset
            message = "dynamic SQL that cannot be checked: EXECUTE " + " ".join(query.split())
            self.found.append(UncheckedSql(where, message, self.statement.start, guards,
                                           "" if offset is None else query))
            return
        executed = _located(sql, None, 0, _pinned_at(self.statement, offset), guards)
        self.found.extend(_contained(item, self.statement.start) for item in executed)

    def _find(self, query: str, lineno: int) -> int | None:
        """File offset of ``query`` in the body, searched from line ``lineno`` of the body on."""
        if self.body_start is None:
            return None
        line_start = 0
        for _ in range(max(lineno - 1, 0)):
            newline = self.body.find("\n", line_start)
            if newline < 0:
                break
            line_start = newline + 1
        index = self.body.find(query, line_start)
        if index < 0:
            index = self.body.find(query)
        return self.body_start + index if index >= 0 else None


def _pinned_at(statement: ParsedStatement, offset: int | None) -> ParsedStatement:
    """A stand-in container whose start is where built SQL is reported (the EXECUTE)."""
    start = statement.start if offset is None else offset
    return ParsedStatement(node=statement.node, start=start, text="", base=start, pinned=True)


def _contained(item: BodyItem, container: int) -> BodyItem:
    if isinstance(item, UncheckedSql):
        return UncheckedSql(item.offset, item.message, container, item.guards, item.text)
    return ParsedStatement(node=item.node, start=item.start, text=item.text, base=item.base, guards=item.guards,
                           container=container, pinned=True)


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
