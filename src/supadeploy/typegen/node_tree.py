"""pg_node_tree text (``pg_rewrite.ev_action``) as Nodes, lists, strings and None (``<>``).

``{TYPE :field value ...}`` is a node, ``( ... )`` a list (``(i 1 2)``, ``(o ...)``, ``(b ...)``, ``(x ...)``
lists carry a marker, dropped), anything else a token; special characters of names are backslash-escaped
(outfuncs.c's outToken). A field keeps its first value (a field printed as several tokens, such as a
constant's bytes, keeps the first).

The fast path turns the text into JSON with ``str.replace`` (C), reads it with ``json.loads`` (C), and builds a
node's fields only when they are read: NOT NULL inference reads a small part of each tree, and walking every
token in Python took ~0.1 s at 200 views. Text the fast path does not expect (separators other than one space)
goes through the token-by-token parser, which is also the reference the tests compare the fast path with.
"""

from __future__ import annotations

import json
import re
from typing import Any

_TOKEN = re.compile(r"[(){}]|(?:\\.|[^ \t\n(){}\\])+|\\", re.DOTALL)
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)
_LIST_MARKERS = frozenset({"i", "o", "b", "x"})

# Escapes and brackets hidden behind control characters (never in pg_node_tree text) before the structure
# becomes JSON, and put back in each token read (a lone backslash escapes the character after it: dropped).
_HIDDEN = (("\\\\", "\x01"), ("\\ ", "\x02"), ("\\(", "\x03"), ("\\)", "\x04"), ("\\{", "\x05"), ("\\}", "\x06"),
           ("\\\n", "\x07"), ("\\\t", "\x08"), ("\\", "\x0e"), ("[", "\x0b"), ("]", "\x0c"), ('"', "\x0f"))
_SHOWN = str.maketrans({"\x01": "\\", "\x02": " ", "\x03": "(", "\x04": ")", "\x05": "{", "\x06": "}", "\x07": "\n",
                        "\x08": "\t", "\x0e": None, "\x0b": "[", "\x0c": "]", "\x0f": '"'})
_STRUCTURE = (("{", '["{","'), ("}", '"]'), ("(", '["(","'), (")", '"]'), (" ", '","'), ('"[', "["), (']"', "]"))
_NULL = "<>"


class NodeTreeError(ValueError):
    pass


class Node:
    """``{TYPE :field value ...}``; ``fields`` (names without the colon) built when first read."""

    __slots__ = ("_fields", "_raw", "type")

    def __init__(self, type_: str, fields: dict[str, Any] | None = None, raw: list[Any] | None = None) -> None:
        self.type = type_
        self._fields = fields
        self._raw = raw

    @property
    def fields(self) -> dict[str, Any]:
        if self._fields is None:
            self._fields = _fields(self._raw or [])
            self._raw = None
        return self._fields


def parse_node_tree(text: str) -> Any:
    """The tree of ``text``; NodeTreeError (a ValueError) when it is not a pg_node_tree."""
    if "\t" in text or "\n" in text.replace("\\\n", "") or "  " in text or not text.startswith(("(", "{")):
        return parse_node_tree_tokens(text)
    hidden = text
    for plain, placeholder in _HIDDEN:
        if plain in hidden:
            hidden = hidden.replace(plain, placeholder)
    for plain, structure in _STRUCTURE:
        hidden = hidden.replace(plain, structure)
    try:
        raw = json.loads(hidden, strict=False)
    except ValueError:
        return parse_node_tree_tokens(text)  # which words what is wrong
    return _value(raw)


def _value(raw: Any) -> Any:
    if isinstance(raw, str):
        if raw == _NULL:
            return None
        return raw if raw.isprintable() else raw.translate(_SHOWN)  # placeholders are control characters
    if not raw:
        raise NodeTreeError("unexpected structure in pg_node_tree")
    if raw[0] == "{":
        if len(raw) < 2 or not isinstance(raw[1], str) or not raw[1]:
            raise NodeTreeError("a pg_node_tree node without a type")
        return Node(_value(raw[1]), raw=raw)
    items = [item for item in raw[1:] if item != ""]  # "()" reads as ["(", ""]
    if items and isinstance(items[0], str) and items[0] in _LIST_MARKERS:
        items = items[1:]
    return [_value(item) for item in items]


def _fields(raw: list[Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    name: str | None = None
    for item in raw[2:]:
        if isinstance(item, str) and item.startswith(":"):
            name = item[1:]
            fields[name] = None
        elif name is not None:
            fields[name] = _value(item)
            name = None
    return fields


def parse_node_tree_tokens(text: str) -> Any:
    """A pg_node_tree as Nodes, lists, strings and None (``<>``): one pass over the tokens with a stack of the
    nodes and lists being read. A field keeps its first value (a field printed as several tokens, such as a
    constant's bytes, keeps the first)."""
    stack: list[list[Any]] = []  # [node, field, filled] or [items]
    root: list[Any] = []
    expect_type = False
    skip_marker = False

    def deliver(value: Any) -> None:
        if not stack:
            root.append(value)
            return
        frame = stack[-1]
        if len(frame) == 1:
            frame[0].append(value)
        elif not frame[2]:
            frame[0].fields[frame[1]] = value
            frame[2] = True

    for token in _TOKEN.findall(text):
        if expect_type:
            stack.append([Node(_text(token), {}), None, True])
            expect_type = False
            continue
        if skip_marker:
            skip_marker = False
            if token in _LIST_MARKERS:
                continue
        if root:
            raise NodeTreeError("trailing tokens after pg_node_tree")
        if token == "{":
            expect_type = True
        elif token == "(":
            stack.append([[]])
            skip_marker = True
        elif token in ("}", ")"):
            if not stack or (len(stack[-1]) == 1) != (token == ")"):
                raise NodeTreeError(f"unbalanced '{token}' in pg_node_tree")
            deliver(stack.pop()[0])
        elif token[0] == ":" and stack and len(stack[-1]) == 3:
            frame = stack[-1]
            frame[1] = token[1:]
            frame[0].fields[frame[1]] = None
            frame[2] = False
        else:
            deliver(None if token == "<>" else _text(token))
    if stack or expect_type or not root:
        raise NodeTreeError("unexpected end of pg_node_tree")
    return root[0]


def _text(token: str) -> str:
    return _UNESCAPE.sub(r"\1", token) if "\\" in token else token
