"""No statement of a migration runs twice: not to find where it failed, not under a lock or a timeout.

A sequence is the witness: ``nextval`` is not rolled back, so the number of calls it counts is the number of times
the statement was executed, whatever happened to the transaction around it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import invoke, run_process, write_migration
from tests.support.inspect import history_rows, scalar, tables

SETUP = "create sequence public.counter;\ncreate table public.t (id int);\n"
COUNT = "select nextval('public.counter');\n"


def nextval_calls(url: str) -> int:
    """How many times ``nextval('public.counter')`` ran (the sequence starts at 1 and steps by 1)."""
    return int(scalar(url, "select case when is_called then last_value else 0 end from public.counter"))


def at_line(file_name: str, line: int) -> re.Pattern[str]:
    """``FILE:LINE`` followed by a column or the end of the location, never a longer line number."""
    return re.compile(rf"{re.escape(file_name)}:{line}(?!\d)")


def push(project: Path, url: str) -> tuple[int, str]:
    outcome = invoke("push", "--workdir", str(project), "--db-url", url)
    return outcome.exit_code, outcome.output


@pytest.fixture
def counted_project(project_dir: Path, db_url: str) -> Path:
    """A project whose first migration (already pushed) made the counter and the table ``public.t``."""
    write_migration(project_dir, "000_setup.sql", SETUP)
    exit_code, output = push(project_dir, db_url)
    assert exit_code == 0, output
    return project_dir


@pytest.fixture
def lock_holder(counted_project: Path, db_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """Another session holding ACCESS EXCLUSIVE on ``public.t``, with ``[push] lock_timeout = "1s"`` configured."""
    (counted_project / "supadeploy.toml").write_text('[push]\nlock_timeout = "1s"\n', encoding="utf-8")
    holder = psycopg.connect(db_url)
    try:
        holder.execute("lock table public.t in access exclusive mode")
        yield holder
    finally:
        holder.close()


def test_a_runtime_error_costs_one_execution_and_names_its_line(counted_project: Path, db_url: str) -> None:
    write_migration(counted_project, "001_fail.sql", COUNT + "select 1/0;\n")
    exit_code, output = push(counted_project, db_url)
    assert exit_code == 1, output
    assert nextval_calls(db_url) == 1
    assert "001_fail.sql:2:" in output and "division by zero" in output
    assert [row[0] for row in history_rows(db_url)] == ["000"]


def test_a_failure_late_in_a_long_file_is_located_without_a_replay(counted_project: Path, db_url: str) -> None:
    statements = [COUNT.strip()] + [f"create table public.s{n} (id int);" for n in range(2, 50)]
    statements += ["select 1/0;"] + [f"select {n};" for n in range(51, 61)]
    write_migration(counted_project, "001_long.sql", "\n".join(statements) + "\n")
    exit_code, output = push(counted_project, db_url)
    assert exit_code == 1, output
    assert nextval_calls(db_url) == 1
    assert at_line("001_long.sql", 50).search(output) and "division by zero" in output
    assert tables(db_url) == ["t"]
    assert [row[0] for row in history_rows(db_url)] == ["000"]


def test_no_transaction_file_runs_each_statement_once(counted_project: Path, db_url: str) -> None:
    write_migration(counted_project, "001_loose.sql", "-- supadeploy:no-transaction\n" + COUNT + "select 1/0;\n")
    exit_code, output = push(counted_project, db_url)
    assert exit_code == 1, output
    assert nextval_calls(db_url) == 1
    assert "001_loose.sql:3:" in output and "division by zero" in output
    assert [row[0] for row in history_rows(db_url)] == ["000"]


def test_a_lock_timeout_runs_once_and_names_the_session_holding_the_lock(
        counted_project: Path, db_url: str, lock_holder: psycopg.Connection[tuple[object, ...]]) -> None:
    write_migration(counted_project, "001_alter.sql", COUNT + "alter table public.t add column x int;\n")
    exit_code, output = push(counted_project, db_url)
    assert exit_code == 1, output
    assert nextval_calls(db_url) == 1
    assert "lock" in output and str(lock_holder.info.backend_pid) in output
    assert at_line("001_alter.sql", 2).search(output)
    assert [row[0] for row in history_rows(db_url)] == ["000"]


@pytest.mark.parametrize("sql", ["reset all;\n", "set lock_timeout = 0;\n", "set local lock_timeout = 0;\n"])
def test_a_migration_cannot_lift_the_configured_lock_timeout(
        counted_project: Path, db_url: str, lock_holder: psycopg.Connection[tuple[object, ...]], sql: str) -> None:
    write_migration(counted_project, "001_unlimited.sql", sql + "alter table public.t add column y int;\n")
    # A real process with a deadline: if the limit is lifted the push waits for the lock, and the test fails.
    outcome = run_process("push", "--workdir", str(counted_project), "--db-url", db_url, timeout=60)
    assert outcome.exit_code == 1, outcome.output
    assert "lock" in outcome.output and str(lock_holder.info.backend_pid) in outcome.output
    assert [row[0] for row in history_rows(db_url)] == ["000"]
    assert scalar(db_url, "select count(*) from information_schema.columns where table_name = 't'") == 1
