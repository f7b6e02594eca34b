r"""Split a SQL file into the statements ``psql -f`` would send, using PostgreSQL's own lexer.

The Supabase CLI's splitter (supadeploy.migrations.splitter) decides what the history records; this module
decides what is executed. Its tokens come from libpg_query's scanner (``pglast.parser.scan``: the server's
``scan.l``), and on top of them it applies psql's rules for where a statement ends (``psqlscan.l``):

* a ``;`` ends a statement outside parentheses and outside the body of a ``CREATE [OR REPLACE] FUNCTION |
  PROCEDURE … BEGIN … END`` (psql counts ``BEGIN``/``CASE``/``END`` words in such a statement);
* leading whitespace and ``--`` comments are not part of a statement; the ``;`` is;
* whatever follows the last ``;`` is the last statement.

``standard_conforming_strings = off`` makes plain ``'…'`` strings take backslash escapes; the scanner always
lexes them as the setting's default (on), so for text lexed with the setting off every ``\\`` and ``\'``
pair is masked, same length, before scanning. ``SET standard_conforming_strings`` in the file switches the
mode for the statements after it, as psql does.

Big files are scanned in windows that end at a statement boundary, so memory stays proportional to one window.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from pglast import parser as pg_parser

__all__ = ["LexedStatement", "LexerError", "StatementList", "StatementOffsets", "lex_statements"]

WINDOW_CHARS = 1 << 18
_SCS_OFF_PAIRS = re.compile(r"\\[\\']")
_SEMICOLON = "ASCII_59"
_OPEN_PAREN = "ASCII_40"
_CLOSE_PAREN = "ASCII_41"
_BACKSLASH = "ASCII_92"
_COMMENTS = ("SQL_COMMENT", "C_COMMENT")
_FIRST_WORDS = 8
_STD_STREAMS = ("stdin", "stdout")
_ROUTINE_WORDS = {"create": "c", "function": "f", "procedure": "p", "or": "o", "replace": "r"}
# Statements starting with these words keep their first words (what supadeploy.migrations.executable checks);
# for the others only where they are is kept.
_DETAILED_FIRST_WORDS = frozenset({"begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release",
                                   "prepare", "set", "reset", "discard", "copy"})
_FIRST_WORD = re.compile(r"[A-Za-z_]+")
_ROUTINE_BODY_WORD = re.compile(r"\b(?:begin|atomic|case|end)\b", re.IGNORECASE)
_LINE_END = re.compile(r"[\n\r]")
_TRUE_WORDS = {"on", "true", "yes", "1", "'on'", "'true'", "'yes'", "'1'"}
_FALSE_WORDS = {"off", "false", "no", "0", "'off'", "'false'", "'no'", "'0'"}


@dataclass(frozen=True)
class LexedStatement:
    """One statement as psql would send it: ``source[offset:offset + len(text)] == text``."""

    text: str
    offset: int
    words: tuple[str, ...]
    """Its first tokens (comments left out): keywords and identifiers lower-cased, quoted identifiers and
    constants as written, punctuation as itself."""
    has_backslash_command: bool = False
    """A ``\\`` outside strings and comments: a psql meta-command."""
    names_std_stream: bool = False
    """The word STDIN or STDOUT appears (COPY ... FROM STDIN needs psql to send the data that follows)."""


class StatementOffsets:
    """Where the statements of one source are, as they are found: a 50 MB file of 500,000 statements costs a few
    MB. Only the first words of the statements executable.py checks are kept."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.starts = array("q")
        self.ends = array("q")
        self.details: dict[int, tuple[tuple[str, ...], bool, bool]] = {}

    def add(self, start: int, end: int, words: Sequence[str], backslash: bool, std_stream: bool) -> None:
        if (words and words[0] in _DETAILED_FIRST_WORDS) or backslash or std_stream:
            self.details[len(self.starts)] = (tuple(words), backslash, std_stream)
        self.starts.append(start)
        self.ends.append(end)

    def statement(self, index: int) -> LexedStatement:
        words, backslash, std_stream = self.details.get(index, ((), False, False))
        start, end = self.starts[index], self.ends[index]
        return LexedStatement(self.source[start:end], start, words, backslash, std_stream)


