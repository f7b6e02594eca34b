"""Literals for SQL text built by supadeploy (the catalog query and probe scripts take no parameters)."""

from __future__ import annotations

from collections.abc import Iterable


def literal(value: str | None) -> str:
    """A string literal that means ``value`` whatever standard_conforming_strings is (E'...' form)."""
    if value is None:
        return "NULL"
    if "\x00" in value:
        raise ValueError("a SQL string cannot contain a NUL character")
    return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def text_array(values: Iterable[str]) -> str:
    items = ", ".join(literal(value) for value in values)
    return f"ARRAY[{items}]::text[]" if items else "ARRAY[]::text[]"
