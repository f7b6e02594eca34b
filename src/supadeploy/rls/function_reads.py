"""Which tables and views a function's body reads, for the SECURITY DEFINER lint.

SQL bodies are parsed with pglast; PL/pgSQL bodies with its PL/pgSQL parser, then each embedded query as SQL.
Every table reference (``RangeVar``) counts, whatever the statement, also in the SQL of a string constant
(``EXECUTE 'select … from auth.users'``). When a body cannot be parsed (another
language, or PL/pgSQL the parser does not accept, e.g. ``auth.users%ROWTYPE``), its ``schema.name`` words
are taken instead. Unqualified names resolve through the function's ``SET search_path`` (``public``
without one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from pglast.parser import ParseError, parse_plpgsql_json, parse_sql_json

from supadeploy.rls.catalog import DefinerBody

_IDENTIFIER = r'(?:[A-Za-z_][\w$]*|"[^"]+")'
_QUALIFIED_NAME = re.compile(rf"({_IDENTIFIER})\s*\.\s*({_IDENTIFIER})")
_ASSIGNMENT = re.compile(r'^\s*[\w."$]+(?:\[[^\]]*\])?\s*:?=\s*', re.DOTALL)
# The PL/pgSQL parser checks RETURN against the declared result: try the three shapes a body can have.
_PLPGSQL_RESULTS = ("SETOF record", "record", "void")


def _strings(value: Any, key: str) -> Iterator[str]:
    if isinstance(value, dict):
        for name, item in value.items():
            if name == key and isinstance(item, str):
                yield item
            else:
                yield from _strings(item, key)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, key)


def _range_vars(value: Any) -> Iterator[tuple[str | None, str]]:
    if isinstance(value, dict):
        for name, item in value.items():
            if name == "RangeVar" and isinstance(item, dict) and "relname" in item:
                yield item.get("schemaname"), item["relname"]
            else:
                yield from _range_vars(item)
    elif isinstance(value, list):
        for item in value:
            yield from _range_vars(item)


def _sql_references(sql: str) -> list[tuple[str | None, str]]:
    """The tables ``sql`` names, and those of the SQL in its string constants (``EXECUTE 'select …'``)."""
    tree = json.loads(parse_sql_json(sql))
    references = list(_range_vars(tree))
    for constant in _string_constants(tree):
        try:
            references += _range_vars(json.loads(parse_sql_json(constant)))
        except ParseError:
            continue
    return references


def _string_constants(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for name, item in value.items():
            if name == "A_Const" and isinstance(item, dict) and isinstance(item.get("sval"), dict):
                text = item["sval"].get("sval", "")
                if " " in text:
                    yield text
            else:
                yield from _string_constants(item)
    elif isinstance(value, list):
        for item in value:
            yield from _string_constants(item)


def _plpgsql_query_references(query: str) -> list[tuple[str | None, str]]:
    """An embedded PL/pgSQL query: a statement, an expression (``exists (...)``) or an assignment."""
    for text in (query, "SELECT " + query, "SELECT " + _ASSIGNMENT.sub("", query, count=1)):
        try:
            return _sql_references(text)
        except ParseError:
            continue
    return []


def _dollar_quoted(body: str) -> str:
    tag = "$supadeploy$"
    while tag in body:
        tag = tag[:-1] + "_$"
    return f"{tag}{body}{tag}"


def _parsed_references(body: DefinerBody) -> list[tuple[str | None, str]]:
    if body.language == "sql":
        return _sql_references(body.source)
    if body.language == "plpgsql":
        tree = _plpgsql_tree(body.source)
        return [reference for query in _strings(tree, "query") for reference in _plpgsql_query_references(query)]
    raise ParseError(f"no parser for language {body.language}")


def _plpgsql_tree(source: str) -> Any:
    failure = ParseError("empty body")
    for result in _PLPGSQL_RESULTS:
        definition = (f"CREATE FUNCTION pg_temp.supadeploy_body() RETURNS {result} LANGUAGE plpgsql "
                      f"AS {_dollar_quoted(source)}")
        try:
            return json.loads(parse_plpgsql_json(definition))
        except ParseError as error:
            failure = error
    raise failure


def _qualified_words(source: str) -> list[tuple[str | None, str]]:
    """Every ``schema.name`` of the text, in strings and comments too (over-approximating is the safe side)."""
    return [(schema.strip('"') if schema.startswith('"') else schema.lower(),
             name.strip('"') if name.startswith('"') else name.lower())
            for schema, name in _QUALIFIED_NAME.findall(source)]


def _search_path(setting: str | None) -> tuple[str, ...]:
    if setting is None:
        return ("public",)
    names = [name.strip().strip('"') for name in setting.split(",")]
    return tuple(name for name in names if name and name != "$user")


@lru_cache(maxsize=4096)
def relations_read(body: DefinerBody) -> frozenset[str]:
    """schema.name of every relation the body refers to (an unqualified name: one per search_path schema)."""
    try:
        references = _parsed_references(body)
    except (ParseError, ValueError):
        references = _qualified_words(body.source)
    names: set[str] = set()
    for schema, name in references:
        if schema is not None:
            names.add(f"{schema}.{name}")
        else:
            names.update(f"{path_schema}.{name}" for path_schema in _search_path(body.search_path))
    return frozenset(names)
