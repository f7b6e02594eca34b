"""Do two lists of statements say the same thing once comments, whitespace and statement splitting are set
aside? Compared through PostgreSQL's own parser (pglast): the parse trees without their locations.

A comment inside a function body or a string literal is part of a constant, so changing it is a real change.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

_LOCATION_KEYS = ("location", "stmt_location", "stmt_len")  # and any other "…_location" (e.g. DefElem's arg_location)


def normalized_parse_trees(statements: Sequence[str]) -> str | None:
    """The statements' parse trees without locations (None when they do not parse)."""
    from pglast.parser import ParseError, parse_sql_json

    try:
        document = json.loads(parse_sql_json("\n;\n".join(statements)))
    except (ParseError, ValueError):
        return None
    return json.dumps(_strip_locations(document.get("stmts", [])), sort_keys=True)


def only_comments_differ(local: Sequence[str], stored: Sequence[str]) -> bool:
    """True when ``local`` and ``stored`` differ as text but not as statements (both parse, to the same trees,
    and hold at least one statement)."""
    if tuple(local) == tuple(stored):
        return False
    mine = normalized_parse_trees(local)
    return mine is not None and mine != "[]" and mine == normalized_parse_trees(stored)


def _strip_locations(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _strip_locations(item) for key, item in value.items()
                if key not in _LOCATION_KEYS and not key.endswith("_location")}
    if isinstance(value, list):
        return [_strip_locations(item) for item in value]
    return value
