"""An embedded, Supabase-shaped PostgreSQL server for local development.

``supadeploy local start|stop|status|reset`` drives :class:`LocalServer`: it runs the
PostgreSQL server binaries installed on this machine (no Docker) on ``127.0.0.1:54322`` with
user ``postgres`` / password ``postgres``, the same address and credentials as ``supabase start``,
and prepares its ``postgres`` database with :func:`prepare_database` so that migrations written
for Supabase (roles ``anon``/``authenticated``/``service_role``, ``auth.uid()``, ``extensions``
schema, ...) apply unchanged.

Its modules: ``address``, ``bootstrap`` (the Supabase shape of a database), ``binaries`` (finding
initdb, pg_ctl, postgres), ``os_user`` (data directory and the OS user), ``server`` (the lifecycle).
They never print: they return :class:`LocalStatus` values and raise
:class:`~supadeploy.errors.SupadeployError` for problems the user can fix.
"""

from __future__ import annotations

from supadeploy.local.address import (
    DEFAULT_DATABASE,
    DEFAULT_PASSWORD,
    DEFAULT_PORT,
    DEFAULT_URL,
    DEFAULT_USER,
    LISTEN_ADDRESS,
)
from supadeploy.local.binaries import INSTALL_FIX, SEARCH_GLOBS, SERVER_BINARIES, find_server_binaries
from supadeploy.local.bootstrap import (
    DEFAULT_GRANTS_MODEL,
    GRANTS_MODELS,
    check_grants_model,
    default_privileges_sql,
    prepare_database,
    supabase_bootstrap_sql,
)
from supadeploy.local.os_user import OS_USER_ENV, ROOT_STATE_DIR, SERVER_OS_USERS, default_data_dir
from supadeploy.local.server import LocalServer, LocalStatus

__all__ = [
    "DEFAULT_DATABASE",
    "DEFAULT_GRANTS_MODEL",
    "DEFAULT_PASSWORD",
    "DEFAULT_PORT",
    "DEFAULT_URL",
    "DEFAULT_USER",
    "GRANTS_MODELS",
    "INSTALL_FIX",
    "LISTEN_ADDRESS",
    "OS_USER_ENV",
    "ROOT_STATE_DIR",
    "SEARCH_GLOBS",
    "SERVER_BINARIES",
    "SERVER_OS_USERS",
    "LocalServer",
    "LocalStatus",
    "check_grants_model",
    "default_data_dir",
    "default_privileges_sql",
    "find_server_binaries",
    "prepare_database",
    "supabase_bootstrap_sql",
]
