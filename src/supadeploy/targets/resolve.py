"""How a command reaches an environment: the one resolver every database command uses.

``[environments.X]`` may name its engine (``engine = "native" | "api" | "cli"``); otherwise it is inferred:

* a database URL (``--db-url``, ``db_url_env``, ``db_url``) → ``native``, a psycopg connection;
* no URL, ``project_ref`` and ``$SUPABASE_DB_PASSWORD`` → ``native`` over the URL the Supabase CLI would use
  (the direct host when reachable, else the session pooler: supadeploy.hosted);
* no URL, ``project_ref`` and ``$SUPABASE_ACCESS_TOKEN`` → ``api``, the Management API.

``--engine`` overrides both. ``cli`` decides only how ``push`` applies migrations (the official
``supabase db push``); every other command reaches such an environment over the same URL, natively.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supadeploy.config import EnvironmentConfig, ProjectConfig
    from supadeploy.engines import Note
    from supadeploy.targets.base import Target


@dataclass(frozen=True)
class Resolved:
    """An environment of a project, and how it is reached."""

    project: ProjectConfig
    environment: EnvironmentConfig
    url: str
    """The database URL; "" when the environment is reached without one (api, or project_ref + password)."""
    engine: str = "native"


def resolve_environment(workdir: Path, env: str | None, db_url: str | None = None,
                        engine: str | None = None) -> Resolved:
    """The environment ``env`` (default: the project's) with its engine: ``engine`` (--engine), else the
    environment's ``engine``, else inferred from what is configured and set."""
    from supadeploy.config import PASSWORD_VARIABLE, load_project, resolve_database_url
    from supadeploy.engines import TOKEN_VARIABLE, check_engine
    from supadeploy.errors import ConfigError

    if engine is not None:
        check_engine(engine)
    project = load_project(workdir)
    environment = project.environment(env)
    chosen = engine or environment.engine
    if chosen == "api":
        return Resolved(project, environment, "", "api")
    try:
        url = resolve_database_url(environment, db_url)
    except ConfigError as missing:
        if environment.project_ref and os.environ.get(PASSWORD_VARIABLE):
            return Resolved(project, environment, "", chosen or "native")
        if environment.project_ref and os.environ.get(TOKEN_VARIABLE) and chosen is None:
            return Resolved(project, environment, "", "api")
        raise ConfigError(missing.what, where=missing.where, fix=_no_url_fix(environment, missing.fix)) from None
    return Resolved(project, environment, url, chosen or "native")


def _no_url_fix(environment: EnvironmentConfig, fix: str | None) -> str:
    if not environment.project_ref:
        return fix or ""
    return (f"{fix}; or, with its project_ref, export SUPABASE_DB_PASSWORD (a direct or pooler connection) or "
            "SUPABASE_ACCESS_TOKEN (the Management API, --engine api)")


def open_environment(resolved: Resolved, *, application_name: str, for_writing: bool, api_url: str | None = None,
                     on_note: Note | None = None, libpq_reads: bool = False) -> Target:
    """The Target of ``resolved``: ManagementApiTarget (api) or PostgresTarget (native, and cli outside push).

    ``for_writing``: a command that takes the deploy lock or writes the history; a transaction-mode pooler,
    which keeps neither a session nor a multi-statement transaction, is refused for it.
    ``libpq_reads``: a native target is a LibpqReadTarget (its catalog reads over libpq, several at once,
    psycopg only when something else is asked: verify)."""
    from supadeploy.engines import database_url, open_client, project_ref

    if resolved.engine == "api":
        from supadeploy.targets.management_api import ManagementApiTarget

        ref = project_ref(resolved.environment, "api")
        return ManagementApiTarget(open_client(resolved.project, api_url), ref)
    url = database_url(resolved, for_push=for_writing, api_url=api_url, on_note=on_note)
    if libpq_reads:
        from supadeploy.targets.libpq_target import LibpqReadTarget

        return LibpqReadTarget(url, application_name=application_name)
    from supadeploy.targets.postgres import PostgresTarget

    return PostgresTarget(url, application_name=application_name)


def open_url(url: str, *, application_name: str) -> Target:
    """A Target for a database URL that is not an environment (e.g. the local server just reset)."""
    from supadeploy.targets.postgres import PostgresTarget

    return PostgresTarget(url, application_name=application_name)
