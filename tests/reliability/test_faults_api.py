"""Faults on the wire between supadeploy and the Management API (the contract-validated local server, backed by
the real Postgres), injected by tests/reliability/proxy.py.

Over HTTP every request is its own transaction: a dropped request or reply must never apply a migration twice
(the client re-reads the history instead of resending blindly), and one lost connection should not even fail the
push. A persistent outage fails it with one message that says a rerun is safe; the rerun completes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from supadeploy.deploylog import DeploymentContext
from supadeploy.errors import SupadeployError
from supadeploy.management_api.client import ManagementApiClient, RetryPolicy
from supadeploy.migrations.files import discover_migrations
from supadeploy.pipeline import PushOptions, push
from supadeploy.targets.management_api import ManagementApiTarget
from tests.reliability.proxy import DIRECTIONS, FaultProxy
from tests.reliability.state import marker, read_state, record_figures, reset_database, write_logged_migrations
from tests.support.cli import Outcome, invoke
from tests.support.management_api_server import TEST_TOKEN, ManagementApiServer, Project, make_ref

REF = make_ref("reliability")
MIGRATIONS = 4
RANDOM_TRIALS = 16
FAST = RetryPolicy(attempts=4, backoff_seconds=0.001, max_backoff_seconds=0.002)


@pytest.fixture
def server(db_url: str) -> Iterator[ManagementApiServer]:
    # A rate limit high enough that the trials never meet it (test_management_api_client covers pacing).
    with ManagementApiServer([Project(ref=REF, name="reliability", db_url=db_url)], rate_limit=100_000) as running:
        yield running


@pytest.fixture
def proxy(server: ManagementApiServer) -> Iterator[FaultProxy]:
    with FaultProxy.for_url(server.url) as running:
        yield running


def api_project(project: Path, extra: str = "") -> None:
    (project / "supadeploy.toml").write_text(f'[environments.staging]\nproject_ref = "{REF}"\n{extra}',
                                             encoding="utf-8")


def push_api(project: Path, proxy: FaultProxy, *extra: str) -> Outcome:
    env = {"SUPABASE_ACCESS_TOKEN": TEST_TOKEN, "SUPADEPLOY_API_URL": f"http://127.0.0.1:{proxy.port}"}
    return invoke("push", "--workdir", str(project), "--env", "staging", "--engine", "api", *extra, env=env)


def assert_complete(url: str, versions: list[str]) -> int:
    state = read_state(url)
    assert (state.history, state.logged, state.tables) == (versions, versions, versions)  # each exactly once
    assert state.running_deployments == 0
    return state.rows


@pytest.mark.slow
def test_connection_dropped_at_random_bytes(project_dir: Path, db_url: str, proxy: FaultProxy) -> None:
    """One connection dropped at a random byte of a whole API push (deploy log included), 16 seeded trials,
    through the library with the retry backoff shortened (the CLI's waits up to seconds between retries)."""
    versions = write_logged_migrations(project_dir, MIGRATIONS)
    library_push(project_dir, proxy)
    up, down = proxy.stats.bytes_up, proxy.stats.bytes_down
    rng = random.Random(20260809)
    rows = 0
    for _ in range(RANDOM_TRIALS):
        reset_database(db_url)
        direction = rng.choice(DIRECTIONS)
        proxy.drop(direction, at_byte=rng.randrange(up if direction == "up" else down))
        library_push(project_dir, proxy)  # one lost connection is absorbed: retried, or read back
        assert proxy.pending_faults() == 0
        rows += assert_complete(db_url, versions)
    record_figures("api: drop at a random byte", trials=RANDOM_TRIALS, faults=RANDOM_TRIALS, rows_checked=rows)


def test_apply_request_cut_before_it_reaches_the_server(project_dir: Path, db_url: str, proxy: FaultProxy,
                                                       server: ManagementApiServer) -> None:
    versions = write_logged_migrations(project_dir, MIGRATIONS)
    api_project(project_dir)
    rows = 0
    for version in versions:
        reset_database(db_url)
        proxy.drop("up", before=marker(version))
        outcome = push_api(project_dir, proxy, "--json")
        assert proxy.pending_faults() == 0
        assert outcome.exit_code == 0, outcome.output
        assert [m["version"] for m in outcome.json()["result"]["applied"]] == versions
        rows += assert_complete(db_url, versions)
    assert server.violations == []
    record_figures("api: apply request cut", trials=len(versions), faults=len(versions), rows_checked=rows)


def test_reply_lost_after_the_server_committed(project_dir: Path, db_url: str, proxy: FaultProxy,
                                               server: ManagementApiServer) -> None:
    versions = write_logged_migrations(project_dir, MIGRATIONS)
    api_project(project_dir)
    rows = 0
    for version in versions:
        reset_database(db_url)
        proxy.drop("down", at_byte=0, armed_by=marker(version))
        outcome = push_api(project_dir, proxy, "--json")
        assert proxy.pending_faults() == 0
        assert outcome.exit_code == 0, outcome.output
        assert [m["version"] for m in outcome.json()["result"]["applied"]] == versions
        rows += assert_complete(db_url, versions)
    assert server.violations == []
    record_figures("api: reply lost after commit", trials=len(versions), faults=len(versions), rows_checked=rows)


def test_stalled_reply_times_out_and_is_not_resent_blindly(project_dir: Path, db_url: str, proxy: FaultProxy,
                                                          server: ManagementApiServer) -> None:
    versions = write_logged_migrations(project_dir, MIGRATIONS)
    api_project(project_dir, '[api]\ntimeout = "1s"\n')
    proxy.stall("down", 2.5, at_byte=0, armed_by=marker("002"))
    outcome = push_api(project_dir, proxy)
    assert outcome.exit_code == 0, outcome.output
    assert_complete(db_url, versions)
    applies = [r for r in server.requests if r.body and "$sdguard$" in str(r.body.get("query", ""))]
    assert len(applies) == len(versions), "the stalled request committed: it is read back, not sent again"


def test_latency_changes_nothing(project_dir: Path, db_url: str, proxy: FaultProxy) -> None:
    versions = write_logged_migrations(project_dir, MIGRATIONS)
    api_project(project_dir)
    proxy.latency(0.01)
    outcome = push_api(project_dir, proxy)
    assert outcome.exit_code == 0, outcome.output
    assert_complete(db_url, versions)


def library_push(project: Path, proxy: FaultProxy) -> None:
    client = ManagementApiClient(TEST_TOKEN, api_url=f"http://127.0.0.1:{proxy.port}", retry=FAST,
                                 sleep=lambda _: None)
    target = ManagementApiTarget(client, REF)
    try:
        result = push(target, discover_migrations(project / "supabase" / "migrations"), PushOptions(),
                      deployment=DeploymentContext(command="push", environment="staging"))
    finally:
        target.close()
    assert result.ok


def test_outage_during_a_migration_fails_with_one_message(project_dir: Path, db_url: str,
                                                          proxy: FaultProxy) -> None:
    """The API goes away in the middle of migration 003: before its request reaches the server (it is resent
    after reading the history, and lost again, 3 times), or after the server committed it (its reply and every
    later request are lost). Either way the push stops with one message saying the outcome of 003 is unknown
    and a rerun is safe; history matches schema, and the rerun completes."""
    versions = write_logged_migrations(project_dir, MIGRATIONS)
    for direction in ("up", "down"):
        reset_database(db_url)
        if direction == "up":
            proxy.drop("up", before=marker("003"), times=3)
        else:
            proxy.drop("down", at_byte=0, armed_by=marker("003"), sticky=True, times=1000)
        with pytest.raises(SupadeployError) as raised:
            library_push(project_dir, proxy)
        proxy.clear()
        message = raised.value.render()
        assert message.startswith("the request may or may not have been applied: 003_step_003.sql: "), message
        assert "rerun" in message and "never applies a migration twice" in message
        assert TEST_TOKEN not in message
        state = read_state(db_url)
        assert state.at_boundary
        assert state.history == (versions[:2] if direction == "up" else versions[:3])
        library_push(project_dir, proxy)
        assert_complete(db_url, versions)
    record_figures("api: outage in a migration", trials=2, faults=2)


def test_unreachable_api_fails_before_applying_anything(project_dir: Path, db_url: str, proxy: FaultProxy) -> None:
    versions = write_logged_migrations(project_dir, MIGRATIONS)
    proxy.drop("up", at_byte=0, times=1000)
    with pytest.raises(SupadeployError) as raised:
        library_push(project_dir, proxy)
    proxy.clear()
    message = raised.value.render()
    assert f"cannot reach the Management API at http://127.0.0.1:{proxy.port} after 4 attempts" in message, message
    assert TEST_TOKEN not in message
    assert read_state(db_url).history == []
    library_push(project_dir, proxy)
    assert_complete(db_url, versions)
