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


def prepare_database(conninfo: str) -> None:
    """Make the database at ``conninfo`` look like a fresh Supabase project's database.

    Runs :func:`supabase_bootstrap_sql` in one transaction (roles ``anon``, ``authenticated``,
    ``service_role``, ``authenticator``; schemas ``extensions``, ``auth``, ``storage``;
    ``auth.users``; ``auth.uid()/role()/email()/jwt()``; ``uuid-ossp`` and ``pgcrypto``; Supabase's
    grants and default privileges). Idempotent, also when the roles already exist in the cluster.
    Needs a superuser connection.
    """
    script = supabase_bootstrap_sql()

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
