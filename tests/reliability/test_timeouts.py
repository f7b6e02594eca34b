"""lock_timeout and statement_timeout from supadeploy.toml: a migration blocked by a long transaction on the same
table fails at the configured limit (Postgres cancels it: SQLSTATE 55P03 / 57014, never a client-side guess),
with file:line:column, leaving nothing behind (no table, no history row, no lock, no session); the blocker's
transaction is untouched and the rerun after it ends completes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.reliability.state import wait_for_sessions_to_end
from tests.support.cli import Outcome, invoke, write_migration
from tests.support.inspect import history_rows, scalar, tables
from tests.support.management_api_server import TEST_TOKEN, ManagementApiServer, Project, make_ref

REF = make_ref("timeouts")
BLOCKED = (
    "create table public.other (id int);\n"
    "insert into public.other values (1);\n"
    "-- the long transaction holds busy: this waits\n"
    "alter table public.busy\n"
    "  add column note text;\n"
    "create index busy_note on public.busy (note);\n"
)


def push(project: Path, url: str, *extra: str) -> Outcome:
    return invoke("push", "--workdir", str(project), "--db-url", url, *extra)


@pytest.fixture
def busy_project(project_dir: Path, db_url: str) -> Path:
    (project_dir / "supadeploy.toml").write_text(
        f'[push]\nlock_timeout = "300ms"\nstatement_timeout = "400ms"\n[environments.staging]\nproject_ref = "{REF}"\n',
        encoding="utf-8")
    write_migration(project_dir, "001_busy.sql",
                    "create table public.busy (id int);\ninsert into public.busy values (1);\n")
    assert push(project_dir, db_url).exit_code == 0
    return project_dir


@pytest.fixture
def long_transaction(db_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A transaction that read public.busy and stays open (AccessShareLock) until the test ends it."""
    with psycopg.connect(db_url, application_name="long report") as blocker:
        blocker.execute("select count(*) from public.busy")
        yield blocker


def assert_nothing_behind(url: str) -> None:
    assert [row[0] for row in history_rows(url)] == ["001"]
    assert tables(url) == ["busy"]
    assert scalar(url, "select count(*) from information_schema.columns where table_name = 'busy'") == 1
    assert wait_for_sessions_to_end(url) == 0
    assert scalar(url, "select count(*) from pg_locks l join pg_stat_activity a using (pid) "
                       "where a.application_name like 'supadeploy%' and a.datname = current_database()") == 0


def test_blocked_migration_fails_at_lock_timeout(busy_project: Path, db_url: str,
                                                 long_transaction: psycopg.Connection[tuple[object, ...]]) -> None:
    path = write_migration(busy_project, "002_blocked.sql", BLOCKED)
    outcome = push(busy_project, db_url)
    assert outcome.exit_code == 1
    error = outcome.stderr[outcome.stderr.index("error: "):]
    holder = long_transaction.info.backend_pid
    assert error == (f"error: {path}:4:1: canceling statement due to lock timeout [SQLSTATE 55P03]\n"
                     f"  blocked by: pid {holder} ('long report', user postgres, idle in transaction) holding "
                     "AccessShareLock on busy\n"
                     "  nothing of 002_blocked was applied: another session held a lock it needed; rerun when that "
                     "session is done, or raise [push] lock_timeout / statement_timeout\n")
    assert_nothing_behind(db_url)
    assert long_transaction.execute("select count(*) from public.busy").fetchone() == (1,)  # still open, untouched
    long_transaction.commit()
    assert push(busy_project, db_url).exit_code == 0
    assert tables(db_url) == ["busy", "other"]


def test_blocked_migration_over_the_api_fails_at_the_same_place(
        busy_project: Path, db_url: str, long_transaction: psycopg.Connection[tuple[object, ...]]) -> None:
    path = write_migration(busy_project, "002_blocked.sql", BLOCKED)
    with ManagementApiServer([Project(ref=REF, name="timeouts", db_url=db_url)]) as server:
        outcome = invoke("push", "--workdir", str(busy_project), "--env", "staging", "--engine", "api", "--json",
                         env={"SUPABASE_ACCESS_TOKEN": TEST_TOKEN, "SUPADEPLOY_API_URL": server.url})
        assert server.violations == []
    assert outcome.exit_code == 1
    failed = outcome.json()["result"]["failed"]
    assert (failed["file"], failed["line"], failed["column"], failed["sqlstate"]) == (str(path), 4, 1, "55P03")
    assert failed["message"] == "canceling statement due to lock timeout"
    assert_nothing_behind(db_url)


def test_slow_statement_fails_at_statement_timeout(busy_project: Path, db_url: str) -> None:
    path = write_migration(busy_project, "002_slow.sql",
                           "create table public.other (id int);\n\nselect pg_sleep(30);\n")
    outcome = push(busy_project, db_url)
    assert outcome.exit_code == 1
    assert f"error: {path}:3:1: canceling statement due to statement timeout [SQLSTATE 57014]" in outcome.stderr
    assert_nothing_behind(db_url)


def test_lock_timeout_in_a_no_transaction_migration_says_what_stayed(
        busy_project: Path, db_url: str, long_transaction: psycopg.Connection[tuple[object, ...]]) -> None:
    path = write_migration(busy_project, "002_outside.sql", "-- supadeploy:no-transaction\n" + BLOCKED)
    outcome = push(busy_project, db_url)
    assert outcome.exit_code == 1
    assert f"error: {path}:5:1: canceling statement due to lock timeout [SQLSTATE 55P03]" in outcome.stderr
    assert "runs outside a transaction (supadeploy:no-transaction): the " in outcome.stderr
    assert "statement(s) before it ran and stay applied; its history row was not written" in outcome.stderr
    assert [row[0] for row in history_rows(db_url)] == ["001"]
    assert tables(db_url) == ["busy", "other"]  # what the message says stayed
    assert wait_for_sessions_to_end(db_url) == 0
