"""Find or start a PostgreSQL server for the tests and hand out fresh Supabase-shaped databases.

Order: ``SUPADEPLOY_TEST_ADMIN_URL`` (any database on a server where we may CREATE DATABASE),
then a server on 127.0.0.1:5432 as ``postgres``, then a private server started with
supadeploy's own local-server code on a free port.
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

TEMPLATE_NAME = "supadeploy_test_template"
DEFAULT_ADMIN_URL = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"


def with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def _reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
            conn.execute("select 1")
        return True
    except psycopg.Error:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_or_start_server() -> tuple[str, object | None]:
    """Return an admin URL and, when we started a server ourselves, the server handle."""
    configured = os.environ.get("SUPADEPLOY_TEST_ADMIN_URL")
    if configured:
        return configured, None
    if _reachable(DEFAULT_ADMIN_URL):
        return DEFAULT_ADMIN_URL, None
    from supadeploy.local import LocalServer

    data_dir = Path(tempfile.mkdtemp(prefix="supadeploy-test-pg-"))
    server = LocalServer(data_dir=data_dir, port=_free_port())
    status = server.start()
    return status.url, server


def build_template(admin_url: str, grants_model: str = "explicit") -> str:
    """Create the template database prepared the way Supabase prepares a project, once per bootstrap version.

    The shared template (``TEMPLATE_NAME``) is on the explicit grants model, as every Supabase project is since
    2026-10-30 (new tables in public are not granted to the API roles: a test's SQL grants what it needs);
    ``grants_model="legacy"`` builds the one of ``legacy_db_url``. The name carries a digest of the
    bootstrap SQL, so concurrent test sessions share one finished template and never drop a template another
    session is cloning; it is built under a temporary name and renamed. Returns the template's name.
    """
    global TEMPLATE_NAME
    from supadeploy.local import default_privileges_sql, prepare_database, supabase_bootstrap_sql

    script = supabase_bootstrap_sql() + default_privileges_sql(grants_model)
    digest = hashlib.sha256(script.encode()).hexdigest()[:10]
    name = f"supadeploy_test_template_{digest}"
    if grants_model == "explicit":
        TEMPLATE_NAME = name
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
    if exists:
        return name
    building = f"{name}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(building)))
    prepare_database(with_database(admin_url, building), grants_model=grants_model)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        try:
            conn.execute(sql.SQL("alter database {} rename to {}").format(
                sql.Identifier(building), sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:  # another session finished first
            conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(building)))
    return name


def create_database(admin_url: str, prefix: str = "sdt", template: str | None = None) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {} template {}").format(
            sql.Identifier(name), sql.Identifier(template or TEMPLATE_NAME)))
    return with_database(admin_url, name)


def create_empty_database(admin_url: str, prefix: str = "sdt") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return with_database(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def cli_url(url: str) -> str:
    """The same URL as the Supabase CLI needs it for a local server without TLS."""
    sep = "&" if "?" in url else "?"
    return url if "sslmode=" in url else f"{url}{sep}sslmode=disable"
