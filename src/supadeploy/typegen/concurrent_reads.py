"""The rows of several read-only queries at once, over a target with ConcurrentTextReads (libpq sessions).

Each query becomes one statement that returns its rows as one JSON document,
``[[column, ...], ...]``; the values come back as JSON gives them (numbers, booleans, strings, lists and,
for ``json`` columns, the parsed value), which is what psycopg gives for the column types the typegen
queries select (int, int8, bool, text, text[], int[], json; real is read as a number either way).
Parameters are inlined as literals: the catalog queries only ever take lists of names or of OIDs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from supadeploy.rls.sqltext import literal
from supadeploy.targets.base import ConcurrentTextReads


@dataclass(frozen=True)
class Query:
    """One query of ``columns`` columns, with its ``%s`` parameters (lists of text or of ints)."""

    sql: str
    columns: int
    params: Sequence[Sequence[str] | Sequence[int]] = ()


class PendingRows:
    """The rows of one query being read on its own thread; calling it waits for them (or raises its error)."""

    def __init__(self, target: ConcurrentTextReads, statement: str) -> None:
        self._rows: list[tuple[Any, ...]] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._read, args=(target, statement), daemon=True,
                                        name="supadeploy-typegen-read")
        self._thread.start()

    def _read(self, target: ConcurrentTextReads, statement: str) -> None:
        try:
            (text,) = target.read_texts([statement])
            self._rows = [tuple(row) for row in json.loads(text or "[]")]
        except BaseException as error:  # re-raised on the thread that asks for the rows
            self._error = error

    def __call__(self) -> list[tuple[Any, ...]]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._rows


def start_reads(target: ConcurrentTextReads, queries: Sequence[Query]) -> list[PendingRows]:
    """Every query started at once, each on its own session and thread: the caller works on the rows that
    arrive first while the server still runs the others (libpq waits without the GIL)."""
    return [PendingRows(target, json_rows_statement(query)) for query in queries]


def rows_at_once(target: ConcurrentTextReads, queries: Sequence[Query]) -> list[list[tuple[Any, ...]]]:
    """The rows of every query, all run at once."""
    return [pending() for pending in start_reads(target, queries)]


def json_rows_statement(query: Query) -> str:
    """``query`` as one statement whose single value is the JSON array of its rows."""
    inlined = query.sql % tuple(_array_literal(values) for values in query.params)
    names = ", ".join(f"c{index}" for index in range(query.columns))
    return (f"select coalesce(json_agg(json_build_array({names})), '[]')::text\n"
            f"from ({inlined}) as rows_read({names})")


def _array_literal(values: Sequence[str] | Sequence[int]) -> str:
    if not values:
        return "'{}'"  # typed by its context, as psycopg's empty list is
    if all(isinstance(value, int) and not isinstance(value, bool) for value in values):
        return "ARRAY[" + ", ".join(str(value) for value in values) + "]::int8[]"
    return "ARRAY[" + ", ".join(literal(str(value)) for value in values) + "]::text[]"
