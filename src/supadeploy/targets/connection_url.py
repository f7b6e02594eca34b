"""Database URLs: refused early when a driver would misread them, and connection failures worded once for
every way supadeploy connects (psycopg, or libpq directly for the quick up-to-date check)."""

from __future__ import annotations

import os
import re
from urllib.parse import unquote, urlsplit

from supadeploy.errors import ConnectionFailed
from supadeploy.redact import redact_text, redact_url, url_secrets

_PREAMBLE = re.compile(r'^(connection failed: )?(connection to server at "[^"]*"(, port \d+)? failed: )?')


def validate_database_url(url: str) -> None:
    """Refuse URLs psycopg would misread, with a message that names the problem (never the password)."""
    if not url.startswith(("postgres://", "postgresql://")):
        # Only the scheme is shown: a malformed URL (postgresql:/user:pw@host) escapes redaction.
        scheme = re.match(r"[A-Za-z][A-Za-z0-9+.-]{0,20}:/{0,2}", url)
        shown = f" (it starts with '{scheme.group(0)}')" if scheme else ""
        raise ConnectionFailed(
            f"the database URL is not a PostgreSQL URL{shown}",
            fix="write it as postgresql://USER:PASSWORD@HOST:PORT/DATABASE",
        )
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        raise ConnectionFailed(
            f"the database URL cannot be parsed ({exc})",
            fix="percent-encode special characters in the password: @ as %40, : as %3A, / as %2F, # as %23",
        ) from None
    if "@" in parts.netloc.rpartition("@")[0]:
        raise ConnectionFailed(
            "the database URL has an '@' in its user name or password",
            fix="percent-encode special characters in the password: @ as %40, : as %3A, / as %2F, # as %23",
        )
    if parts.password is not None and "%" in parts.password:
        try:
            unquote(parts.password, errors="strict")
        except UnicodeDecodeError:
            raise ConnectionFailed("the password in the database URL has an invalid %-escape",
                                   fix="percent-encode '%' itself as %25") from None


def failure_reason(url: str, message: str) -> str:
    """The driver's message as libpq words it, on one line (its first line, then its hint), without the
    'connection to server at "host", port N failed:' preamble and without the URL's secrets."""
    text = " ".join(line.strip() for line in message.strip().splitlines() if line.strip())
    return redact_text(_PREAMBLE.sub("", text) or "connection failed", url_secrets(url))


def connection_failed(url: str, message: str) -> ConnectionFailed:
    """The error for a failed connection attempt, from the driver's message (see ``failure_reason``)."""
    return ConnectionFailed(
        f"cannot connect to {redact_url(url)}: {failure_reason(url, message)}",
        fix="check the URL, that the server is running and reachable, and the password",
    )


def default_application_name(command: str) -> str:
    return f"supadeploy {command} pid={os.getpid()}"[:63]
