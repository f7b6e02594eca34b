"""A line-fitting pretty printer: the document model and algorithm of Wadler/Prettier, the subset we need.

postgres-meta formats its TypeScript with oxfmt (Prettier-compatible, ``printWidth: 80``). To produce the
same bytes we build the same kind of document Prettier builds for each construct (groups that print flat
when they fit in the remaining width, else broken; indents; "if the enclosing group broke" alternatives)
and print it with the same algorithm, including the look-ahead over the rest of the line.

A document is a ``str``, a ``list`` of documents, or one of the node classes below.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Union

Doc = Union[str, list["Doc"], "Group", "Indent", "Align", "Line", "IfBreak", "BreakParent"]

FLAT = 0
BREAK = 1


class Group:
    """Print flat when everything up to the next possible line break fits; else break its lines."""

    __slots__ = ("broken", "contents")

    def __init__(self, contents: Doc, broken: bool = False) -> None:
        self.contents = contents
        self.broken = broken


@dataclass(frozen=True, slots=True)
class Indent:
    contents: Doc


@dataclass(frozen=True, slots=True)
class Align:
    width: int
    contents: Doc


@dataclass(frozen=True, slots=True)
class Line:
    """A space (or nothing, when soft) in flat mode, a newline in break mode; hard lines always break."""

    soft: bool = False
    hard: bool = False


@dataclass(frozen=True, slots=True)
class IfBreak:
    broken: Doc
    flat: Doc = ""


@dataclass(frozen=True, slots=True)
class BreakParent:
    pass


LINE = Line()
SOFTLINE = Line(soft=True)
BREAK_PARENT = BreakParent()
HARDLINE: list[Doc] = [Line(hard=True), BREAK_PARENT]


def join(separator: Doc, docs: list[Doc]) -> list[Doc]:
    result: list[Doc] = []
    for index, doc in enumerate(docs):
        if index:
            result.append(separator)
        result.append(doc)
    return result


def string_width(text: str) -> int:
    """Display width like Prettier's getStringWidth: wide East Asian characters count 2, marks 0."""
    if text.isascii():
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def propagate_breaks(doc: Doc) -> bool:
    """Mark every group that contains a hard line or a broken group as broken. Returns whether ``doc`` does."""
    if isinstance(doc, str):
        return False
    if isinstance(doc, list):
        found = False
        for part in doc:
            if propagate_breaks(part):
                found = True
        return found
    if isinstance(doc, Group):
        inner = propagate_breaks(doc.contents)
        if inner:
            doc.broken = True
        return doc.broken
    if isinstance(doc, (Indent, Align)):
        return propagate_breaks(doc.contents)
    if isinstance(doc, IfBreak):
        broken = propagate_breaks(doc.broken)
        flat = propagate_breaks(doc.flat)
        return broken or flat
    return isinstance(doc, BreakParent)


@dataclass
class _Printer:
    width: int
    out: list[str] = field(default_factory=list)
    position: int = 0

    def trim(self) -> None:
        while self.out:
            stripped = self.out[-1].rstrip(" \t")
            if stripped:
                self.out[-1] = stripped
                return
            self.out.pop()

    def fits(self, next_command: tuple[int, int, Doc], rest: list[tuple[int, int, Doc]], remaining: int) -> bool:
        rest_index = len(rest)
        commands = [next_command]
        while remaining >= 0:
            if not commands:
                if rest_index == 0:
                    return True
                rest_index -= 1
                commands.append(rest[rest_index])
                continue
            indentation, mode, doc = commands.pop()
            if isinstance(doc, str):
                remaining -= string_width(doc)
            elif isinstance(doc, list):
                for part in reversed(doc):
                    commands.append((indentation, mode, part))
            elif isinstance(doc, (Indent, Align)):
                commands.append((indentation, mode, doc.contents))
            elif isinstance(doc, Group):
                commands.append((indentation, BREAK if doc.broken else mode, doc.contents))
            elif isinstance(doc, IfBreak):
                chosen = doc.broken if mode == BREAK else doc.flat
                if chosen:
                    commands.append((indentation, mode, chosen))
            elif isinstance(doc, Line):
                if mode == BREAK or doc.hard:
                    return True
                if not doc.soft:
                    remaining -= 1
        return False

    def print(self, doc: Doc, indentation: int = 0) -> str:
        commands: list[tuple[int, int, Doc]] = [(indentation, BREAK, doc)]
        remeasure = False
        while commands:
            indentation, mode, doc = commands.pop()
            if isinstance(doc, str):
                self.out.append(doc)
                self.position += string_width(doc)
            elif isinstance(doc, list):
                for part in reversed(doc):
                    commands.append((indentation, mode, part))
            elif isinstance(doc, Indent):
                commands.append((indentation + 2, mode, doc.contents))
            elif isinstance(doc, Align):
                commands.append((indentation + doc.width, mode, doc.contents))
            elif isinstance(doc, Group):
                if mode == FLAT and not remeasure:
                    commands.append((indentation, BREAK if doc.broken else FLAT, doc.contents))
                    continue
                remeasure = False
                flat = (indentation, FLAT, doc.contents)
                if not doc.broken and self.fits(flat, commands, self.width - self.position):
                    commands.append(flat)
                else:
                    commands.append((indentation, BREAK, doc.contents))
            elif isinstance(doc, IfBreak):
                chosen = doc.broken if mode == BREAK else doc.flat
                if chosen:
                    commands.append((indentation, mode, chosen))
            elif isinstance(doc, Line):
                if mode == FLAT and not doc.hard:
                    if not doc.soft:
                        self.out.append(" ")
                        self.position += 1
                    continue
                if mode == FLAT:
                    remeasure = True
                self.trim()
                self.out.append("\n" + " " * indentation)
                self.position = indentation
        return "".join(self.out)


def print_doc(doc: Doc, width: int = 80, indentation: int = 0) -> str:
    """Print ``doc`` starting at column ``indentation`` of a line indented that much (and followed by a line
    break, as a member of an expanded object is)."""
    propagate_breaks(doc)
    return _Printer(width, position=indentation).print(doc, indentation)
