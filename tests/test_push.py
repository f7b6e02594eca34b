"""supadeploy push on a real, Supabase-shaped Postgres: state after the push, history rows, errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from supadeploy.migrations.splitter import split_statements
from tests.conftest import REPO_ROOT
from tests.support.cli import invoke, write_migration
from tests.support.inspect import history_rows, scalar, tables

EXAMPLE_MIGRATIONS = REPO_ROOT / "supabase" / "migrations"


def push(project: Path, url: str, *extra: str):  # type: ignore[no-untyped-def]
    return invoke("push", "--workdir", str(project), "--db-url", url, *extra)


@pytest.fixture
def example_project(project_dir: Path) -> Path:
    for source in sorted(EXAMPLE_MIGRATIONS.glob("*.sql")):
        shutil.copy(source, project_dir / "supabase" / "migrations" / source.name)
    return project_dir


def test_example_project_pushes_and_history_matches_the_files(example_project: Path, db_url: str) -> None:
    outcome = push(example_project, db_url)
    assert outcome.exit_code == 0, outcome.output
    assert "Applied 5 migration(s)" in outcome.stdout
    assert {"users", "trades", "portfolio_snapshots", "positions", "rolled_options_jobs"} <= set(tables(db_url))
    expected = []
    for path in sorted((example_project / "supabase" / "migrations").glob("*.sql")):
        version, name = path.stem.split("_", 1)
        expected.append((version, name, [s.text for s in split_statements(path.read_bytes().decode("utf-8"))]))
    assert history_rows(db_url) == expected
    assert scalar(db_url, "select count(*) from information_schema.columns "
                          "where table_name = 'users' and column_name = 'robinhood_user_id'") == 1


def test_second_push_has_nothing_to_do(example_project: Path, db_url: str) -> None:
    assert push(example_project, db_url).exit_code == 0
    again = push(example_project, db_url, "--json")
    assert again.exit_code == 0, again.output
    document = again.json()
    assert document["ok"] is True
    assert document["plan"]["pending"] == []
    assert document["result"]["applied"] == []
    assert len(document["plan"]["applied"]) == 5


def test_dry_run_applies_nothing_and_shows_the_plan(example_project: Path, db_url: str) -> None:
    outcome = push(example_project, db_url, "--dry-run", "--json")
    assert outcome.exit_code == 0, outcome.output
    document = outcome.json()
    assert [m["version"] for m in document["plan"]["pending"]] == ["001", "002", "003", "004", "005"]
    assert document["dry_run"] is True
    assert history_rows(db_url) == []
    assert tables(db_url) == []


def test_json_output_is_one_document_with_durations(example_project: Path, db_url: str) -> None:
    outcome = push(example_project, db_url, "--json")
    document = outcome.json()  # the whole of stdout parses as one JSON document
    applied = document["result"]["applied"]
    assert [a["version"] for a in applied] == ["001", "002", "003", "004", "005"]
    assert all(a["duration_ms"] >= 0 for a in applied)
    assert document["result"]["failed"] is None


SYNTAX_ERROR_FILE = """\
-- Migration: 002_broken
create table public.good_one (id int);

