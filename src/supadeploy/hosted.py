"""Connecting to a hosted Supabase project from its project ref and ``SUPABASE_DB_PASSWORD``.

* The direct URL is ``postgresql://postgres:PASSWORD@db.<ref>.supabase.co:5432/postgres``. That host has only
  an IPv6 address, and GitHub-hosted runners have no IPv6.
* The session-mode pooler URL comes from the API's pooler configuration
  (``GET /v1/projects/{ref}/config/database/pooler``): same host and user, port 5432 (the configuration
  reports the transaction-mode port, 6543).
* ``connect_hosted`` checks which one this machine can reach, direct first, and says when it falls back.
* A transaction-mode pooler (port 6543) is refused for push: a session advisory lock and a multi-statement
  transaction do not survive a pooler that hands each transaction to another server connection.
* Percent-encoding mistakes in a URL are named before connecting, never as a SASL error.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from supadeploy.config import PASSWORD_VARIABLE
from supadeploy.errors import ConfigError, ConnectionFailed

if TYPE_CHECKING:  # httpx is imported only when a hosted project is really reached
    from supadeploy.management_api.client import ManagementApiClient
    from supadeploy.management_api.models import PoolerConfig
from supadeploy.redact import redact_url

DIRECT_PORT = 5432
SESSION_POOLER_PORT = 5432
TRANSACTION_POOLER_PORT = 6543
_PERCENT_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ENCODE_FIX = "percent-encode special characters in the password: @ as %40, : as %3A, / as %2F, ? as %3F, " \
              "# as %23, % as %25 (python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], " \
              "safe=\"\"))' 'PASSWORD')"

Probe = Callable[[str, int], bool]


@dataclass(frozen=True)
class HostedConnection:
    url: str            # holds the password: print `description`, never this
    kind: str           # "direct" or "session pooler"
    note: str | None    # why the pooler was chosen, when it was

    @property
    def description(self) -> str:
        return redact_url(self.url)


def database_password() -> str:
    password = os.environ.get(PASSWORD_VARIABLE, "")
    if not password:
        raise ConfigError(f"${PASSWORD_VARIABLE} is not set",
                          fix=f"export {PASSWORD_VARIABLE}=... (the project's database password, from the "
                              "dashboard's Database settings), or pass --db-url")
    return password


def direct_host(project_ref: str) -> str:
    return f"db.{project_ref}.supabase.co"


def direct_url(project_ref: str, password: str) -> str:
    return f"postgresql://postgres:{quote(password, safe='')}@{direct_host(project_ref)}:{DIRECT_PORT}/postgres"


def session_pooler_url(config: PoolerConfig, password: str) -> str:
    port = config.db_port if config.pool_mode == "session" else SESSION_POOLER_PORT
    return (f"postgresql://{quote(config.db_user, safe='')}:{quote(password, safe='')}@{config.db_host}:{port}/"
            f"{quote(config.db_name, safe='')}")


def can_reach(host: str, port: int, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to host:port can be opened from here (any address family)."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return False
    for family, kind, protocol, _, address in addresses:
        try:
            with socket.socket(family, kind, protocol) as probe:
                probe.settimeout(timeout)
                probe.connect(address)
                return True
        except OSError:
            continue
    return False


def connect_hosted(project_ref: str, password: str, client: ManagementApiClient | None, *,
                   probe: Probe | None = None) -> HostedConnection:
    """The URL to use for a hosted project: direct when reachable, else the session pooler."""
    from supadeploy.management_api.client import check_project_ref

    check_project_ref(project_ref)
    probe = probe or can_reach
    host = direct_host(project_ref)
    if probe(host, DIRECT_PORT):
        return HostedConnection(direct_url(project_ref, password), "direct", None)
    if client is None:
        raise ConnectionFailed(
            f"{host}:{DIRECT_PORT} is not reachable from this machine (the direct host is IPv6-only)",
            fix="set SUPABASE_ACCESS_TOKEN so supadeploy can look up the session pooler, or pass --db-url with "
                "the session pooler URL from the dashboard (Connect > Session pooler)")
    config = primary_pooler(client.pooler_config(project_ref), project_ref)
    url = session_pooler_url(config, password)
    parts = urlsplit(url)
    if not probe(parts.hostname or "", parts.port or SESSION_POOLER_PORT):
        raise ConnectionFailed(
            f"neither {host}:{DIRECT_PORT} nor the session pooler {parts.hostname}:{parts.port} is reachable "
            "from this machine",
            fix="check the network (firewall, proxy) and that the project is not paused")
    note = (f"{host} is not reachable from this machine (it has only an IPv6 address); "
            f"using the session pooler {parts.hostname}:{parts.port}")
    return HostedConnection(url, "session pooler", note)


def primary_pooler(configs: list[PoolerConfig], project_ref: str) -> PoolerConfig:
    for config in configs:
        if config.database_type == "PRIMARY":
            return config
    if configs:
        return configs[0]
    raise ConnectionFailed(f"project {project_ref} reports no pooler configuration",
                           fix="pass --db-url with the connection string from the dashboard")


def check_url_encoding(url: str) -> None:
    """Name percent-encoding mistakes in a database URL (without repeating the password)."""
    rest = url.split("://", 1)[1] if "://" in url else url
    at = rest.rfind("@")
    if at < 0:
        return
    userinfo = rest[:at]
    for character, encoded in (("/", "%2F"), ("?", "%3F"), ("#", "%23"), ("@", "%40"), ("[", "%5B"), ("]", "%5D")):
        if character in userinfo:
            raise ConnectionFailed(
                f"the user name or password in the database URL contains '{character}', which ends that part of "
                f"a URL: write it as {encoded}", fix=_ENCODE_FIX)
    if _PERCENT_ESCAPE.search(userinfo):
        raise ConnectionFailed(
            "the user name or password in the database URL contains a '%' that does not start a %XX escape: "
            "write a literal % as %25", fix=_ENCODE_FIX)
    if " " in userinfo:
        raise ConnectionFailed("the user name or password in the database URL contains a space: write it as %20",
                               fix=_ENCODE_FIX)


def refuse_transaction_pooler(url: str) -> None:
    """A push needs a session: refuse the transaction-mode pooler (port 6543, or ?pgbouncer=true)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return  # validate_database_url reports it
    if port == TRANSACTION_POOLER_PORT or "pgbouncer=true" in parts.query.lower():
        raise ConnectionFailed(
            f"{redact_url(url)} is a transaction-mode pooler (port {TRANSACTION_POOLER_PORT}): the deploy lock is a "
            "session advisory lock and each migration is one multi-statement transaction, and neither survives a "
            "pooler that hands every transaction to another server connection",
            fix=f"use the session pooler (same host, port {SESSION_POOLER_PORT}) or the direct connection "
                "(db.<ref>.supabase.co:5432), or --engine api")
