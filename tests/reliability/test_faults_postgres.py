"""Faults on the wire between supadeploy and the real Postgres, injected by tests/reliability/proxy.py.

For every fault: the database is at a migration boundary (history matches schema), no migration is applied
twice, the message says what happened and that a rerun is safe, and the rerun (through the same proxy, now
transparent) completes.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from tests.reliability.proxy import DIRECTIONS, PG_COMMIT_COMPLETE, FaultProxy
from tests.reliability.state import (
    State,
    marker,
    read_state,
    record_figures,
    reset_database,
    wait_for_sessions_to_end,
    write_logged_migrations,
)
from tests.support.cli import Outcome, invoke

MIGRATIONS = 6
RANDOM_TRIALS = 30
LOST = "lost the connection to"
CANNOT_CONNECT = "cannot connect to"


@dataclass
class Tally:
    trials: int = 0
    faults: int = 0
    failed_runs: int = 0
    rows: int = 0
    messages: set[str] = field(default_factory=set)


@pytest.fixture
def proxy(db_url: str) -> Iterator[FaultProxy]:
    with FaultProxy.for_url(db_url) as running:
        yield running


def push(project: Path, url: str, *extra: str) -> Outcome:
    return invoke("push", "--workdir", str(project), "--db-url", url, *extra)


def check_after_fault(outcome: Outcome, url: str, versions: list[str], tally: Tally) -> State:
    """The promises after one faulty run; returns the state it left."""
    assert "Traceback" not in outcome.output
    assert wait_for_sessions_to_end(url) == 0, "the dropped session must end"
    state = read_state(url)
    assert state.at_boundary, f"history {state.history}, logged {state.logged}, tables {state.tables}"
    assert state.history == versions[:len(state.history)], "applied in order, nothing skipped"
    tally.rows += state.rows
    if outcome.exit_code == 0:
        assert state.history == versions
        return state
    tally.failed_runs += 1
    assert outcome.exit_code == 1
    error = outcome.stderr[outcome.stderr.index("error: "):]
    assert len(error.strip().splitlines()) == 2, error  # one message: what happened, then what to do
    if CANNOT_CONNECT in error:
        assert state.history == [], "nothing is applied before the connection is made"
        tally.messages.add("cannot connect")
    else:
        assert LOST in error, error
        assert "rerun" in error and "safe" in error, error
        tally.messages.add("lost while applying" if "while applying" in error else "lost")
    return state


def check_rerun(project: Path, url: str, versions: list[str], tally: Tally) -> None:
    rerun = push(project, url)
    assert rerun.exit_code == 0, rerun.output
    assert wait_for_sessions_to_end(url) == 0
    state = read_state(url)
    assert (state.history, state.logged, state.tables) == (versions, versions, versions)  # each exactly once
    assert state.running_deployments == 0, "the interrupted run is marked, not left 'running'"
    tally.rows += state.rows
    tally.trials += 1


def measure_traffic(project: Path, url: str, proxy: FaultProxy, versions: list[str]) -> tuple[int, int]:
    reset_database(url)
    before_up, before_down = proxy.stats.bytes_up, proxy.stats.bytes_down
    clean = push(project, proxy.url(url))
    assert clean.exit_code == 0, clean.output
    assert read_state(url).history == versions
    return proxy.stats.bytes_up - before_up, proxy.stats.bytes_down - before_down


@pytest.mark.slow
def test_connection_dropped_at_random_bytes(project_dir: Path, db_url: str, proxy: FaultProxy) -> None:
    """Drop the connection at a random byte of either direction of a whole push (connect, lock, plan, each
    migration, deploy log, unlock): 30 trials, seeded."""
    versions = write_logged_migrations(project_dir, MIGRATIONS)
    up, down = measure_traffic(project_dir, db_url, proxy, versions)
    rng = random.Random(20260808)
    tally = Tally()
    for _ in range(RANDOM_TRIALS):
        reset_database(db_url)
        direction = rng.choice(DIRECTIONS)
        proxy.drop(direction, at_byte=rng.randrange(up if direction == "up" else down))
        outcome = push(project_dir, proxy.url(db_url))
        tally.faults += 1 - proxy.pending_faults()
        proxy.clear()
        check_after_fault(outcome, db_url, versions, tally)
        check_rerun(project_dir, proxy.url(db_url), versions, tally)
    assert tally.faults == RANDOM_TRIALS
    assert tally.failed_runs >= RANDOM_TRIALS // 2, "the faults must interrupt pushes"
    assert tally.messages == {"cannot connect", "lost", "lost while applying"}, "every phase of a push was hit"
    record_figures("postgres: drop at a random byte", trials=tally.trials, faults=tally.faults,
                   failed_runs=tally.failed_runs, rows_checked=tally.rows)


def test_commit_never_reaches_the_server(project_dir: Path, db_url: str, proxy: FaultProxy) -> None:
    """The request applying migration k is cut just before its COMMIT: k is not applied, the message names it."""
    versions = write_logged_migrations(project_dir, MIGRATIONS)
    tally = Tally()
    for index, version in enumerate(versions):
        reset_database(db_url)
        proxy.drop("up", before=b"COMMIT\x00", armed_by=marker(version))  # its Parse message
        outcome = push(project_dir, proxy.url(db_url))
        assert proxy.pending_faults() == 0
        tally.faults += 1
        state = check_after_fault(outcome, db_url, versions, tally)
        assert state.history == versions[:index]
        assert f"while applying {version}_step_{version}.sql" in outcome.stderr
        assert "was applied completely, with its history row, or not at all" in outcome.stderr
        check_rerun(project_dir, proxy.url(db_url), versions, tally)
    record_figures("postgres: cut before COMMIT", trials=tally.trials, faults=tally.faults, rows_checked=tally.rows)


def test_commit_reply_never_reaches_the_client(project_dir: Path, db_url: str, proxy: FaultProxy) -> None:
    """Migration k commits on the server, then the connection drops before the reply: k stays applied, with its
    history row, and the rerun does not apply it again."""
    versions = write_logged_migrations(project_dir, MIGRATIONS)
    tally = Tally()
    for index, version in enumerate(versions):
        reset_database(db_url)
        proxy.drop("down", before=PG_COMMIT_COMPLETE, armed_by=marker(version))
        outcome = push(project_dir, proxy.url(db_url))
        assert proxy.pending_faults() == 0
        tally.faults += 1
        state = check_after_fault(outcome, db_url, versions, tally)
        assert state.history == versions[:index + 1]
        assert f"while applying {version}_step_{version}.sql" in outcome.stderr
        assert "nothing of" not in outcome.stderr and "fix the file" not in outcome.stderr
        check_rerun(project_dir, proxy.url(db_url), versions, tally)
    record_figures("postgres: reply to COMMIT lost", trials=tally.trials, faults=tally.faults,
                   rows_checked=tally.rows)


def test_network_cut_during_a_long_migration(project_dir: Path, db_url: str, proxy: FaultProxy) -> None:
    """The network goes away while the server runs a slow statement: the server may still finish and commit
    that migration; either way history matches schema and the rerun completes."""
    versions = write_logged_migrations(project_dir, 2)
    versions += write_logged_migrations(project_dir, 1, sleep_seconds=0.8, start=3)
    versions += write_logged_migrations(project_dir, 2, start=4)
    cut = threading.Thread(target=cut_when_sleeping, args=(db_url, proxy), daemon=True)
    cut.start()
    outcome = push(project_dir, proxy.url(db_url))
    cut.join(timeout=30)
    tally = Tally(faults=1)
    state = check_after_fault(outcome, db_url, versions, tally)
    assert outcome.exit_code == 1 and "while applying 003_step_003.sql" in outcome.stderr
    assert state.history in (versions[:2], versions[:3])
    check_rerun(project_dir, proxy.url(db_url), versions, tally)


def cut_when_sleeping(url: str, proxy: FaultProxy, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            (sleeping,) = conn.execute(
                "select count(*) from pg_stat_activity where datname = current_database() and state = 'active' "
                "and application_name like 'supadeploy%%' and query like '%%pg_sleep%%'").fetchone() or (0,)
            if sleeping:
                proxy.drop_all()
                return
            time.sleep(0.01)


def test_latency_changes_nothing(project_dir: Path, db_url: str, proxy: FaultProxy) -> None:
    versions = write_logged_migrations(project_dir, MIGRATIONS)
    proxy.latency(0.005)
    outcome = push(project_dir, proxy.url(db_url))
    assert outcome.exit_code == 0, outcome.output
    state = read_state(db_url)
    assert (state.history, state.logged, state.tables) == (versions, versions, versions)


def test_stalled_reads_resume_and_complete(project_dir: Path, db_url: str, proxy: FaultProxy) -> None:
    """The server's replies stop for a while at a random moment, then resume: the push completes, once."""
    versions = write_logged_migrations(project_dir, MIGRATIONS)
    _, down = measure_traffic(project_dir, db_url, proxy, versions)
    rng = random.Random(7)
    tally = Tally()
    for _ in range(4):
        reset_database(db_url)
        proxy.stall("down", rng.uniform(0.2, 0.6), at_byte=rng.randrange(down))
        outcome = push(project_dir, proxy.url(db_url))
        assert proxy.pending_faults() == 0
        tally.faults += 1
        assert outcome.exit_code == 0, outcome.output
        state = read_state(db_url)
        assert (state.history, state.logged, state.tables) == (versions, versions, versions)
        tally.rows += state.rows
        tally.trials += 1
    record_figures("postgres: stalled reads", trials=tally.trials, faults=tally.faults, rows_checked=tally.rows)


def test_stall_while_connecting_times_out_with_one_message(project_dir: Path, db_url: str,
                                                           proxy: FaultProxy) -> None:
    write_logged_migrations(project_dir, 2)
    proxy.stall("down", 3.0, at_byte=0)
    outcome = push(project_dir, proxy.url(db_url) + "?connect_timeout=1")
    assert outcome.exit_code == 1
    assert f"error: {CANNOT_CONNECT} postgresql://postgres:****@127.0.0.1:{proxy.port}/" in outcome.stderr
    assert "timeout expired" in outcome.stderr
    assert read_state(db_url).history == []
