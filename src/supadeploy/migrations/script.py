"""One migration as one message to the server: BEGIN, limits, history row, statements, COMMIT, reset.

Sending a migration as a single simple-query message costs one round trip instead of one per statement,
while Postgres still runs the statements one after the other inside the explicit transaction. Error
positions that Postgres reports against the whole message are mapped back to the statement they fall in.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

# Each statement gets a newline before its ';' so a trailing '-- comment' cannot swallow the separator.
STATEMENT_SEPARATOR = "\n;\n"


@dataclass(frozen=True)
class MigrationScript:
    text: str
    statement_starts: tuple[int, ...]
    statement_ends: tuple[int, ...]

    def locate(self, position: int) -> tuple[int, int] | None:
        """Map a 1-based character position in ``text`` to (statement index, 1-based position in it)."""
        offset = position - 1
        index = bisect.bisect_right(self.statement_starts, offset) - 1
        if index < 0 or offset >= self.statement_ends[index]:
            return None
        return index, offset - self.statement_starts[index] + 1


def build_script(prologue: str, statements: list[str], epilogue: str) -> MigrationScript:
    """``prologue`` and ``epilogue`` are complete SQL text ending/starting with their own separators."""
    parts = [prologue]
    length = len(prologue)
    starts: list[int] = []
    ends: list[int] = []
    for statement in statements:
        starts.append(length)
        ends.append(length + len(statement))
        parts.append(statement)
        parts.append(STATEMENT_SEPARATOR)
        length += len(statement) + len(STATEMENT_SEPARATOR)
    parts.append(epilogue)
    return MigrationScript(text="".join(parts), statement_starts=tuple(starts), statement_ends=tuple(ends))
