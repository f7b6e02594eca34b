"""ManagementApiTarget and `supadeploy push --engine api`, against the local API server with real Postgres."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from supadeploy.management_api.client import RUN_QUERY, ManagementApiClient, QueryResult, RetryPolicy
from supadeploy.migrations.files import discover_migrations
from supadeploy.migrations.history import dollar_quote
from supadeploy.pipeline import PushOptions, push
from supadeploy.targets.base import SessionLimits
from supadeploy.targets.management_api import ManagementApiTarget, numbered_placeholders
from supadeploy.targets.postgres import PostgresTarget
from tests.conftest import REPO_ROOT
from tests.support.cli import invoke, write_migration
from tests.support.inspect import history_rows, scalar, tables
from tests.support.management_api_server import TEST_TOKEN, ManagementApiServer, Project, make_ref

REF = make_ref("target")
EXAMPLE = REPO_ROOT / "supabase" / "migrations"
CORPUS = REPO_ROOT / "tests" / "corpus" / "interop"
FAST = RetryPolicy(attempts=4, backoff_seconds=0.001, max_backoff_seconds=0.002)


@pytest.fixture
def server(db_url: str) -> Iterator[ManagementApiServer]:
    with ManagementApiServer([Project(ref=REF, name="target-tests", db_url=db_url)]) as running:
        yield running
        assert running.violations == []


@pytest.fixture
def make_target(server: ManagementApiServer) -> Iterator[Callable[[], ManagementApiTarget]]:
    targets: list[ManagementApiTarget] = []

    def factory() -> ManagementApiTarget:
        client = ManagementApiClient(TEST_TOKEN, api_url=server.url, retry=FAST, sleep=lambda _: None)
        targets.append(ManagementApiTarget(client, REF))
        return targets[-1]

    yield factory
    for target in targets:
        target.close()


def api_env(server: ManagementApiServer) -> dict[str, str]:
    return {"SUPABASE_ACCESS_TOKEN": TEST_TOKEN, "SUPADEPLOY_API_URL": server.url}


def link_file(project: Path, ref: str = REF) -> None:
    (project / "supadeploy.toml").write_text(f'[environments.staging]\nproject_ref = "{ref}"\n', encoding="utf-8")


def copy_all(project: Path) -> list[Path]:
    files = sorted(EXAMPLE.glob("*.sql")) + sorted(CORPUS.glob("*.sql"))
    for source in files:
        shutil.copy(source, project / "supabase" / "migrations" / source.name)
    return files


def test_push_engine_api_writes_the_same_history_as_native(server: ManagementApiServer, project_dir: Path,
                                                           db_url: str, make_db: Callable[[], str]) -> None:
    files = copy_all(project_dir)
    link_file(project_dir)
    outcome = invoke("push", "--workdir", str(project_dir), "--env", "staging", "--engine", "api", "--json",
                     env=api_env(server))
    assert outcome.exit_code == 0, outcome.output
    document = outcome.json()
    assert [a["version"] for a in document["result"]["applied"]] == [f.name.split("_", 1)[0] for f in files]
    assert f"project {REF} via the Management API" in document["database"]

    native_db = make_db()
    assert invoke("push", "--workdir", str(project_dir), "--db-url", native_db).exit_code == 0
    assert history_rows(db_url) == history_rows(native_db)
    assert tables(db_url) == tables(native_db)
    assert TEST_TOKEN not in outcome.output

    again = invoke("push", "--workdir", str(project_dir), "--env", "staging", "--engine", "api", env=api_env(server))
    assert again.exit_code == 0 and "is up to date" in again.stdout


def test_failures_point_at_the_same_place_as_native(server: ManagementApiServer, project_dir: Path, db_url: str,
                                                    make_db: Callable[[], str]) -> None:
    link_file(project_dir)
    write_migration(project_dir, "001_ok.sql", "create table kept (id int);\n")
    write_migration(project_dir, "002_positioned.sql", "create table a (id int);\n\nselect *\n  from nowhere;\n")
    env = api_env(server)
    api = invoke("push", "--workdir", str(project_dir), "--env", "staging", "--engine", "api", "--json", env=env)
    native_db = make_db()
    native = invoke("push", "--workdir", str(project_dir), "--db-url", native_db, "--json")
    assert api.exit_code == native.exit_code == 1
    assert api.json()["result"]["failed"] == native.json()["result"]["failed"]
    assert api.json()["result"]["failed"]["line"] == 4
    # A runtime error has no position: the target finds the statement with rolled-back probes.
    write_migration(project_dir, "002_positioned.sql", "create table a (id int);\n")
    write_migration(project_dir, "003_runtime.sql",
                    "create table b (id int);\ninsert into kept values (1);\n"
                    "do $$ begin raise exception 'boom'; end $$;\ncreate table c (id int);\n")
    api = invoke("push", "--workdir", str(project_dir), "--env", "staging", "--engine", "api", "--json", env=env)
    native = invoke("push", "--workdir", str(project_dir), "--db-url", native_db, "--json")
    assert api.json()["result"]["failed"] == native.json()["result"]["failed"]
    assert (api.json()["result"]["failed"]["line"], api.json()["result"]["failed"]["message"]) == (3, "boom")
    assert history_rows(db_url) == history_rows(native_db)
    assert "b" not in tables(db_url) and scalar(db_url, "select count(*) from kept") == 0


def test_dropped_connection_after_apply_never_applies_twice(server: ManagementApiServer, project_dir: Path,
                                                            db_url: str, make_target: Callable[[], ManagementApiTarget]
                                                            ) -> None:
    write_migration(project_dir, "001_log.sql", "create table apply_log (version text);\n")
    write_migration(project_dir, "002_a.sql", "insert into apply_log values ('002');\n")
    write_migration(project_dir, "003_b.sql", "insert into apply_log values ('003');\n")
    write_migration(project_dir, "004_c.sql", "insert into apply_log values ('004');\n")
    discovery = discover_migrations(project_dir / "supabase" / "migrations")
    target = make_target()
    target.ensure_history_table()
    server.faults.drop_after_apply(endpoint=RUN_QUERY, times=1)    # answer lost (ensure_history's read: idempotent)
    apply_requests = []
    original = target.client.run_query

    def counting(ref: str, sql: str, parameters: Sequence[Any] = (), *, read_only: bool = False,
                 idempotent: bool = True) -> QueryResult:
        if "pg_try_advisory_xact_lock" in sql:  # the applying requests (an up-to-date history table takes none)
            apply_requests.append(sql)
            if len(apply_requests) in (2, 3):
                server.faults.drop_after_apply(endpoint=RUN_QUERY)      # 002, 003 applied, answers lost
            if len(apply_requests) == 4:
                server.faults.drop_before_apply(endpoint=RUN_QUERY)     # 004 lost before it ran
        return original(ref, sql, parameters, read_only=read_only, idempotent=idempotent)

    target.client.run_query = counting  # type: ignore[method-assign]
    result = push(target, discovery, PushOptions())
    assert result.ok and [a.version for a in result.applied] == ["001", "002", "003", "004"]
    assert scalar(db_url, "select string_agg(version, ',' order by version) from apply_log") == "002,003,004"
    assert [row[0] for row in history_rows(db_url)] == ["001", "002", "003", "004"]
    assert ("drop_before_apply", RUN_QUERY) in server.faults.fired


def test_503_on_apply_rereads_the_history_before_resending(server: ManagementApiServer, project_dir: Path,
                                                           db_url: str, make_target: Callable[[], ManagementApiTarget]
                                                           ) -> None:
    write_migration(project_dir, "001_log.sql", "create table apply_log (version text);\n"
                                                "insert into apply_log values ('001');\n")
    discovery = discover_migrations(project_dir / "supabase" / "migrations")
    target = make_target()
    target.ensure_history_table()
    server.faults.status(503, endpoint=RUN_QUERY)
    assert target.apply_migration(discovery.migrations[0], SessionLimits(), durable=True) is True
    assert scalar(db_url, "select count(*) from apply_log") == 1
    sent = [r.body["query"] for r in server.requests if r.endpoint == RUN_QUERY]
    assert "schema_migrations ORDER BY version" in sent[-2]     # looked before resending
    assert "pg_try_advisory_xact_lock" in sent[-1]
    assert target.apply_migration(discovery.migrations[0], SessionLimits(), durable=True) is False  # the guard


def test_concurrent_api_pushes_apply_each_migration_once(server: ManagementApiServer, project_dir: Path,
                                                         db_url: str, make_target: Callable[[], ManagementApiTarget]
                                                         ) -> None:
    write_migration(project_dir, "001_log.sql", "create table apply_log (version text);\n")
    for number in range(2, 9):
        write_migration(project_dir, f"{number:03d}_m.sql",
                        f"insert into apply_log values ('{number:03d}');\nselect pg_sleep(0.02);\n")
    discovery = discover_migrations(project_dir / "supabase" / "migrations")
    targets = [make_target() for _ in range(4)]
    results = []

    def run(target: ManagementApiTarget) -> None:
        results.append(push(target, discovery, PushOptions()))

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and all(result.ok for result in results)
    applied = sorted(a.version for result in results for a in result.applied)
    assert applied == [f"{n:03d}" for n in range(1, 9)]           # each applied by exactly one push
    assert scalar(db_url, "select count(*) from apply_log") == 7
    assert scalar(db_url, "select count(distinct version) from apply_log") == 7


def test_an_api_push_waits_for_a_native_push_holding_the_deploy_lock(server: ManagementApiServer, project_dir: Path,
                                                                    db_url: str,
                                                                    make_target: Callable[[], ManagementApiTarget]
                                                                    ) -> None:
    write_migration(project_dir, "001_a.sql", "create table a (id int);\n")
    discovery = discover_migrations(project_dir / "supabase" / "migrations")
    native = PostgresTarget(db_url)
    native.acquire_deploy_lock(1)
    try:
        with pytest.raises(Exception, match="another deploy held the deploy lock"):
            push(make_target(), discovery, PushOptions(deploy_lock_wait_seconds=0.2))
    finally:
        native.release_deploy_lock()
        native.close()
    assert "a" not in tables(db_url)
    assert push(make_target(), discovery, PushOptions()).ok


def test_query_returns_tuples_like_postgres(make_target: Callable[[], ManagementApiTarget], db_url: str) -> None:
    target = make_target()
    native = PostgresTarget(db_url)
    sql = ("select n.nspname, %s::int as number, true as flag, array['a', 'b'] as letters, 1 as same, 2 as same "
           "from pg_namespace n where n.nspname = any(%s) order by 1")
    params = (5, ["auth", "public"])
    assert target.query(sql, params) == native.query(sql, params)
    assert target.query("-- a comment\nwith x as (select 1 as one) select * from x") == [(1,)]
    assert target.query("select %s as pct, 'a%%' as literal", ("50%",)) == [("50%", "a%")]
    assert target.query("create temp table t (id int)") == []
    script = "create table scratch (id int); insert into scratch values (1), (2); select count(*)::int from scratch"
    assert target.query_rolled_back(script) == native.query_rolled_back(script) == [(2,)]
    assert "scratch" not in tables(db_url)
    native.close()


def test_no_transaction_migrations_run_statement_by_statement(server: ManagementApiServer, project_dir: Path,
                                                              db_url: str, make_db: Callable[[], str]) -> None:
    link_file(project_dir)
    write_migration(project_dir, "001_table.sql", "create table items (id int, name text);\n")
    write_migration(project_dir, "002_index.sql", "-- supadeploy:no-transaction\n"
                                                  "create index concurrently items_name on items (name);\n")
    outcome = invoke("push", "--workdir", str(project_dir), "--env", "staging", "--engine", "api",
                     env=api_env(server))
    assert outcome.exit_code == 0, outcome.output
    native_db = make_db()
    assert invoke("push", "--workdir", str(project_dir), "--db-url", native_db).exit_code == 0
    assert history_rows(db_url) == history_rows(native_db)
    assert scalar(db_url, "select count(*) from pg_indexes where indexname = 'items_name'") == 1


def test_engine_api_needs_a_project_ref_and_a_token(server: ManagementApiServer, project_dir: Path) -> None:
    write_migration(project_dir, "001_a.sql", "select 1;\n")
    outcome = invoke("push", "--workdir", str(project_dir), "--engine", "api", env=api_env(server))
    assert outcome.exit_code == 1
    assert "--engine api needs the project ref of environment 'local'" in outcome.stderr
    link_file(project_dir)
    outcome = invoke("push", "--workdir", str(project_dir), "--env", "staging", "--engine", "api",
                     env={"SUPABASE_ACCESS_TOKEN": "", "SUPADEPLOY_API_URL": server.url})
    assert outcome.exit_code == 1 and "$SUPABASE_ACCESS_TOKEN is not set" in outcome.stderr
    outcome = invoke("push", "--workdir", str(project_dir), "--env", "staging", "--engine", "api",
                     env={"SUPABASE_ACCESS_TOKEN": TEST_TOKEN, "SUPADEPLOY_API_URL": "http://example.com"})
    assert outcome.exit_code == 1 and "is not HTTPS: the access token would travel unencrypted" in outcome.stderr


def test_sql_building_blocks() -> None:
    assert dollar_quote("plain") == "$sd$plain$sd$"
    assert dollar_quote("has $sd$ inside") == "$sd1$has $sd$ inside$sd1$"
    assert dollar_quote("ends with $sd") == "$sd1$ends with $sd$sd1$"
    assert numbered_placeholders("select %s, '%%', %s") == "select $1, '%', $2"
    with pytest.raises(ValueError, match="unsupported placeholder"):
        numbered_placeholders("select %(name)s")
