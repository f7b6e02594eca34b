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
import threading
from collections.abc import Callable

from supadeploy.errors import PlanError
from supadeploy.migrations.deploy_log_sql import DEPLOYMENTS_TABLE_EXISTS, UNFINISHED_RUNS
from supadeploy.migrations.files import Discovery
from supadeploy.migrations.history import HISTORY_TABLE_UP_TO_DATE, SELECT_HISTORY_SUMMARY, HistoryRow
from supadeploy.migrations.plan import Plan, build_plan, check_plan
from supadeploy.targets.connection_url import connection_failed, validate_database_url
from supadeploy.targets.libpq_reader import LibpqError, ReadOnlySession, load_libpq

# The history table exists with every column the CLI adds (one made by an older CLI is upgraded by the full
# push), and whether the deploy log exists.
TABLES_EXIST = f"{HISTORY_TABLE_UP_TO_DATE}, {DEPLOYMENTS_TABLE_EXISTS.removeprefix('SELECT ')}"
# The summary as one JSON value: one value to fetch instead of three per migration.
HISTORY_SUMMARY_JSON = (
    "SELECT coalesce(json_agg(json_build_array(s.version, s.name, s.digest) ORDER BY s.version), '[]') "
    f"FROM ({SELECT_HISTORY_SUMMARY}) AS s(version, name, digest)"
)
# UNFINISHED_RUNS: rows of runs killed mid-way; the next run that holds the deploy lock marks them interrupted.


def read_history(url: str, *, application_name: str, connect_timeout: int = 10) -> list[HistoryRow] | None:
    """The history summary over libpq; None when the full push must decide (no libpq, no history table yet or
    an older CLI's one to upgrade, a killed run to mark, a failed read). ConnectionFailed when the database
    cannot be reached."""
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
            return _read_history(session)
        except LibpqError:  # e.g. no privilege, a lost connection: the full push reports it properly
            return None


def plan_from_history(history: list[HistoryRow] | None, discovery: Discovery, *, include_all: bool,
                      allow_drift: bool) -> Plan | None:
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


class HistoryPrefetch:
    """read_history on a thread, started before the migration files are read: the server computes the digests
    while this process reads and hashes the files (ctypes releases the GIL while libpq waits).

    ``url`` is a callable so that its checks (and their errors) run on the thread too, and ``result()`` raises
    them after the files were read: a bad file is still reported before a bad URL or an unreachable server.
    """

    def __init__(self, url: Callable[[], str], *, application_name: str, connect_timeout: int = 10) -> None:
        self._history: list[HistoryRow] | None = None
        self._error: BaseException | None = None
        self._url = ""
        self._thread = threading.Thread(target=self._run, args=(url, application_name, connect_timeout),
                                        name="supadeploy-history-read", daemon=True)
        self._thread.start()

    def _run(self, url: Callable[[], str], application_name: str, connect_timeout: int) -> None:
        try:
            self._url = url()
            self._history = read_history(self._url, application_name=application_name,
                                         connect_timeout=connect_timeout)
        except BaseException as error:  # handed to the caller by result()
            self._error = error

    def result(self) -> tuple[str, list[HistoryRow] | None]:
        """(the URL, the history or None); raises what reading raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._url, self._history

    def wait(self) -> None:
        """Let the read finish (its session closed) without its result, e.g. when the files were refused."""
        self._thread.join()


def _read_history(session: ReadOnlySession) -> list[HistoryRow] | None:
    """The history summary, or None when the push must run in full (no history table yet, or one made by an older
    CLI that the push upgrades; a killed run)."""
    ((history_exists, deployments_exist),) = session.rows(TABLES_EXIST)
    if history_exists != "t":
        return None
    if deployments_exist == "t" and session.rows(UNFINISHED_RUNS) != [("f",)]:
        return None
    ((summary,),) = session.rows(HISTORY_SUMMARY_JSON)
    return [HistoryRow.from_summary(tuple(row)) for row in json.loads(summary or "[]")]