class StatementList(Sequence[LexedStatement]):
    """Statements of one source (all of them, or a contiguous part, e.g. a wrapped file without its BEGIN and
    COMMIT); each LexedStatement, with its text, is made when it is read."""

    def __init__(self, offsets: StatementOffsets, indexes: range | None = None) -> None:
        self._offsets = offsets
        self._indexes = indexes if indexes is not None else range(len(offsets.starts))

    def __len__(self) -> int:
        return len(self._indexes)

    @overload
    def __getitem__(self, index: int) -> LexedStatement: ...

    @overload
    def __getitem__(self, index: slice) -> StatementList: ...

    def __getitem__(self, index: int | slice) -> LexedStatement | StatementList:
        if isinstance(index, slice):
            return StatementList(self._offsets, self._indexes[index])
        return self._offsets.statement(self._indexes[index])

    def __iter__(self) -> Iterator[LexedStatement]:
        return (self._offsets.statement(index) for index in self._indexes)

    def detailed_indexes(self) -> list[int]:
        """Indexes of the statements whose first words were kept (transaction control, SET, COPY, …)."""
        first = self._indexes.start
        return sorted(index - first for index in self._offsets.details if index in self._indexes)


class LexerError(Exception):
    """The PostgreSQL lexer rejects the text (e.g. trailing junk after a number): ``offset`` in the source."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


def lex_statements(source: str, *, standard_conforming_strings: bool = True,
                   cli_statements: Collection[tuple[int, int]] | None = None) -> StatementList:
    """The statements of ``source`` as ``psql -f`` splits them, for a server with the given setting.

    ``cli_statements`` ((start, end) of the Supabase CLI's statements) allows a fast path: when libpg_query's
    own scanner split (C) ends statements exactly where the CLI does, and nothing in the file needs psql's
    BEGIN … END rule or a backslash, its boundaries are psql's; otherwise every token is read here.
    """
    if cli_statements is not None:
        fast = _scanner_split(source, cli_statements)
        if fast is not None:
            return fast
    statements = StatementOffsets(source)
    position = 1 if source.startswith("\ufeff") else 0  # a byte-order mark is not SQL (editors write one)
    scs = standard_conforming_strings
    initial_scs = standard_conforming_strings
    while position < len(source):
        size = WINDOW_CHARS
        while True:
            window_end = _window_end(source, position, size)
            resume, scs_change = _scan_window(source, position, window_end, scs, initial_scs, statements)
            if resume is not None:
                break
            size *= 2
        position = resume
        if scs_change is not None:
            scs = scs_change
    return StatementList(statements)


def _scanner_split(source: str, cli_statements: Collection[tuple[int, int]]) -> StatementList | None:
    """psql's statements from libpg_query's scanner split, or None when the token-by-token path is needed: a
    backslash anywhere (E'' strings, meta-commands: their lexing depends on settings), a routine that psql's
    BEGIN … END rule could see, a boundary the CLI does not share, or text the scanner rejects."""
    if "\\" in source:
        return None
    try:
        slices = pg_parser.split(source, with_parser=False, only_slices=True)
    except pg_parser.ParseError:
        return None
    stops = {piece.stop for piece in slices}
    cli_ends = {end for _, end in cli_statements}
    if not stops <= cli_ends or any(end not in stops and _skip_comments(source, start, end) < end
                                    for start, end in cli_statements):
        return None  # a boundary only one of them has (the CLI keeps comment-only statements of its own)
    statements = StatementOffsets(source)
    for piece in slices:
        start = _psql_start(source, piece.start, piece.stop)
        end = _terminator_end(source, piece.stop)
        first = _FIRST_WORD.match(source, code_start(source, start, piece.stop))
        word = first.group().lower() if first else ""
        if word == "create" and _ROUTINE_BODY_WORD.search(source, start, end):
            return None
        if word in _DETAILED_FIRST_WORDS:
            tokens = pg_parser.scan(source[start:end])
            words = [_word(source[start:end], token) for token in tokens if token.name not in _COMMENTS]
            statements.add(start, end, words[:_FIRST_WORDS], False, any(w in _STD_STREAMS for w in words))
        else:
            statements.add(start, end, (), False, False)
    return StatementList(statements)


def _psql_start(source: str, start: int, end: int) -> int:
    """Where psql's query buffer starts: after whitespace and -- comments (it keeps /* */ comments)."""
    position = start
    while position < end:
        if source[position].isspace():
            position += 1
        elif source.startswith("--", position):
            match = _LINE_END.search(source, position)
            position = match.end() if match else end
        else:
            break
    return position


def code_start(source: str, start: int, end: int) -> int:
    """The first character of ``source[start:end]`` that is not whitespace or a comment (``start`` if none)."""
    position = _skip_comments(source, start, end)
    return position if position < end else start


def _skip_comments(source: str, start: int, end: int) -> int:
    """Past the whitespace and comments at ``start`` (``end`` when there is nothing else)."""
    position = start
    while position < end:
        if source[position].isspace():
            position += 1
        elif source.startswith("--", position):
            match = _LINE_END.search(source, position)
            position = match.end() if match else end
        elif source.startswith("/*", position):
            depth, position = 1, position + 2
            while depth and position < end:
                if source.startswith("/*", position):
                    depth, position = depth + 1, position + 2
                elif source.startswith("*/", position):
                    depth, position = depth - 1, position + 2
                else:
                    position += 1
        else:
            return position
    return end


def _terminator_end(source: str, stop: int) -> int:
    """Just after the ``;`` that ends the statement whose code stops at ``stop`` (comments may come between),
    or ``stop`` at the end of the file."""
    position = _skip_comments(source, stop, len(source))
    return position + 1 if position < len(source) and source[position] == ";" else stop


def _window_end(source: str, start: int, size: int) -> int:
    """A window end after a newline (so no number or word is cut: only strings and comments span lines)."""
    if start + size >= len(source):
        return len(source)
    newline = source.rfind("\n", start, start + size)
    return newline + 1 if newline > start else start + size


def _scan_window(source: str, start: int, end: int, scs: bool, initial_scs: bool,
                 statements: StatementOffsets) -> tuple[int | None, bool | None]:
    """Add the statements that end inside ``source[start:end]``; where to resume, and a new scs value if one was
    SET (resume None: no statement ends in the window).

    At the end of the file the unterminated rest is the last statement. Elsewhere, only statements ended by a
    ``;`` count (the window may cut the next one), and scanning stops after a statement that changes
    standard_conforming_strings, so the rest is lexed in the new mode.
    """
    at_end = end == len(source)
    text = source[start:end]
    tokens, error = _tokens(text, scs)
    if error is not None:
        message, index = error
        if not message.startswith("unterminated"):
            raise LexerError(message, start + index)
        tokens = _tokens(text[:index], scs)[0]
        if at_end:  # psql sends the unterminated rest with the statement it belongs to
            tokens.append(pg_parser.Token(index, len(text) - 1, "UNTERMINATED", "NO_KEYWORD"))
    resume: int | None = None
    current = _Statement()
    for token in tokens:
        if token.name in _COMMENTS:
            if current.first is None and token.name == "C_COMMENT":
                current.first = token.start
            continue
        word = _word(text, token)
        if not current.add(token, word):
            continue
        ended, current = current, _Statement()
        resume = start + token.end + 1
        if ended.words == [";"]:  # an empty statement: psql sends nothing
            continue
        ended.store(statements, start, resume)
        change = _scs_change(tuple(ended.words), initial_scs)
        if change is not None and change != scs:
            return resume, change
    if at_end:
        if current.first is not None and current.words:
            current.store(statements, start, start + tokens[-1].end + 1)
        return len(source), None
    return resume, None


class _Statement:
    """The statement being read: where it starts, its first words, and psql's end-of-statement state."""

    def __init__(self) -> None:
        self.first: int | None = None
        self.words: list[str] = []
        self.backslash = False
        self.std_stream = False
        self.psql = _PsqlState()

    def add(self, token: pg_parser.Token, word: str) -> bool:
        """Take a token; True when it ends the statement."""
        if self.first is None:
            self.first = token.start
        if len(self.words) < _FIRST_WORDS:
            self.words.append(word)
        self.backslash = self.backslash or token.name == _BACKSLASH
        self.std_stream = self.std_stream or word in _STD_STREAMS
        return self.psql.ends_statement(token, word)

    def store(self, statements: StatementOffsets, window_start: int, end: int) -> None:
        first = window_start + (self.first if self.first is not None else 0)
        statements.add(first, end, self.words, self.backslash, self.std_stream)


def _tokens(text: str, scs: bool) -> tuple[list[pg_parser.Token], tuple[str, int] | None]:
    lexed = text if scs else _SCS_OFF_PAIRS.sub("__", text)
    try:
        return list(pg_parser.scan(lexed)), None
    except pg_parser.ParseError as error:
        message, index = error.args[0], int(error.args[1])
        return [], (message.split(" at or near ")[0], index)


def _word(text: str, token: pg_parser.Token) -> str:
    value = text[token.start:token.end + 1]
    if (token.kind != "NO_KEYWORD" or token.name == "IDENT") and not value.startswith('"'):
        return value.lower()
    return value


class _PsqlState:
    """psql's statement-end rules (psqlscan.l): parentheses and BEGIN … END of routine bodies."""

    def __init__(self) -> None:
        self.paren_depth = 0
        self.begin_depth = 0
        self.identifiers = ""
        self.identifier_count = 0

    def ends_statement(self, token: pg_parser.Token, word: str) -> bool:
        if token.name == _OPEN_PAREN:
            self.paren_depth += 1
        elif token.name == _CLOSE_PAREN:
            self.paren_depth = max(0, self.paren_depth - 1)
        elif token.name == _SEMICOLON:
            return self.paren_depth == 0 and self.begin_depth == 0
        elif token.kind != "NO_KEYWORD" or token.name == "IDENT":
            self._identifier(word)
        return False

    def _identifier(self, word: str) -> None:
        if self.identifier_count < 4:
            self.identifiers += _ROUTINE_WORDS.get(word, " ")
        self.identifier_count += 1
        ids = self.identifiers
        in_routine = ids[:1] == "c" and (ids[1:2] in ("f", "p") or (ids[1:3] == "or" and ids[3:4] in ("f", "p")))
        if not in_routine or self.paren_depth:
            return
        if word == "begin" or (word == "case" and self.begin_depth >= 1):  # CASE also ends with END
            self.begin_depth += 1
        elif word == "end" and self.begin_depth > 0:
            self.begin_depth -= 1


def _scs_change(words: tuple[str, ...], initial: bool) -> bool | None:
    """The standard_conforming_strings value a SET / RESET statement leaves, or None if it sets nothing."""
    if not words:
        return None
    rest = [word for word in words if word != ";"]
    if rest[:1] == ["reset"]:
        return initial if rest[1:2] in (["standard_conforming_strings"], ["all"]) else None
    if rest[:1] != ["set"]:
        return None
    rest = rest[1:]
    if rest[:1] in (["session"], ["local"]):
        rest = rest[1:]
    if rest[:1] != ["standard_conforming_strings"] or len(rest) < 3 or rest[1] not in ("to", "="):
        return None
    value = rest[2].lower()
    if value == "default":
        return initial
    if value in _TRUE_WORDS:
        return True
    if value in _FALSE_WORDS:
        return False
    return None
