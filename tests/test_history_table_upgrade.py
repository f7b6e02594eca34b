"""A history table made by an older Supabase CLI (before 2023 only ``version``; then ``statements``; since mid-2023
``name`` too): reading commands read what exists, writing commands add the missing columns exactly as the CLI does.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from supadeploy import uptodate
from supadeploy.management_api.client import ManagementApiClient, RetryPolicy
from supadeploy.targets.management_api import ManagementApiTarget
from supadeploy.targets.postgres import PostgresTarget
from tests.support.cli import invoke, write_migration
from tests.support.databases import cli_url
from tests.support.inspect import history_rows, tables
from tests.support.management_api_server import TEST_TOKEN, ManagementApiServer, Project, make_ref

OLD_SHAPES = {
    "version-only": "(version text NOT NULL PRIMARY KEY)",  # CLI 2022 (`supabase db push` before June 2023)
    "issue-12": "(version text PRIMARY KEY)",  # as issue 12 reports it
    "with-statements": "(version text NOT NULL PRIMARY KEY, statements text[])",  # June 2023
}
COLUMNS = """
SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atthasdef, a.attcollation
FROM pg_attribute a WHERE a.attrelid = 'supabase_migrations.schema_migrations'::regclass AND a.attnum > 0
  AND NOT a.attisdropped ORDER BY a.attnum"""
CONSTRAINTS = """
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = 'supabase_migrations.schema_migrations'::regclass ORDER BY conname"""
REF = make_ref("oldhistory")


def catalog(url: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The history table as `\\d` shows it: columns in order with type, nullability, default; its constraints."""
    with psycopg.connect(url) as connection:
        return connection.execute(COLUMNS).fetchall(), connection.execute(CONSTRAINTS).fetchall()


def column_names(url: str) -> list[str]:
    return [row[1] for row in catalog(url)[0]]


