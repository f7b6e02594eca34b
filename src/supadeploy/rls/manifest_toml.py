"""Reading policies.toml quickly.

``tomllib`` is pure Python: a manifest of 2,000 tables (1 MB) takes it ~0.3 s. The tables part of the file
is written by supadeploy in a strict subset of TOML (one ``key = value`` per line, basic strings, booleans,
integers, arrays of strings, ``[tables.S.T]`` and ``[[tables.S.T.policies]]`` headers), which a line
reader parses in a fraction of that. Anything outside that subset, and the probes part, go through
``tomllib``: the result is always what ``tomllib`` would return, and errors are always ``tomllib``'s.
"""

from __future__ import annotations

import json
import re
from typing import Any

from supadeploy import toml_files
from supadeploy.toml_files import TOMLDecodeError

_STRING = r'"(?:[^"\\\x00-\x1f\x7f]|\\["\\nrt]|\\u[0-9a-fA-F]{4})*"'
_KEY = rf"(?:[A-Za-z0-9_-]+|{_STRING})"
_TABLE_HEADER = re.compile(rf"^\[tables\.({_KEY})\.({_KEY})\]$")
_POLICY_HEADER = re.compile(rf"^\[\[tables\.({_KEY})\.({_KEY})\.policies\]\]$")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_STRING_VALUE = re.compile(_STRING)
_ARRAY_VALUE = re.compile(rf"\[(?:{_STRING}(?:, {_STRING})*)?\]")
_INTEGER_VALUE = re.compile(r"0|[1-9][0-9]*")
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_PROBES_HEADER = re.compile(r"^\s*\[\[\s*probes\s*\]\]", re.MULTILINE)


class _NotSimple(Exception):
    """The text leaves the strict subset: let tomllib read it."""


def _key(raw: str) -> str:
    return str(json.loads(raw)) if raw.startswith('"') else raw


def _value(raw: str) -> Any:
    if raw == "true" or raw == "false":
        return raw == "true"
    if raw[:1] == '"' and _STRING_VALUE.fullmatch(raw):
        return raw[1:-1] if "\\" not in raw else json.loads(raw)
    if raw[:1] == "[" and _ARRAY_VALUE.fullmatch(raw):
        return json.loads(raw)
    if _INTEGER_VALUE.fullmatch(raw):
        return int(raw)
    raise _NotSimple


def _tables_part(text: str) -> dict[str, Any]:
    document: dict[str, Any] = {}
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    defined: set[tuple[str, str]] = set()
    arrays: set[tuple[str, str]] = set()
    current: dict[str, Any] = document
    for line in text.splitlines():
        if not line or line.isspace() or line.startswith("#"):
            continue
        if _SURROGATE.search(line):
            raise _NotSimple
        if line[0] != "[":
            key, equals, raw = line.partition(" = ")
            if not equals or key in current or not _BARE_KEY.fullmatch(key):
                raise _NotSimple
            current[key] = _value(raw)
            continue
        match = _TABLE_HEADER.match(line) or _POLICY_HEADER.match(line)
        if match is None:
            raise _NotSimple
        schema, name = _key(match.group(1)), _key(match.group(2))
        entry = tables.setdefault(schema, {}).setdefault(name, {})
        if line.startswith("[["):
            if (schema, name) not in arrays:  # an array of tables cannot extend a `policies = [...]` value
                if "policies" in entry:
                    raise _NotSimple
                arrays.add((schema, name))
                entry["policies"] = []
            current = {}
            entry["policies"].append(current)
        else:
            if (schema, name) in defined:
                raise _NotSimple
            defined.add((schema, name))
            current = entry
    if tables:
        if "tables" in document:
            raise _NotSimple
        document["tables"] = tables
    return document


def loads(text: str) -> dict[str, Any]:
    """Parse a manifest: the same document as ``toml_files.loads(text)``, raising the same errors."""
    probes = _PROBES_HEADER.search(text)
    head, tail = (text[:probes.start()], text[probes.start():]) if probes else (text, "")
    try:
        document = _tables_part(head)
        rest: dict[str, Any] = toml_files.loads(tail) if tail else {}
        if set(rest) - {"probes"} or "probes" in document:
            raise _NotSimple
    except (_NotSimple, ValueError, TOMLDecodeError):
        return dict(toml_files.loads(text))
    document.update(rest)
    return document
