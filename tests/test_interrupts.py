"""SIGTERM (what a cancelled CI job sends) and Ctrl-C: the migration in flight is rolled back by the server, the
message says exactly what is applied, and the deploy log row ends 'interrupted', never 'running'."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import write_migration
from tests.support.inspect import history_rows, scalar, tables

SLEEP = "select pg_sleep(60);\n"


def start(project: Path, url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "supadeploy", *args, "--workdir", str(project), "--db-url", url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))


def wait_for_query(url: str, fragment: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        for _ in range(300):
            row = connection.execute("select count(*) from pg_stat_activity where query like %s "
                                     "and application_name like 'supadeploy%%' and datname = current_database()",
                                     (f"%{fragment}%",)).fetchone()
            if row and row[0]:
                return
            time.sleep(0.05)
    pytest.fail(f"no session ran {fragment!r}")


def terminate(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    return process.returncode, stdout + stderr


def deploy_log(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as connection:
        return connection.execute("select status, versions_applied from supabase_migrations.supadeploy_deployments"
                                  " order by id").fetchall()


def test_sigterm_rolls_back_the_migration_in_flight(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_first.sql", "create table public.first (id int);\n")
    write_migration(project_dir, "002_slow.sql", "create table public.slow (id int);\n" + SLEEP)
    process = start(project_dir, db_url, "push", "--no-verify", "--no-types")
    wait_for_query(db_url, "pg_sleep(60)")
    exit_code, output = terminate(process)
    assert exit_code == 130, output
    assert "interrupted while applying 002_slow.sql: it was rolled back, nothing of it is applied" in output
    assert "applied before it in this run, and kept: 001_first" in output
    assert "Traceback" not in output
    assert [row[0] for row in history_rows(db_url)] == ["001"]
    assert "slow" not in tables(db_url)
    assert deploy_log(db_url) == [("interrupted", ["001"])]
    write_migration(project_dir, "002_slow.sql", "create table public.slow (id int);\n")
    rerun = subprocess.run([sys.executable, "-m", "supadeploy", "push", "--no-verify", "--no-types", "--workdir",
                            str(project_dir), "--db-url", db_url], capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert [row[0] for row in history_rows(db_url)] == ["001", "002"]


def test_sigterm_in_a_no_transaction_migration_says_what_stays(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_loose.sql", "-- supadeploy:no-transaction\n"
                    "create table public.kept (id int);\n" + SLEEP + "create table public.never (id int);\n")
    process = start(project_dir, db_url, "push", "--no-verify", "--no-types")
    wait_for_query(db_url, "pg_sleep(60)")
    exit_code, output = terminate(process)
    assert exit_code == 130, output
    assert "runs outside a transaction" in output
    assert "1 of its 3 statements had completed and stay applied (statement 2 was cancelled)" in output
    assert history_rows(db_url) == []
    assert "kept" in tables(db_url) and "never" not in tables(db_url)
    assert deploy_log(db_url) == [("interrupted", [])]


def test_sigterm_while_waiting_for_the_deploy_lock_applies_nothing(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_first.sql", "create table public.first (id int);\n")
    with psycopg.connect(db_url, autocommit=True) as holder:
        holder.execute("select pg_advisory_lock(%s, 1)", (0x73757061,))
        process = start(project_dir, db_url, "push", "--no-verify", "--no-types")
        wait_for_query(db_url, "pg_advisory_lock")
        exit_code, output = terminate(process)
    assert exit_code == 130, output
    assert "interrupted while waiting for the deploy lock: nothing was applied" in output
    assert "rolled back" not in output
    assert "first" not in tables(db_url)


def test_sigterm_during_a_rollback_keeps_the_migration_applied(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_keep.sql", "create table public.keep (id int);\n")
    write_migration(project_dir, "002_undo.sql", "create table public.undo (id int);\n")
    assert subprocess.run([sys.executable, "-m", "supadeploy", "push", "--no-verify", "--no-types", "--workdir",
                           str(project_dir), "--db-url", db_url], capture_output=True, timeout=120).returncode == 0
    write_migration(project_dir, "002_undo.down.sql", "drop table public.undo;\n" + SLEEP)
    process = start(project_dir, db_url, "rollback", "--to", "001")
    wait_for_query(db_url, "pg_sleep(60)")
    exit_code, output = terminate(process)
    assert exit_code == 130, output
    assert "interrupted while rolling back 002_undo: its down SQL was rolled back with it, so it is still " \
           "applied" in output
    assert [row[0] for row in history_rows(db_url)] == ["001", "002"]
    assert scalar(db_url, "select count(*) from pg_class where relname = 'undo'") == 1
