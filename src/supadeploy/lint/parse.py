"""Parse a migration file with the real PostgreSQL parser (pglast / libpg_query).

Every statement keeps the character offset where it starts in the file, and every node location the
parser reports is turned into an offset in the file, so a finding can name the exact line and column.
This module parses the top-level statements; :mod:`supadeploy.lint.sources` finds the statements inside
them that will run too (``DO`` blocks, functions called, ``EXECUTE``, data-modifying ``WITH``).

A file the parser rejects yields a syntax error at the exact position; the file is then parsed again
statement by statement (split the way the Supabase CLI splits it) so the other statements are still
linted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pglast import ast, parse_sql
from pglast.parser import ParseError

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
    container: int | None = None
    """File offset of the DO block or function definition whose body holds the statement."""
    pinned: bool = False
    """True when the text is not in the file (SQL built by EXECUTE): every location is ``start``."""

    def offset_of(self, node: ast.Node | None) -> int:
        """File offset of ``node`` (the statement's start when the node has no location)."""
        location = getattr(node, "location", None) if node is not None else None
        if isinstance(location, int) and location >= 0 and not self.pinned:
            return self.base + location
        return self.start

    def find(self, pattern: str, nth: int = 0, after: int | None = None) -> int:
        """File offset of the ``nth`` case-insensitive match of ``pattern`` in the statement's text
        (after file offset ``after``), for clauses the parser does not locate; the start if none."""
        if self.pinned:
            return self.start
        begin = max(0, (after - self.start) if after is not None else 0)
        matches = list(re.finditer(pattern, blank_comments(self.text), re.IGNORECASE))
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
        parsed.statements.append(ParsedStatement(node=raw.stmt, start=start, text=statement_text, base=0))
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
            parsed.statements.append(ParsedStatement(node=raw.stmt, start=start, text=statement_text,
                                                     base=piece.offset))
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


def blank_comments(text: str) -> str:
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