create table public.broken (
    id int,
    name text nul
);
"""


def test_sql_error_reports_file_line_column_and_leaves_nothing(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_first.sql", "create table public.first (id int);\n")
    broken = write_migration(project_dir, "002_broken.sql", SYNTAX_ERROR_FILE)
    write_migration(project_dir, "003_third.sql", "create table public.third (id int);\n")
    outcome = push(project_dir, db_url)
    assert outcome.exit_code == 1
    assert f"{broken}:6:15: syntax error at or near \"nul\" [SQLSTATE 42601]" in outcome.output
    assert "nothing of 002_broken was applied" in outcome.output
    assert [row[0] for row in history_rows(db_url)] == ["001"]
    assert tables(db_url) == ["first"]  # good_one from the failed migration is not there either

    broken.write_text(SYNTAX_ERROR_FILE.replace("text nul", "text null"))
    rerun = push(project_dir, db_url, "--json")
    assert rerun.exit_code == 0, rerun.output
    assert [a["version"] for a in rerun.json()["result"]["applied"]] == ["002", "003"]
    assert tables(db_url) == ["broken", "first", "good_one", "third"]


def test_error_inside_do_block_points_at_the_failing_line(project_dir: Path, db_url: str) -> None:
    path = write_migration(project_dir, "001_do.sql", (
        "do $$\n"
        "begin\n"
        "  perform 1;\n"
        "  raise exception 'boom: %', 42 using hint = 'check the data';\n"
        "end\n"
        "$$;\n"
    ))
    outcome = push(project_dir, db_url, "--json")
    assert outcome.exit_code == 1
    failed = outcome.json()["result"]["failed"]
    assert (failed["file"], failed["line"], failed["sqlstate"]) == (str(path), 4, "P0001")
    assert failed["message"] == "boom: 42"
    assert failed["hint"] == "check the data"


def test_runtime_error_reports_detail(project_dir: Path, db_url: str) -> None:
    path = write_migration(project_dir, "001_dup.sql", (
        "create table public.t (id int primary key);\n"
        "insert into public.t values (1);\n"
        "insert into public.t values (1);\n"
    ))
    outcome = push(project_dir, db_url)
    assert outcome.exit_code == 1
    assert f"{path}:3:1: duplicate key value violates unique constraint \"t_pkey\" [SQLSTATE 23505]" in outcome.output
    assert "detail: Key (id)=(1) already exists." in outcome.output
    assert tables(db_url) == []


def test_remote_version_missing_locally_stops_the_push(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    write_migration(project_dir, "002_b.sql", "create table public.b (id int);\n")
    assert push(project_dir, db_url).exit_code == 0
    (project_dir / "supabase" / "migrations" / "002_b.sql").unlink()
    write_migration(project_dir, "003_c.sql", "create table public.c (id int);\n")
    outcome = push(project_dir, db_url)
    assert outcome.exit_code == 1
    assert "not in your migrations folder: 002_b" in outcome.output
    assert "`supadeploy repair 002 --status reverted`" in outcome.output  # issue 15: supadeploy's own command
    assert "c" not in tables(db_url)


def test_out_of_order_needs_include_all(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "20240101000000_a.sql", "create table public.a (id int);\n")
    write_migration(project_dir, "20240301000000_c.sql", "create table public.c (id int);\n")
    assert push(project_dir, db_url).exit_code == 0
    write_migration(project_dir, "20240201000000_b.sql", "create table public.b (id int);\n")
    refused = push(project_dir, db_url)
    assert refused.exit_code == 1
    assert "older than the newest applied one (20240301000000): 20240201000000_b.sql" in refused.output
    assert "--include-all" in refused.output
    assert "b" not in tables(db_url)
    accepted = push(project_dir, db_url, "--include-all")
    assert accepted.exit_code == 0, accepted.output
    assert "b" in tables(db_url)


def test_edited_applied_migration_is_drift(project_dir: Path, db_url: str) -> None:
    path = write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    assert push(project_dir, db_url).exit_code == 0
    path.write_text("create table public.a (id bigint);\n")
    write_migration(project_dir, "002_b.sql", "create table public.b (id int);\n")
    refused = push(project_dir, db_url)
    assert refused.exit_code == 1
    assert f"edited after they ran (local statements differ from the history): {path}" in refused.output
    assert "b" not in tables(db_url)
    assert push(project_dir, db_url, "--allow-drift").exit_code == 0
    assert "b" in tables(db_url)


def test_session_state_is_reset_between_migrations(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_state.sql", (
        "create schema if not exists elsewhere;\n"
        "set search_path = elsewhere;\n"
        "set role anon;\n"
    ))
    write_migration(project_dir, "002_plain.sql", "create table unqualified (id int);\n")
    outcome = push(project_dir, db_url)
    assert outcome.exit_code == 0, outcome.output
    assert tables(db_url) == ["unqualified"]
    assert scalar(db_url, "select tableowner from pg_tables where tablename = 'unqualified'") == "postgres"


def test_no_transaction_directive_allows_create_index_concurrently(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_table.sql", "create table public.big (id int, v text);\n")
    write_migration(project_dir, "002_index.sql", (
        "-- supadeploy:no-transaction\n"
        "create index concurrently if not exists big_v_idx on public.big (v);\n"
    ))
    outcome = push(project_dir, db_url)
    assert outcome.exit_code == 0, outcome.output
    assert scalar(db_url, "select count(*) from pg_indexes where indexname = 'big_v_idx'") == 1
    assert [row[0] for row in history_rows(db_url)] == ["001", "002"]


def test_lock_timeout_from_configuration_fails_fast_and_leaves_nothing(project_dir: Path, db_url: str) -> None:
    (project_dir / "supadeploy.toml").write_text('[push]\nlock_timeout = "300ms"\n')
    write_migration(project_dir, "001_table.sql", "create table public.busy (id int);\n")
    assert push(project_dir, db_url).exit_code == 0
    path = write_migration(project_dir, "002_alter.sql", "alter table public.busy add column v text;\n")
    with psycopg.connect(db_url) as blocker:
        blocker.execute("lock table public.busy in access share mode")
        outcome = push(project_dir, db_url)
    assert outcome.exit_code == 1
    assert f"{path}:1:1: canceling statement due to lock timeout [SQLSTATE 55P03]" in outcome.output
    assert [row[0] for row in history_rows(db_url)] == ["001"]
    assert scalar(db_url, "select count(*) from information_schema.columns where table_name = 'busy'") == 1


def test_password_never_printed(project_dir: Path, db_url: str, pg_admin_url: str) -> None:
    secret = "S3cret-Pa55word-xyz"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute("drop role if exists supadeploy_secret_user")
        conn.execute(f"create role supadeploy_secret_user login superuser password '{secret}'")
    url = db_url.replace("postgres:postgres@", f"supadeploy_secret_user:{secret}@")
    write_migration(project_dir, "001_bad.sql", "select * from no_such_table;\n")
    for extra in ((), ("--json",), ("--dry-run",)):
        outcome = push(project_dir, url, *extra)
        assert secret not in outcome.output
        assert "supadeploy_secret_user:****@" in outcome.output
    unreachable = push(project_dir, url.replace(":5432/", ":1/"))
    assert unreachable.exit_code == 1
    assert "cannot connect" in unreachable.output
    assert secret not in unreachable.output


def test_deploy_lock_wait_times_out_naming_the_holder(project_dir: Path, db_url: str) -> None:
    from supadeploy.targets.postgres import DEPLOY_LOCK_ID, DEPLOY_LOCK_NAMESPACE

    (project_dir / "supadeploy.toml").write_text('[push]\ndeploy_lock_wait = "500ms"\n')
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    with psycopg.connect(db_url, autocommit=True, application_name="release-bot deploy") as holder:
        holder.execute("select pg_advisory_lock(%s, %s)", (DEPLOY_LOCK_NAMESPACE, DEPLOY_LOCK_ID))
        outcome = push(project_dir, db_url)
    assert outcome.exit_code == 1
    assert "another deploy holds the deploy lock" in outcome.stderr
    assert "'release-bot deploy' (pid " in outcome.stderr
    assert "waited 0.5s" in outcome.stderr
    assert history_rows(db_url) == []
    assert push(project_dir, db_url).exit_code == 0  # the lock went with the holder's session


def test_version_applied_concurrently_without_the_lock_is_never_applied_twice(project_dir: Path, db_url: str) -> None:
    """Even a writer that ignores the deploy lock (e.g. `supabase db push`) cannot cause a double apply."""
    import threading

    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    write_migration(project_dir, "002_b.sql", "create table public.b (id int);\n")
    outcomes = []
    with psycopg.connect(db_url) as other_tool:
        other_tool.execute("create schema if not exists supabase_migrations")
        other_tool.execute("create table if not exists supabase_migrations.schema_migrations "
                           "(version text not null primary key, statements text[], name text)")
        other_tool.commit()
        other_tool.execute("insert into supabase_migrations.schema_migrations values ('001', '{}', 'a')")
        other_tool.execute("create table public.a (id int)")
        pusher = threading.Thread(target=lambda: outcomes.append(push(project_dir, db_url, "--json",
                                                                      "--allow-drift")))
        pusher.start()
        pusher.join(timeout=1.0)
        assert pusher.is_alive(), "the push waits for the other writer's uncommitted history row"
        other_tool.commit()
    pusher.join(timeout=60)
    document = outcomes[0].json()
    assert outcomes[0].exit_code == 0, outcomes[0].output
    assert [m["version"] for m in document["result"]["skipped"]] == ["001"]
    assert [m["version"] for m in document["result"]["applied"]] == ["002"]
    assert tables(db_url) == ["a", "b"]