def make_old_table(url: str, shape: str, versions: tuple[str, ...] = ("001",)) -> None:
    """An older CLI's history table, with the rows it wrote (version only), and what those migrations created."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE SCHEMA supabase_migrations")
        connection.execute(f"CREATE TABLE supabase_migrations.schema_migrations {OLD_SHAPES[shape]}")
        for version in versions:
            connection.execute("INSERT INTO supabase_migrations.schema_migrations (version) VALUES (%s)", (version,))
        connection.execute("CREATE TABLE public.a (id int)")


def upgraded_by_the_cli(cli: str, url: str, shape: str, tmp_path: Path) -> tuple[list[Any], list[Any]]:
    """The same old table after the real CLI 2.117.0 ran its own table set-up on it (`migration repair` does)."""
    make_old_table(url, shape)
    project = tmp_path / "cli-project"
    (project / "supabase" / "migrations").mkdir(parents=True)
    (project / "supabase" / "migrations" / "20240101000000_x.sql").write_text("select 1;\n", encoding="utf-8")
    completed = subprocess.run([cli, "migration", "repair", "--db-url", cli_url(url), "--status", "applied",
                                "20240101000000"], cwd=project, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return catalog(url)


def write_project(project: Path) -> None:
    write_migration(project, "001_a.sql", "create table public.a (id int);\n")
    write_migration(project, "002_b.sql", "create table public.b (id int);\ninsert into public.b values (1);\n")


def listing(project: Path, url: str) -> list[tuple[str, str]]:
    outcome = invoke("migration", "list", "--workdir", str(project), "--db-url", url, "--json")
    assert outcome.exit_code == 0, outcome.output
    return [(entry["version"], entry["status"]) for entry in outcome.json()["migrations"]]


@pytest.mark.parametrize("shape", list(OLD_SHAPES))
def test_push_adds_the_missing_columns_as_the_cli_does(shape: str, project_dir: Path, make_db: Callable[[], str],
                                                       supabase_cli: str, tmp_path: Path) -> None:
    expected = upgraded_by_the_cli(supabase_cli, make_db(), shape, tmp_path)
    assert [row[1] for row in expected[0]] == ["version", "statements", "name"]
    url = make_db()
    make_old_table(url, shape)
    old_catalog = catalog(url)
    write_project(project_dir)

    # Reading commands read what exists (no statements: no digest, so "applied", not "drifted") and change nothing.
    assert listing(project_dir, url) == [("001", "applied"), ("002", "pending")]
    dry_run = invoke("push", "--workdir", str(project_dir), "--db-url", url, "--dry-run")
    assert dry_run.exit_code == 0, dry_run.output
    assert "002_b.sql" in dry_run.output
    assert catalog(url) == old_catalog

    pushed = invoke("push", "--workdir", str(project_dir), "--db-url", url)
    assert pushed.exit_code == 0, pushed.output
    assert "Traceback" not in pushed.output
    assert catalog(url) == expected
    assert history_rows(url) == [
        ("001", None, None),
        ("002", "b", ["create table public.b (id int)", "insert into public.b values (1)"]),
    ]
    assert tables(url) == ["a", "b"]
    assert listing(project_dir, url) == [("001", "applied"), ("002", "applied")]


def test_a_push_with_nothing_to_apply_still_upgrades_the_table(project_dir: Path, db_url: str) -> None:
    make_old_table(db_url, "version-only", versions=("001", "002"))
    with psycopg.connect(db_url, autocommit=True) as connection:
        connection.execute("CREATE TABLE public.b (id int)")
    write_project(project_dir)
    # The libpq quick check cannot answer for such a table: the full push decides, and upgrades it.
    assert uptodate.read_history(db_url, application_name="test") is None
    pushed = invoke("push", "--workdir", str(project_dir), "--db-url", db_url)
    assert pushed.exit_code == 0, pushed.output
    assert column_names(db_url) == ["version", "statements", "name"]
    assert history_rows(db_url) == [("001", None, None), ("002", None, None)]
    again = invoke("push", "--workdir", str(project_dir), "--db-url", db_url)
    assert again.exit_code == 0, again.output
    assert uptodate.read_history(db_url, application_name="test") is not None


def test_a_lock_on_the_old_table_is_reported_not_waited_for(project_dir: Path, db_url: str) -> None:
    make_old_table(db_url, "version-only")
    write_project(project_dir)
    with psycopg.connect(db_url) as reader:  # a session in the middle of reading the history table
        reader.execute("SELECT count(*) FROM supabase_migrations.schema_migrations")
        pushed = invoke("push", "--workdir", str(project_dir), "--db-url", db_url)
    assert pushed.exit_code == 1
    assert ("could not add statements, name to supabase_migrations.schema_migrations on "
            "postgresql://postgres:****@127.0.0.1:5432/") in pushed.stderr
    assert "another session held a lock on it for 4s" in pushed.stderr
    assert "Traceback" not in pushed.output
    assert column_names(db_url) == ["version"]
    assert tables(db_url) == ["a"]


@pytest.fixture
def api_server(db_url: str) -> Iterator[ManagementApiServer]:
    with ManagementApiServer([Project(ref=REF, name="old-history", db_url=db_url)]) as running:
        yield running
        assert running.violations == []


def test_through_the_management_api(api_server: ManagementApiServer, project_dir: Path, db_url: str,
                                    make_db: Callable[[], str], supabase_cli: str, tmp_path: Path) -> None:
    expected = upgraded_by_the_cli(supabase_cli, make_db(), "version-only", tmp_path)
    make_old_table(db_url, "version-only")
    write_project(project_dir)
    client = ManagementApiClient(TEST_TOKEN, api_url=api_server.url, retry=RetryPolicy(attempts=1))
    target = ManagementApiTarget(client, REF)
    try:  # reading: what exists, no change
        assert [(row.version, row.name, row.statements) for row in target.read_history()] == [("001", None, None)]
        assert [(row.version, row.digest) for row in target.read_history_summary()] == [("001", None)]
    finally:
        target.close()
    assert column_names(db_url) == ["version"]

    (project_dir / "supadeploy.toml").write_text(f'[environments.staging]\nproject_ref = "{REF}"\n',
                                                 encoding="utf-8")
    environment = {"SUPABASE_ACCESS_TOKEN": TEST_TOKEN, "SUPADEPLOY_API_URL": api_server.url}
    pushed = invoke("push", "--workdir", str(project_dir), "--env", "staging", "--engine", "api", env=environment)
    assert pushed.exit_code == 0, pushed.output
    assert catalog(db_url) == expected
    assert history_rows(db_url) == [
        ("001", None, None),
        ("002", "b", ["create table public.b (id int)", "insert into public.b values (1)"]),
    ]


def test_an_up_to_date_table_is_checked_with_one_read_and_no_lock(api_server: ManagementApiServer,
                                                                  db_url: str) -> None:
    """With every column there, no DDL runs: a session reading the history table does not hold up a push."""
    native = PostgresTarget(db_url)
    client = ManagementApiClient(TEST_TOKEN, api_url=api_server.url, retry=RetryPolicy(attempts=1))
    api = ManagementApiTarget(client, REF)
    try:
        native.ensure_history_table()
        api.ensure_history_table()  # adds the API target's progress sequence, once
        with psycopg.connect(db_url) as reader:  # holds ACCESS SHARE until the end of its transaction
            reader.execute("SELECT count(*) FROM supabase_migrations.schema_migrations")
            native.ensure_history_table()  # an ALTER TABLE would wait 4 s here, then fail
            sent = client.requests_sent
            api.ensure_history_table()
            assert client.requests_sent == sent + 1
    finally:
        native.close()
        api.close()
    assert column_names(db_url) == ["version", "statements", "name"]
