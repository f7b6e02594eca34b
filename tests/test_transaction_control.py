"""Transaction control inside a migration file (issue 12 §1).

A file wholly wrapped in one ``BEGIN; ... COMMIT;`` runs as that one transaction, with its history row as the
Supabase CLI writes it (BEGIN and COMMIT included). Any other transaction control is refused before anything of
the push is applied, at file:line, with the remedy; the same in down files, and ``supadeploy lint`` reports it.
The witness that nothing ran is a sequence (``nextval`` is not rolled back).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from supadeploy.migrations.splitter import split_statements
from tests.support.cli import Outcome, invoke, write_migration
from tests.support.inspect import history_rows, scalar, tables
from tests.test_run_once import at_line, nextval_calls

SETUP = "create sequence public.counter;\ncreate table public.log (v text);\n"
COUNT = "select nextval('public.counter');\n"
NO_TRANSACTION = "-- supadeploy:no-transaction\n"


def push(project: Path, url: str) -> Outcome:
    return invoke("push", "--workdir", str(project), "--db-url", url)


def cli_statements(sql: str) -> list[str]:
    return [statement.text for statement in split_statements(sql)]


@pytest.fixture
def counted_project(project_dir: Path, db_url: str) -> Path:
    """A project whose first migration (already pushed) made the counter and the table ``public.log``."""
    write_migration(project_dir, "000_setup.sql", SETUP)
    outcome = push(project_dir, db_url)
    assert outcome.exit_code == 0, outcome.output
    return project_dir


WRAPPED = {
    "upper_case": "BEGIN;\ncreate table public.w (id int);\nCOMMIT;\n",
    "lower_case": "begin;\ncreate table public.w (id int);\ncommit;\n",
    "start_transaction_end": "START TRANSACTION;\ncreate table public.w (id int);\nEND;\n",
    "after_a_header": "-- Migration: 001_wrapped\n-- Purpose: test\n/* runbook: wrap in a transaction */\n\n"
                      "BEGIN;\ncreate table public.w (id int);\ninsert into public.w values (1);\nCOMMIT;\n",
}


@pytest.mark.parametrize("sql", WRAPPED.values(), ids=WRAPPED.keys())
def test_a_file_wrapped_in_one_transaction_applies_with_the_cli_history_row(project_dir: Path, db_url: str,
                                                                           sql: str) -> None:
    write_migration(project_dir, "001_wrapped.sql", sql)
    outcome = push(project_dir, db_url)
    assert outcome.exit_code == 0, outcome.output
    assert tables(db_url) == ["w"]
    assert history_rows(db_url) == [("001", "wrapped", cli_statements(sql))]


def test_a_failure_inside_a_wrapped_file_leaves_nothing(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_wrapped.sql", "BEGIN;\ncreate table a(id int);\nselect 1/0;\nCOMMIT;\n")
    outcome = push(project_dir, db_url)
    assert outcome.exit_code == 1, outcome.output
    assert "division by zero" in outcome.output and at_line("001_wrapped.sql", 3).search(outcome.output)
    assert tables(db_url) == [] and history_rows(db_url) == []


def test_savepoints_used_in_pairs_are_fine(project_dir: Path, db_url: str) -> None:
    sql = ("create table public.sp (id int);\nsavepoint s;\ninsert into public.sp values (1);\n"
           "rollback to savepoint s;\ninsert into public.sp values (2);\nrelease s;\n")
    write_migration(project_dir, "001_savepoints.sql", sql)
    outcome = push(project_dir, db_url)
    assert outcome.exit_code == 0, outcome.output
    assert scalar(db_url, "select array_agg(id) from public.sp") == [2]
    assert history_rows(db_url) == [("001", "savepoints", cli_statements(sql))]


# (file name, SQL, line of the transaction control to report). The three files are kept on one line
# as reported; the others count, so that a run of any statement before the refusal shows.
REFUSED = {
    "commit_mid_file": ("002_txn_fail.sql", "BEGIN; create table t2(id int); COMMIT; create table t3(id int); "
                        "insert into t3 values (1/0);\n", 1),
    "commit_then_error": ("002_twice.sql", "BEGIN; insert into log values ('x'); COMMIT; select 1/0;\n", 1),
    "rollback_mid_file": ("002_r.sql", "create table r1(id int); ROLLBACK; create table r2(id int); "
                          "insert into r2 values (1);\n", 1),
    "commit_and_chain": ("002_chain.sql", COUNT + "create table public.c1 (id int);\ncommit and chain;\n"
                         "create table public.c2 (id int);\n", 3),
    "abort": ("002_abort.sql", COUNT + "create table public.a1 (id int);\nabort;\n", 3),
    "end_mid_file": ("002_end.sql", COUNT + "insert into public.log values ('e');\nend;\n"
                     "create table public.e2 (id int);\n", 3),
    "prepare_transaction": ("002_prepare.sql", COUNT + "create table public.p1 (id int);\n"
                            "prepare transaction 'x';\n", 3),
    "rollback_to_unknown_savepoint": ("002_rollback_to.sql", COUNT + "create table public.s1 (id int);\n"
                                      "rollback to savepoint s;\n", 3),
    "release_unknown_savepoint": ("002_release.sql", COUNT + "insert into public.log values ('s');\nrelease s;\n",
                                  3),
}


def assert_refused_transaction_control(outcome: Outcome, file_name: str, line: int) -> None:
    assert outcome.exit_code == 1, outcome.output
    assert at_line(file_name, line).search(outcome.output), outcome.output
    assert "transaction control" in outcome.output and "supadeploy:no-transaction" in outcome.output
    assert "Traceback" not in outcome.output


@pytest.mark.parametrize(("file_name", "sql", "line"), REFUSED.values(), ids=REFUSED.keys())
def test_transaction_control_is_refused_before_anything_of_the_push_runs(
        counted_project: Path, db_url: str, file_name: str, sql: str, line: int) -> None:
    write_migration(counted_project, "001_valid.sql", COUNT)
    write_migration(counted_project, file_name, sql)
    outcome = push(counted_project, db_url)
    assert_refused_transaction_control(outcome, file_name, line)
    assert nextval_calls(db_url) == 0
    assert [row[0] for row in history_rows(db_url)] == ["000"]
    assert tables(db_url) == ["log"]
    assert scalar(db_url, "select count(*) from public.log") == 0


@pytest.mark.parametrize(("file_name", "sql", "line"), REFUSED.values(), ids=REFUSED.keys())
def test_lint_reports_transaction_control(project_dir: Path, file_name: str, sql: str, line: int) -> None:
    path = write_migration(project_dir, file_name, sql)
    outcome = invoke("lint", "--workdir", str(project_dir), str(path))
    assert outcome.exit_code != 0, outcome.output
    reported = [text for text in outcome.output.splitlines() if at_line(file_name, line).search(text)]
    assert any("transaction" in text.lower() for text in reported), outcome.output


def test_a_down_file_with_transaction_control_is_refused_before_it_runs(counted_project: Path, db_url: str) -> None:
    write_migration(counted_project, "002_r.sql", "create table public.r1 (id int);\n")
    assert push(counted_project, db_url).exit_code == 0
    write_migration(counted_project, "002_r.down.sql", "drop table public.r1;\ncommit;\ndrop table public.r2_typo;\n")
    outcome = invoke("rollback", "--to", "000", "--workdir", str(counted_project), "--db-url", db_url)
    assert_refused_transaction_control(outcome, "002_r.down.sql", 2)
    assert "r1" in tables(db_url)
    assert [row[0] for row in history_rows(db_url)] == ["000", "002"]


NO_TRANSACTION_REFUSED = {
    "prepare_transaction": (NO_TRANSACTION + COUNT + "prepare transaction 'x';\n", 3),
    "begin_never_closed": (NO_TRANSACTION + COUNT + "begin;\ninsert into public.log values ('x');\n", 3),
}


@pytest.mark.parametrize(("sql", "line"), NO_TRANSACTION_REFUSED.values(), ids=NO_TRANSACTION_REFUSED.keys())
def test_no_transaction_file_with_unbalanced_transaction_control_is_refused_up_front(
        counted_project: Path, db_url: str, sql: str, line: int) -> None:
    write_migration(counted_project, "001_loose.sql", sql)
    outcome = push(counted_project, db_url)
    assert outcome.exit_code == 1, outcome.output
    assert at_line("001_loose.sql", line).search(outcome.output), outcome.output
    assert "transaction control" in outcome.output
    assert nextval_calls(db_url) == 0
    assert scalar(db_url, "select count(*) from public.log") == 0
    assert [row[0] for row in history_rows(db_url)] == ["000"]


def test_no_transaction_file_with_a_balanced_transaction_runs_it_once_and_says_what_stays(
        counted_project: Path, db_url: str) -> None:
    sql = NO_TRANSACTION + "begin;\ninsert into public.log values ('x');\ncommit;\nselect 1/0;\n"
    write_migration(counted_project, "001_loose.sql", sql)
    outcome = push(counted_project, db_url)
    assert outcome.exit_code == 1, outcome.output
    assert scalar(db_url, "select count(*) from public.log") == 1
    assert [row[0] for row in history_rows(db_url)] == ["000"]
    assert "division by zero" in outcome.output and at_line("001_loose.sql", 5).search(outcome.output)
    assert "stay applied" in outcome.output or "left" in outcome.output
