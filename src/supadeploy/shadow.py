"""Shadow replay: a throwaway database, prepared like a Supabase project, that migrations are tried on.

:func:`shadow_database` creates the database on a server where the given (superuser) URL may
``CREATE DATABASE`` — by default the local Supabase-shaped server of ``supadeploy local start`` — prepares it
with :func:`supadeploy.local.prepare_database`, and drops it whatever happens. No Docker, nothing left behind.

:func:`check_migrations` (``supadeploy check``) replays every migration on it:

1. applies each migration in order, exactly as ``supadeploy push`` would, stopping at the first failure
   (reported as file:line:column);
2. right after a migration is applied, runs it a second time inside a transaction that is rolled back:
   a second run that fails, or that changes the schema fingerprint, makes it "not idempotent";
3. for each migration with down SQL (see :mod:`supadeploy.rollback`), runs down then up again inside a
   transaction that is rolled back, and checks that down restores the fingerprint from before the
   migration and that up again restores the one after it.

Migrations marked ``-- supadeploy:no-transaction`` cannot run inside a transaction: their second run and
round trip are checked outside one (statement by statement), so a check that fails there may leave the
shadow database changed for the migrations after it; the report says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from supadeploy.errors import ConnectionFailed
from supadeploy.fingerprint import (
    Fingerprint,
    FingerprintDifference,
    application_schemas,
    diff_fingerprints,
    schema_fingerprint,
)
from supadeploy.migrations.failure import MigrationFailed, MigrationFailure, failure_from_error
from supadeploy.migrations.files import Migration
from supadeploy.redact import redact_url
from supadeploy.rollback import DownSql, down_sql_for, run_down
from supadeploy.sql_diagnostics import SqlDiagnostics
from supadeploy.targets.base import SessionLimits
from supadeploy.targets.connection_url import failure_reason, validate_database_url
from supadeploy.targets.postgres import PostgresTarget

SHADOW_PREFIX = "supadeploy_shadow"


def default_shadow_server() -> str:
    from supadeploy.local import DEFAULT_URL

    return DEFAULT_URL


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


@contextmanager
def shadow_database(server_url: str | None = None) -> Iterator[str]:
    """Yield the URL of a new Supabase-shaped database on ``server_url``'s server; drop it on the way out."""
    from supadeploy.local import prepare_database

    admin_url = server_url or default_shadow_server()
    validate_database_url(admin_url)
    name = f"{SHADOW_PREFIX}_{uuid.uuid4().hex[:12]}"
    _admin(admin_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = with_database(admin_url, name)
        prepare_database(url)
        yield url
    finally:
        _admin(admin_url, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _admin(admin_url: str, statement: sql.Composed) -> None:
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as connection:
            connection.execute(statement)
    except psycopg.Error as exc:
        raise ConnectionFailed(
            f"cannot create or drop a shadow database on {redact_url(admin_url)}: "
            f"{failure_reason(admin_url, str(exc))}",
            fix="start the local server (`supadeploy local start`) or pass --shadow-url with a superuser URL of a "
                "server where supadeploy may CREATE DATABASE",
        ) from None


# --- replay ------------------------------------------------------------------------------------------

NOT_IDEMPOTENT = "not-idempotent"
DOWN_FAILED = "down-failed"
DOWN_INCOMPLETE = "down-incomplete"
UP_AFTER_DOWN_FAILED = "up-after-down-failed"
ROUND_TRIP_CHANGED = "round-trip-changed"


@dataclass(frozen=True)
class ReplayProblem:
    kind: str
    version: str
    name: str
    location: str
    """file:line:column of the statement that failed, or of the migration file."""
    message: str
    differences: tuple[FingerprintDifference, ...] = ()

    def render(self) -> str:
        lines = [f"{self.location}: {self.kind}: {self.message}"]
        lines.extend(f"    {difference.describe()}" for difference in self.differences[:10])
        if len(self.differences) > 10:
            lines.append(f"    ... and {len(self.differences) - 10} more")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": self.version, "name": self.name, "location": self.location,
                "message": self.message, "differences": [d.as_dict() for d in self.differences]}


@dataclass
class CheckResult:
    migrations: int
    applied: int = 0
    failure: MigrationFailure | None = None
    problems: list[ReplayProblem] = field(default_factory=list)
    idempotency_checked: int = 0
    round_trips_checked: int = 0
    without_down_sql: list[str] = field(default_factory=list)
    schemas: tuple[str, ...] = ()
    fingerprint: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None and not self.problems


class ReplayListener:
    def applied(self, migration: Migration) -> None: ...


def check_migrations(migrations: list[Migration], *, server_url: str | None = None,
                     schemas: list[str] | None = None, idempotency: bool = True, round_trips: bool = True,
                     listener: ReplayListener | None = None) -> CheckResult:
    """Replay ``migrations`` on a throwaway database (see the module documentation)."""
    with shadow_database(server_url) as url:
        return replay(url, migrations, schemas=schemas, idempotency=idempotency, round_trips=round_trips,
                      listener=listener)


def replay(url: str, migrations: list[Migration], *, schemas: list[str] | None = None, idempotency: bool = True,
           round_trips: bool = True, listener: ReplayListener | None = None,
           stop_after: str | None = None) -> CheckResult:
    """Replay on the (Supabase-shaped, empty) database at ``url``; the caller owns the database."""
    listener = listener or ReplayListener()
    target = PostgresTarget(url, application_name="supadeploy check")
    result = CheckResult(migrations=len(migrations))
    try:
        target.ensure_history_table()
        fingerprints = _Fingerprints(target, schemas)
        before = fingerprints.take()
        for migration in migrations:
            if stop_after is not None and migration.version > stop_after:
                break
            try:
                target.apply_migration(migration, SessionLimits(), durable=False)
            except MigrationFailed as failed:
                result.failure = failed.failure
                break
            result.applied += 1
            listener.applied(migration)
            after = fingerprints.take()
            if idempotency:
                result.idempotency_checked += 1
                _check_second_run(target, migration, after, fingerprints, result)
            down = down_sql_for(migration) if round_trips else None
            if down is not None:
                result.round_trips_checked += 1
                _check_round_trip(target, migration, down, before, after, fingerprints, result)
            elif round_trips:
                result.without_down_sql.append(migration.file_name)
            before = fingerprints.take() if not migration.transactional else after
        result.schemas = fingerprints.schemas
        result.fingerprint = before.digest if result.failure is None else None
    finally:
        target.close()
    return result


class _Fingerprints:
    """Fingerprints of the shadow database over fixed schemas (chosen after the full replay when not given)."""

    def __init__(self, target: PostgresTarget, schemas: list[str] | None) -> None:
        self.target = target
        self.fixed = schemas

    @property
    def schemas(self) -> tuple[str, ...]:
        return tuple(self.fixed) if self.fixed is not None else tuple(self._current())

    def _current(self) -> list[str]:
        return application_schemas(self.target)

    def take(self) -> Fingerprint:
        return schema_fingerprint(self.target, self.fixed if self.fixed is not None else self._current())


class _Undo(Exception):
    """Raised inside a transaction to roll it back after a check."""


@contextmanager
def _scratch(target: PostgresTarget, migration: Migration) -> Iterator[None]:
    """A transaction that is always rolled back (nothing for no-transaction migrations)."""
    if not migration.transactional:
        yield
        return
    connection = target.connection
    try:
        with connection.transaction():
            yield
            raise _Undo
    except _Undo:
        pass
    finally:
        connection.execute("SET SESSION AUTHORIZATION DEFAULT; RESET ALL")


def _run(target: PostgresTarget, migration: Migration) -> None:
    for index, statement in enumerate(migration.statements):
        try:
            target.connection.execute(statement.text)
        except psycopg.Error as error:
            raise MigrationFailed(failure_from_error(migration, index, SqlDiagnostics.of_psycopg(error))) from None


def _problem(kind: str, migration: Migration, location: str, message: str,
             differences: list[FingerprintDifference] | None = None) -> ReplayProblem:
    return ReplayProblem(kind=kind, version=migration.version, name=migration.name, location=location,
                         message=message, differences=tuple(differences or ()))


def _check_second_run(target: PostgresTarget, migration: Migration, after: Fingerprint,
                      fingerprints: _Fingerprints, result: CheckResult) -> None:
    outside = "" if migration.transactional else " (no-transaction migration: the shadow database kept its effects)"
    with _scratch(target, migration):
        try:
            _run(target, migration)
        except MigrationFailed as failed:
            failure = failed.failure
            result.problems.append(_problem(
                NOT_IDEMPOTENT, migration, failure.location,
                f"a second run fails: {failure.message} [SQLSTATE {failure.sqlstate}]{outside}"))
            return
        differences = diff_fingerprints(after, fingerprints.take())
        if differences:
            result.problems.append(_problem(NOT_IDEMPOTENT, migration, f"{migration.path}:1:1",
                                            f"a second run changes the schema{outside}", differences))


def _check_round_trip(target: PostgresTarget, migration: Migration, down: DownSql, before: Fingerprint,
                      after: Fingerprint, fingerprints: _Fingerprints, result: CheckResult) -> None:
    steps: list[tuple[Callable[[], None], str, str, Fingerprint, str]] = [
        (lambda: run_down(target.connection, down), DOWN_FAILED, DOWN_INCOMPLETE, before,
         "down does not restore the schema from before the migration"),
        (lambda: _run(target, migration), UP_AFTER_DOWN_FAILED, ROUND_TRIP_CHANGED, after,
         "down then up does not give the schema the migration gave"),
    ]
    with _scratch(target, migration):
        for run, failed_kind, differs_kind, expected, message in steps:
            try:
                run()
            except MigrationFailed as failed:
                failure = failed.failure
                what = "down SQL" if failed_kind == DOWN_FAILED else "the migration, after its down SQL,"
                result.problems.append(_problem(failed_kind, migration, failure.location,
                                                f"{what} fails: {failure.message} [SQLSTATE {failure.sqlstate}]"))
                return
            differences = diff_fingerprints(expected, fingerprints.take())
            if differences:
                where = _first_sql_line(down) if differs_kind == DOWN_INCOMPLETE else f"{migration.path}:1:1"
                result.problems.append(_problem(differs_kind, migration, where, message, differences))
                return


def _first_sql_line(down: DownSql) -> str:
    statements = down.migration.statements
    return down.migration.location(statements[0].offset) if statements else f"{down.path}:1:1"
