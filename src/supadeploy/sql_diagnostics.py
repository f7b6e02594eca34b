"""What Postgres said about a failed statement, the same typed value whichever way the statement was sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

INSUFFICIENT_PRIVILEGE = "42501"
UNDEFINED_COLUMN = "42703"
UNDEFINED_TABLE = "42P01"
UNDEFINED_FUNCTION = "42883"
INVALID_SCHEMA_NAME = "3F000"


@dataclass(frozen=True)
class SqlDiagnostics:
    """Postgres's error fields: ``position`` is 1-based within the statement that failed, when known."""

    sqlstate: str | None
    message: str
    detail: str | None = None
    hint: str | None = None
    context: str | None = None
    position: int | None = None

    @classmethod
    def of_psycopg(cls, error: psycopg.Error) -> SqlDiagnostics:
        diag = error.diag
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return cls(sqlstate=diag.sqlstate, message=diag.message_primary or first_line,
                   detail=diag.message_detail, hint=diag.message_hint, context=diag.context,
                   position=_positive_int(diag.statement_position))

    def render(self) -> str:
        """The message with its SQLSTATE, on one line."""
        return f"{self.message} [SQLSTATE {self.sqlstate}]" if self.sqlstate else self.message


def _positive_int(value: str | None) -> int | None:
    try:
        number = int(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and number >= 1 else None
