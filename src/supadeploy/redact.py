"""Keep secrets out of everything supadeploy prints, logs or raises: the one list of what is secret."""

from __future__ import annotations

import os
import re
from urllib.parse import unquote, urlsplit, urlunsplit

REDACTED = "****"
SECRET_VARIABLES = ("SUPABASE_ACCESS_TOKEN", "SUPABASE_DB_PASSWORD")

_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@\s]*)@")
_KEYWORD_PASSWORD = re.compile(r"(?P<key>\bpassword\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_URL_QUERY_PASSWORD = re.compile(r"(?P<key>[?&]password=)(?P<value>[^&\s]+)", re.IGNORECASE)


def redact_url(url: str) -> str:
    """Return ``url`` with its password replaced by ``****``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    if parts.password is None:
        return _URL_QUERY_PASSWORD.sub(lambda m: m.group("key") + REDACTED, url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:{REDACTED}@{host}"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None:
        netloc += f":{port}"
    query = _URL_QUERY_PASSWORD.sub(lambda m: m.group("key") + REDACTED, "?" + parts.query)[1:]
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def environment_secrets() -> tuple[str, ...]:
    """The values of the secret environment variables: never printed, even inside a database's error message."""
    return tuple(os.environ[name] for name in SECRET_VARIABLES if os.environ.get(name))


def url_secrets(url: str) -> tuple[str, ...]:
    """The password of ``url``, as written and decoded: what must never be shown."""
    try:
        password = urlsplit(url).password or ""
    except ValueError:
        return ()
    return (password, unquote(password)) if password else ()


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove URL passwords, ``password=`` keywords and any known secret from free text."""
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:{REDACTED}@", text)
    text = _KEYWORD_PASSWORD.sub(lambda m: m.group("key") + REDACTED, text)
    text = _URL_QUERY_PASSWORD.sub(lambda m: m.group("key") + REDACTED, text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text
