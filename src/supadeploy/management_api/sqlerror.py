r"""Read a Postgres error out of a failed ``/database/query`` response.

The API answers a query that Postgres refused with a message shaped the way psql prints errors::

    Failed to run sql query: ERROR:  42P01: relation "nope" does not exist
    LINE 3: select * from nope
                          ^
    DETAIL: ...
    HINT: ...
    CONTEXT: ...

A message without ``ERROR: <SQLSTATE>`` (a connection timeout, a gateway error) is not a SQL error.
"""

from __future__ import annotations

import re

from supadeploy.management_api.errors import SqlError

QUERY_FAILED_PREFIX = "Failed to run sql query:"
_HEAD = re.compile(r"^\s*(?:ERROR|FATAL|PANIC):\s+(?:(?P<code>[0-9A-Z]{5}):\s+)?(?P<message>.*)$")
_LINE = re.compile(r"^LINE (?P<number>\d+): ?(?P<text>.*)$")
_SECTION = re.compile(r"^(?P<key>DETAIL|HINT|CONTEXT|QUERY):\s?(?P<value>.*)$")


def parse_query_error(message: str) -> SqlError | None:
    text = message.strip()
    if text.startswith(QUERY_FAILED_PREFIX):
        text = text[len(QUERY_FAILED_PREFIX):].lstrip()
    lines = text.split("\n")
    head = _HEAD.match(lines[0]) if lines else None
    if head is None:
        return None
    sections: dict[str, list[str]] = {}
    line_number: int | None = None
    column: int | None = None
    current: list[str] | None = None
    index = 1
    while index < len(lines):
        line = lines[index]
        line_match = _LINE.match(line)
        section = _SECTION.match(line)
        if line_match:
            line_number = int(line_match.group("number"))
            column = 1
            caret = lines[index + 1] if index + 1 < len(lines) else ""
            if caret.strip() == "^":
                prefix = len(f"LINE {line_number}: ")
                column = max(1, caret.index("^") - prefix + 1)
                index += 1
            current = None
        elif section:
            current = sections.setdefault(section.group("key"), [])
            current.append(section.group("value"))
        elif current is not None:
            current.append(line)
        index += 1

    def joined(key: str) -> str | None:
        value = "\n".join(sections.get(key, [])).strip()
        return value or None

    return SqlError(sqlstate=head.group("code"), message=head.group("message").strip(), line=line_number,
                    column=column, detail=joined("DETAIL"), hint=joined("HINT"), context=joined("CONTEXT"))

