"""The deploy lock under contention: a second push waits, or times out naming the holder; a push killed while
holding the lock never leaves it stuck. The holder is always a real `supadeploy push` process."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from supadeploy.targets.postgres import DEPLOY_LOCK_ID, DEPLOY_LOCK_NAMESPACE
from tests.reliability.state import read_state, record_figures, reset_database, write_logged_migrations
from tests.support.cli import invoke
from tests.support.management_api_server import TEST_TOKEN, ManagementApiServer, Project, make_ref

LOCK_HELD = """
SELECT a.application_name, a.state, a.query FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s AND l.objsubid = 2
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


def start_push(project: Path, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "supadeploy", "push", "--no-verify", "--no-types", "--workdir", str(project),
         "--db-url", url, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def lock_holder(url: str) -> tuple[str, str, str] | None:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(LOCK_HELD, (DEPLOY_LOCK_NAMESPACE, DEPLOY_LOCK_ID)).fetchone()
    return (str(row[0]), str(row[1]), str(row[2])) if row else None


def wait_for_holder(url: str, *, sleeping: bool, timeout: float = 30.0) -> str:
    """Wait until a push holds the deploy lock (and, with ``sleeping``, runs the slow migration); its app name."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holder = lock_holder(url)
        if holder and (not sleeping or (holder[1] == "active" and "pg_sleep" in holder[2])):
            return holder[0]
        time.sleep(0.01)
    raise AssertionError("no push took the deploy lock")


def slow_project(project: Path, seconds: float) -> list[str]:
    versions = write_logged_migrations(project, 1)
    versions += write_logged_migrations(project, 1, sleep_seconds=seconds, start=2)
    versions += write_logged_migrations(project, 2, start=3)
    return versions


def test_second_push_waits_for_the_holder_then_has_nothing_to_do(project_dir: Path, db_url: str,
                                                                 processes: list[subprocess.Popen[str]]) -> None:
    versions = slow_project(project_dir, 0.8)
    processes.append(start_push(project_dir, db_url))
    wait_for_holder(db_url, sleeping=True)
    second = invoke("push", "--workdir", str(project_dir), "--db-url", db_url, "--json")
    _, first_err = processes[0].communicate(timeout=60)
    assert processes[0].returncode == 0, first_err
    assert second.exit_code == 0, second.output
    assert second.json()["result"]["applied"] == [] and second.json()["result"]["skipped"] == []
    state = read_state(db_url)
    assert (state.history, state.logged, state.tables) == (versions, versions, versions)


def test_timeout_names_the_holder(project_dir: Path, db_url: str, processes: list[subprocess.Popen[str]]) -> None:
    versions = slow_project(project_dir, 3.0)
    (project_dir / "supadeploy.toml").write_text('[push]\ndeploy_lock_wait = "300ms"\n', encoding="utf-8")
    processes.append(start_push(project_dir, db_url))
    holder_name = wait_for_holder(db_url, sleeping=True)
    assert holder_name == f"supadeploy push pid={processes[0].pid}"
    second = invoke("push", "--workdir", str(project_dir), "--db-url", db_url)
    assert second.exit_code == 1
    error = second.stderr[second.stderr.index("error: "):]
    assert re.fullmatch(
        r"error: another deploy holds the deploy lock on postgresql://postgres:\*\*\*\*@127\.0\.0\.1:\d+/\w+: "
        rf"'supadeploy push pid={processes[0].pid}' \(pid \d+, user postgres, from 127\.0\.0\.1, "
        r"connected \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \w+, active\)\n"
        r"  waited 0\.3s; rerun when it has finished, or raise \[push\] deploy_lock_wait\n", error), error
    assert processes[0].wait(timeout=60) == 0
    state = read_state(db_url)
    assert (state.history, state.logged, state.tables) == (versions, versions, versions)


def test_api_push_timeout_names_a_native_holder(project_dir: Path, db_url: str,
                                                processes: list[subprocess.Popen[str]]) -> None:
    """The API engine's lock is the native one (as a transaction lock): it waits for a native push, and names it."""
    versions = slow_project(project_dir, 3.0)
    ref = make_ref("lockholder")
    (project_dir / "supadeploy.toml").write_text(
        f'[push]\ndeploy_lock_wait = "300ms"\n[environments.staging]\nproject_ref = "{ref}"\n', encoding="utf-8")
    with ManagementApiServer([Project(ref=ref, name="locks", db_url=db_url)]) as server:
        api_url = server.url
        processes.append(start_push(project_dir, db_url))
        wait_for_holder(db_url, sleeping=True)
        second = invoke("push", "--workdir", str(project_dir), "--env", "staging", "--engine", "api",
                        env={"SUPABASE_ACCESS_TOKEN": TEST_TOKEN, "SUPADEPLOY_API_URL": api_url})
        assert server.violations == []
    assert second.exit_code == 1
    assert (f"another deploy held the deploy lock on project {ref} via the Management API ({api_url}) for longer "
            f"than 0.3s: 'supadeploy push pid={processes[0].pid}' (pid ") in second.stderr
    assert processes[0].wait(timeout=60) == 0
    assert read_state(db_url).history == versions


@pytest.mark.slow
def test_push_killed_while_holding_the_lock_never_leaves_it_stuck(project_dir: Path, db_url: str,
                                                                  processes: list[subprocess.Popen[str]]) -> None:
    """SIGKILL the holder in the middle of a slow statement, and at random moments: the next push (waiting at most
    30 s) always gets the lock and completes; the killed run is marked 'interrupted' in the deploy log."""
    versions = slow_project(project_dir, 1.0)
    (project_dir / "supadeploy.toml").write_text('[push]\ndeploy_lock_wait = "30s"\n', encoding="utf-8")
    rng = random.Random(88)
    kills = rows = 0
    for trial in range(4):
        reset_database(db_url)
        holder = start_push(project_dir, db_url)
        processes.append(holder)
        if trial == 0:
            wait_for_holder(db_url, sleeping=True)
        else:
            wait_for_holder(db_url, sleeping=False)
            time.sleep(rng.uniform(0.0, 0.6))
        if holder.poll() is None:
            holder.send_signal(signal.SIGKILL)
            kills += 1
        holder.communicate(timeout=30)
        rerun = invoke("push", "--workdir", str(project_dir), "--db-url", db_url, "--json")
        assert rerun.exit_code == 0, rerun.output
        state = read_state(db_url)
        assert (state.history, state.logged, state.tables) == (versions, versions, versions)
        assert state.running_deployments == 0
        assert lock_holder(db_url) is None
        rows += state.rows
    assert kills >= 3
    record_figures("lock: holder killed", trials=4, faults=kills, rows_checked=rows)


def test_a_failed_push_releases_the_lock(project_dir: Path, db_url: str) -> None:
    versions = write_logged_migrations(project_dir, 2)
    (project_dir / "supabase" / "migrations" / "003_bad.sql").write_text("select * from nowhere;\n")
    with psycopg.connect(db_url, autocommit=True) as watcher:
        failed = invoke("push", "--workdir", str(project_dir), "--db-url", db_url)
        assert failed.exit_code == 1
        (held,) = watcher.execute(
            "select count(*) from pg_locks where locktype = 'advisory' and classid = %s "
            "and database = (select oid from pg_database where datname = current_database())",
            (DEPLOY_LOCK_NAMESPACE,)).fetchone() or (0,)
    assert held == 0
    assert read_state(db_url).history == versions
