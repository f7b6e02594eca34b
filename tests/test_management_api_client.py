"""The Management API client against the local contract-validated server backed by real Postgres."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest

from supadeploy.errors import SupadeployError
from supadeploy.management_api.client import (
    RUN_QUERY,
    ManagementApiClient,
    RetryPolicy,
    check_project_ref,
)
from supadeploy.management_api.errors import (
    AmbiguousOutcome,
    ApiServerError,
    ApiUnreachable,
    BadToken,
    NoAccess,
    ProjectNotFound,
    QueryFailed,
    RateLimited,
)
from supadeploy.management_api.ratelimit import RateLimitPacer
from supadeploy.management_api.sqlerror import parse_query_error
from supadeploy.sql_diagnostics import SqlDiagnostics
from tests.support.management_api_server import TEST_TOKEN, ManagementApiServer, Project, format_query_error, make_ref

REF = make_ref("client")
FAST = RetryPolicy(attempts=4, backoff_seconds=0.001, max_backoff_seconds=0.002, max_retry_after_seconds=5)


@pytest.fixture
def server(db_url: str) -> Iterator[ManagementApiServer]:
    with ManagementApiServer([Project(ref=REF, name="client-tests", db_url=db_url)],
                             tokens_without_access=("sbp_" + "f" * 40,)) as running:
        yield running
        assert running.violations == []


class SleepRecorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def make_client(server: ManagementApiServer) -> Iterator[Callable[..., ManagementApiClient]]:
    clients: list[ManagementApiClient] = []

    def factory(token: str = TEST_TOKEN, **options: object) -> ManagementApiClient:
        options.setdefault("retry", FAST)
        client = ManagementApiClient(token, api_url=server.url, **options)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


def test_every_endpoint_matches_the_contract(server: ManagementApiServer,
                                             make_client: Callable[..., ManagementApiClient], db_url: str) -> None:
    client = make_client()
    [project] = client.list_projects()
    assert (project.ref, project.name, project.status) == (REF, "client-tests", "ACTIVE_HEALTHY")
    assert client.get_project(REF) == project
    assert [(s.name, s.status) for s in client.project_health(REF, ["db", "pooler"])] == \
        [("db", "ACTIVE_HEALTHY"), ("pooler", "ACTIVE_HEALTHY")]
    [pooler] = client.pooler_config(REF)
    assert (pooler.pool_mode, pooler.db_port, pooler.db_name) == ("transaction", 6543, db_url.rsplit("/", 1)[1])
    result = client.run_query(REF, "select 1 as one, 'a' as letter, array[1, 2] as numbers")
    assert result.columns == ["one", "letter", "numbers"]
    assert result.tuples() == [(1, "a", [1, 2])]
    assert client.run_query(REF, "select $1::int + 1 as n", [41]).tuples() == [(42,)]
    assert client.list_migrations(REF) == []
    point = client.create_restore_point(REF, "before-deploy")
    assert (point.name, point.status) == ("before-deploy", "AVAILABLE")
    # Everything the client sent and the server answered went through the contract (fixture asserts none failed).
    assert {r.status for r in server.requests} <= {200, 201}


def test_sql_errors_come_back_with_sqlstate_and_position(make_client: Callable[..., ManagementApiClient]) -> None:
    client = make_client()
    with pytest.raises(QueryFailed) as caught:
        client.run_query(REF, "select 1;\nselect *\n  from missing_table")
    error = caught.value.error
    assert (error.sqlstate, error.message, error.line, error.column) == \
        ("42P01", 'relation "missing_table" does not exist', 3, 8)


def test_sql_error_message_round_trip() -> None:
    query = "create table t (id int);\ninsert into t values ('x')"
    message = format_query_error(SqlDiagnostics(
        sqlstate="22P02", message='invalid input syntax for type integer: "x"', position=query.index("'x'") + 1,
        detail="some detail", hint="a hint", context="line 1\nline 2"), query)
    error = parse_query_error(message)
    assert error is not None
    assert (error.sqlstate, error.line, error.column, error.detail, error.hint, error.context) == \
        ("22P02", 2, 23, "some detail", "a hint", "line 1\nline 2")
    assert parse_query_error("Failed to run sql query: Connection terminated due to connection timeout") is None


@pytest.mark.parametrize(("token", "error", "text"), [
    ("sbp_" + "0" * 40, BadToken, "rejected the access token (401 Unauthorized)"),
    ("sbp_" + "f" * 40, NoAccess, "has no access to project"),
])
def test_auth_errors(make_client: Callable[..., ManagementApiClient], token: str, error: type[Exception],
                     text: str) -> None:
    with pytest.raises(error) as caught:
        make_client(token).get_project(REF)
    assert text in str(caught.value)
    assert token not in str(caught.value)


def test_unknown_and_malformed_project_refs(make_client: Callable[..., ManagementApiClient]) -> None:
    client = make_client()
    with pytest.raises(ProjectNotFound, match=r"project zzzzzzzzzzzzzzzzzzzz does not exist \(404 Not Found\)"):
        client.get_project("z" * 20)
    with pytest.raises(SupadeployError, match="is not a Supabase project ref"):
        client.get_project("Not-A-Ref")
    with pytest.raises(SupadeployError, match="20 lowercase letters"):
        check_project_ref("abc")


def test_5xx_and_429_are_retried_honouring_retry_after(server: ManagementApiServer,
                                                       make_client: Callable[..., ManagementApiClient]) -> None:
    sleep = SleepRecorder()
    client = make_client(sleep=sleep)
    server.faults.status(503, endpoint="GET /v1/projects/{ref}")
    server.faults.status(500, endpoint="GET /v1/projects/{ref}")
    server.faults.status(429, endpoint="GET /v1/projects/{ref}", retry_after=3)
    assert client.get_project(REF).ref == REF
    assert server.count("GET /v1/projects/{ref}") == 4
    assert 3.0 in sleep.waits  # Retry-After honoured
    assert all(wait <= FAST.max_retry_after_seconds for wait in sleep.waits)


def test_retries_are_capped(server: ManagementApiServer, make_client: Callable[..., ManagementApiClient]) -> None:
    client = make_client(sleep=SleepRecorder())
    server.faults.status(429, retry_after=1, times=10)
    with pytest.raises(RateLimited, match="still rate limiting after 4 attempts"):
        client.list_projects()
    server.faults.clear()
    server.faults.status(503, times=10)
    with pytest.raises(ApiServerError, match="failed with 503 after 4 attempts"):
        client.list_projects()
    assert server.count("GET /v1/projects") == 8


def test_read_queries_are_retried_after_a_dropped_connection(server: ManagementApiServer,
                                                             make_client: Callable[..., ManagementApiClient]) -> None:
    client = make_client(sleep=SleepRecorder())
    server.faults.drop_before_apply(endpoint=RUN_QUERY)
    assert client.run_query(REF, "select 7 as n").tuples() == [(7,)]
    assert server.count(RUN_QUERY) == 2


def test_state_changing_requests_are_never_blindly_retried(server: ManagementApiServer,
                                                           make_client: Callable[..., ManagementApiClient],
                                                           db_url: str) -> None:
    client = make_client(sleep=SleepRecorder())
    client.run_query(REF, "create table counter (n int)")
    for fault in ("drop_after_apply", "status"):
        if fault == "status":
            server.faults.status(503, endpoint=RUN_QUERY)
        else:
            server.faults.drop_after_apply(endpoint=RUN_QUERY)
        before = server.count(RUN_QUERY)
        with pytest.raises(AmbiguousOutcome, match="may or may not have been applied"):
            client.run_query(REF, "insert into counter values (1)", idempotent=False)
        assert server.count(RUN_QUERY) == before + 1
    # The dropped request had been applied, the 503 one had not: one row, never two.
    assert client.run_query(REF, "select count(*)::int as n from counter").tuples() == [(1,)]


def test_unreachable_api(make_client: Callable[..., ManagementApiClient]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = ManagementApiClient(TEST_TOKEN, api_url=f"http://127.0.0.1:{port}", retry=FAST, sleep=SleepRecorder())
    with pytest.raises(ApiUnreachable, match=rf"cannot reach the Management API at http://127.0.0.1:{port} after 4 "
                                             "attempts"):
        client.list_projects()
    client.close()


def test_the_token_never_shows(make_client: Callable[..., ManagementApiClient]) -> None:
    client = make_client()
    assert TEST_TOKEN not in repr(client)
    with pytest.raises(QueryFailed) as caught:
        client.run_query(REF, f"select '{TEST_TOKEN}'::int")
    assert TEST_TOKEN not in str(caught.value)


def test_pacing_stays_inside_the_servers_rate_limit(db_url: str) -> None:
    with ManagementApiServer([Project(ref=REF, name="paced", db_url=db_url)], rate_limit=3,
                             rate_window=1.0) as server:
        client = ManagementApiClient(TEST_TOKEN, api_url=server.url, retry=FAST)
        for _ in range(7):
            client.get_project(REF)
        client.close()
        assert [r.status for r in server.requests] == [200] * 7   # slowed down before the server said no
        assert server.violations == []


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_pacer_published_budget_and_headers() -> None:
    clock = FakeClock()
    pacer = RateLimitPacer(clock=clock, wall_clock=lambda: 1_700_000_000.0, budgets={"GET /x": (3, 60.0)})
    for _ in range(3):
        assert pacer.delay_before("GET /x") == 0
        pacer.record_request("GET /x")
        clock.now += 1
    assert pacer.delay_before("GET /x") == pytest.approx(57.0)  # the 4th waits for the first to leave the window
    pacer.observe("GET /y", {"X-RateLimit-Limit": "120", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "20"})
    assert pacer.delay_before("GET /y") == pytest.approx(20.0)
    pacer.observe("GET /y", {"X-RateLimit-Limit": "120", "X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "20"})
    assert pacer.delay_before("GET /y") == pytest.approx(5.0)   # 3 left: spread over the 20 s until the reset
    pacer.observe("GET /z", {"X-RateLimit-Limit": "120", "X-RateLimit-Remaining": "0",
                             "X-RateLimit-Reset": str(1_700_000_030)})  # an epoch timestamp
    assert pacer.delay_before("GET /z") == pytest.approx(30.0)
    pacer.observe("GET /w", {"X-RateLimit-Limit": "120", "X-RateLimit-Remaining": "100", "X-RateLimit-Reset": "20"})
    assert pacer.delay_before("GET /w") == 0
