"""The Supabase shape of a database: roles, schemas, auth functions, extensions and grants
(``sql/supabase_bootstrap.sql``), applied by :func:`prepare_database`."""

from __future__ import annotations

from importlib import resources

import psycopg
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from supadeploy.errors import SupadeployError
from supadeploy.local.output import first_line


def supabase_bootstrap_sql() -> str:
    """The text of ``sql/supabase_bootstrap.sql`` shipped with the package."""
    return resources.files("supadeploy").joinpath("sql/supabase_bootstrap.sql").read_text(encoding="utf-8")


def _is_transient(exc: BaseException) -> bool:
    """Errors caused by another session bootstrapping the same cluster at the same moment.

    Roles live cluster-wide, so two databases prepared concurrently race on ``CREATE ROLE``,
    ``GRANT role`` and ``ALTER ROLE ... SET``; running the (idempotent) script again settles it.
    """
    if isinstance(
        exc,
        (
            psycopg.errors.UniqueViolation,
            psycopg.errors.DuplicateObject,
            psycopg.errors.DeadlockDetected,
            psycopg.errors.SerializationFailure,
        ),
    ):
        return True
    return isinstance(exc, psycopg.errors.InternalError_) and "concurrently" in str(exc)


#: How new tables and sequences that ``postgres`` creates in ``public`` are granted to the API roles:
#: "explicit" (Supabase since 2026-10-30 for every project: not at all, migrations GRANT what the app needs)
#: or "legacy" (everything to anon, authenticated and service_role, as projects were prepared before).
GRANTS_MODELS = ("explicit", "legacy")
DEFAULT_GRANTS_MODEL = "explicit"
#: Roles whose new objects in public the default privileges cover (those that exist).
_OBJECT_OWNERS = ("postgres", "supabase_admin")


def check_grants_model(grants_model: str) -> None:
    if grants_model not in GRANTS_MODELS:
        raise SupadeployError(
            f"unknown grants model {grants_model!r}",
            fix=f"Use one of: {', '.join(GRANTS_MODELS)}.",
        )


def default_privileges_sql(grants_model: str = DEFAULT_GRANTS_MODEL) -> str:
    """The ``ALTER DEFAULT PRIVILEGES`` that put a database on ``grants_model`` (see :data:`GRANTS_MODELS`).

    Both models let ``postgres`` use what the owners create and leave functions executable by the API roles;
    they differ on tables and sequences. Running it again switches the model (objects already created keep
    their grants, as on Supabase)."""
    check_grants_model(grants_model)
    api_roles = "anon, authenticated, service_role"
    tables = (f"grant all on %s to postgres, {api_roles}" if grants_model == "legacy"
              else f"revoke all on %s from {api_roles}")
    owners = ", ".join(f"'{owner}'" for owner in _OBJECT_OWNERS)
    return f"""
do $grants_model$
declare
  owner_role text;
begin
  for owner_role in
    select distinct r.rolname from pg_catalog.pg_roles r where r.rolname in ({owners}, current_user)
  loop
    execute format('alter default privileges for role %I in schema public {tables % "tables"}', owner_role);
    execute format('alter default privileges for role %I in schema public {tables % "sequences"}', owner_role);
    execute format('alter default privileges for role %I in schema public grant all on tables to postgres',
                   owner_role);
    execute format('alter default privileges for role %I in schema public grant all on sequences to postgres',
                   owner_role);
    execute format('alter default privileges for role %I in schema public '
                   'grant all on functions to postgres, {api_roles}', owner_role);
  end loop;
end
$grants_model$;
"""


def prepare_database(conninfo: str, *, grants_model: str = DEFAULT_GRANTS_MODEL) -> None:
    """Make the database at ``conninfo`` look like a fresh Supabase project's database.

    Runs :func:`supabase_bootstrap_sql` and :func:`default_privileges_sql` in one transaction (roles
    ``anon``, ``authenticated``, ``service_role``, ``authenticator``; schemas ``extensions``, ``auth``,
    ``storage``; ``auth.users``; ``auth.uid()/role()/email()/jwt()``; ``uuid-ossp`` and ``pgcrypto``;
    Supabase's grants, and the default privileges of ``grants_model``). Idempotent, also when the roles
    already exist in the cluster. Needs a superuser connection.
    """
    script = supabase_bootstrap_sql() + default_privileges_sql(grants_model)

    def run_once() -> None:
        with psycopg.connect(conninfo, connect_timeout=10) as conn:
            conn.execute(script.encode("utf-8"))

    try:
        for attempt in Retrying(
            retry=retry_if_exception(_is_transient),
            stop=stop_after_attempt(8),
            wait=wait_random_exponential(multiplier=0.05, max=1.0),
            reraise=True,
        ):
            with attempt:
                run_once()
    except psycopg.errors.InsufficientPrivilege as exc:
        raise SupadeployError(
            f"cannot prepare the database: {exc.diag.message_primary or exc}",
            fix="Connect as a superuser (e.g. postgres) to prepare a local Supabase-shaped database.",
        ) from exc
    except psycopg.errors.UndefinedFile as exc:
        raise SupadeployError(
            f"cannot prepare the database: {exc.diag.message_primary or exc}",
            fix="Install the PostgreSQL contrib extensions (uuid-ossp, pgcrypto), e.g. "
            "`sudo apt-get install postgresql-contrib`.",
        ) from exc
    except psycopg.OperationalError as exc:
        raise SupadeployError(
            f"cannot connect to prepare the database: {first_line(str(exc))}",
            fix="Check that the server is running and the URL is right.",
        ) from exc
