"""Reading what the server programs print: the first line (for one-line errors), the tail (for a log)."""

from __future__ import annotations


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
