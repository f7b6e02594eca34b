"""Is there anything to push? Answered in a few reads, without loading psycopg.

Most pushes in CI find nothing to do, and such a push should cost little more than starting Python. Before
a native push, this reads the history over libpq directly (targets.libpq_reader): when every local
migration is applied, none was edited since, the database holds no version missing locally and no killed
run waits to be marked in the deploy log, the push is done and nothing is written. In every other case (and
whenever libpq cannot be loaded or a read fails) it answers None and the full push decides, under the deploy
lock, with its own messages. Reading without the lock is safe: a history row becomes visible only together
with its migration (same transaction, or written last for a no-transaction one), so "all applied" can only
stay true.
"""

from __future__ import annotations

import json

from supadeploy.errors import PlanError
from supadeploy.migrations.files import Discovery
from supadeploy.migrations.history import SELECT_HISTORY_SUMMARY, HistoryRow
from supadeploy.migrations.plan import Plan, build_plan, check_plan
from supadeploy.targets.connection_url import connection_failed, validate_database_url
from supadeploy.targets.libpq_reader import LibpqError, ReadOnlySession, load_libpq

TABLES_EXIST = (
    "SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL, "
    "to_regclass('supabase_migrations.supadeploy_deployments') IS NOT NULL"
)
# The summary as one JSON value: one value to fetch instead of three per migration.
HISTORY_SUMMARY_JSON = (
    "SELECT coalesce(json_agg(json_build_array(s.version, s.name, s.digest) ORDER BY s.version), '[]') "
    f"FROM ({SELECT_HISTORY_SUMMARY}) AS s(version, name, digest)"
)
# Rows of runs killed mid-way; the next run that holds the deploy lock marks them interrupted (deploylog).
UNFINISHED_RUNS = "SELECT EXISTS (SELECT 1 FROM supabase_migrations.supadeploy_deployments WHERE status = 'running')"


def plan_if_up_to_date(url: str, discovery: Discovery, *, include_all: bool, allow_drift: bool,
                       application_name: str, connect_timeout: int = 10) -> Plan | None:
    """The plan of a push that would apply nothing and refuse nothing, or None when a full push must decide.

    Raises ConnectionFailed (worded as PostgresTarget words it) when the database cannot be reached: trying
    again with psycopg would only wait a second time.
    """
    validate_database_url(url)
    try:
        load_libpq()
    except LibpqError:
        return None
    parameters = {"dbname": url, "application_name": application_name, "client_encoding": "UTF8"}
    if "connect_timeout" not in url:
        parameters["connect_timeout"] = str(connect_timeout)
    try:
        session = ReadOnlySession(parameters)
    except LibpqError as error:
        raise connection_failed(url, str(error)) from None
    with session:
        try:
            history = _read_history(session)
        except LibpqError:  # e.g. no privilege, a lost connection: the full push reports it properly
            return None
    if history is None:
        return None
    plan = build_plan(discovery.migrations, history)
    if plan.pending:
        return None
    try:
        check_plan(plan, include_all=include_all, allow_drift=allow_drift)
    except PlanError:
        return None
    return plan


def _read_history(session: ReadOnlySession) -> list[HistoryRow] | None:
    """The history summary, or None when the push must run in full (no history table yet, a killed run)."""
    ((history_exists, deployments_exist),) = session.rows(TABLES_EXIST)
    if history_exists != "t":
        return None
    if deployments_exist == "t" and session.rows(UNFINISHED_RUNS) != [("f",)]:
        return None
    ((summary,),) = session.rows(HISTORY_SUMMARY_JSON)
    return [HistoryRow.from_summary(tuple(row)) for row in json.loads(summary or "[]")]
