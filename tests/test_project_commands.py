"""supadeploy init, migration new, migration list, and the runbook header."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from supadeploy.migrations.files import discover_migrations
from supadeploy.migrations.header import parse_directives, parse_header
from supadeploy.migrations.newfile import create_migration_file, next_version
from tests.conftest import REPO_ROOT
from tests.support.cli import invoke, write_migration


def test_init_creates_config_and_folder_and_never_overwrites(tmp_path: Path) -> None:
    first = invoke("init", "--workdir", str(tmp_path))
    assert first.exit_code == 0, first.output
    config = tmp_path / "supadeploy.toml"
    assert "[environments.production]" in config.read_text()
    assert (tmp_path / "supabase" / "migrations").is_dir()
    config.write_text("# mine\n")
    second = invoke("init", "--workdir", str(tmp_path))
    assert second.exit_code == 0
    assert "exists; left unchanged" in second.stdout
    assert config.read_text() == "# mine\n"


def test_init_config_is_valid_and_names_three_environments(tmp_path: Path) -> None:
    from supadeploy.config import load_project

    invoke("init", "--workdir", str(tmp_path))
    project = load_project(tmp_path)
    assert sorted(project.environments) == ["local", "production", "staging"]
    assert project.environments["production"].protected is True
    assert project.environments["staging"].db_url_env == "STAGING_DB_URL"


def test_migration_new_follows_numbered_style(project_dir: Path) -> None:
    write_migration(project_dir, "001_a.sql", "select 1;\n")
    write_migration(project_dir, "009_b.sql", "select 1;\n")
    outcome = invoke("migration", "new", "add_user_email", "--workdir", str(project_dir))
    assert outcome.exit_code == 0, outcome.output
    created = project_dir / "supabase" / "migrations" / "010_add_user_email.sql"
    assert created.exists()
    header = parse_header(created.read_text())
    assert header.migration == "010_add_user_email"
    assert header.rollback is not None
    assert header.missing_fields() == []


def test_migration_new_uses_a_utc_timestamp_by_default(project_dir: Path) -> None:
    now = dt.datetime(2026, 11, 25, 13, 5, 9, tzinfo=dt.timezone.utc)
    migrations = project_dir / "supabase" / "migrations"
    path = create_migration_file(migrations, "first", author="dana", now=now)
    assert path.name == "20261125130509_first.sql"
    assert next_version(migrations, now) == "20261125130510"  # never collides with the newest


def test_migration_new_refuses_unsafe_names(project_dir: Path) -> None:
    for name in ("../escape", "with space", "semi;colon", ""):
        outcome = invoke("migration", "new", name, "--workdir", str(project_dir))
        assert outcome.exit_code != 0
        assert "is not a safe migration name" in outcome.stderr or outcome.exit_code == 2
    assert list((project_dir / "supabase" / "migrations").iterdir()) == []


def test_migration_list_shows_local_and_remote(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    write_migration(project_dir, "20240101000000_b.sql", "create table public.b (id int);\n")
    assert invoke("push", "--workdir", str(project_dir), "--db-url", db_url).exit_code == 0
    write_migration(project_dir, "20240202000000_c.sql", "create table public.c (id int);\n")
    outcome = invoke("migration", "list", "--workdir", str(project_dir), "--db-url", db_url, "--json")
    assert outcome.exit_code == 0, outcome.output
    statuses = [(m["version"], m["status"]) for m in outcome.json()["migrations"]]
    assert statuses == [("001", "applied"), ("20240101000000", "applied"), ("20240202000000", "pending")]
    table = invoke("migration", "list", "--workdir", str(project_dir), "--db-url", db_url).stdout
    assert "2024-02-02 00:00:00" in table
    assert "pending" in table


def test_example_project_headers_are_parsed() -> None:
    discovery = discover_migrations(REPO_ROOT / "supabase" / "migrations")
    assert [m.version for m in discovery.migrations] == ["001", "002", "003", "004", "005"]
    assert discovery.warnings == []
    for migration in discovery.migrations:
        assert migration.header.missing_fields() == []
        assert migration.header.migration == f"{migration.version}_{migration.name}"
    robinhood = discovery.migrations[3].header
    assert robinhood.rollback == (
        "DROP INDEX IF EXISTS public.users_robinhood_user_id_key;\n"
        "ALTER TABLE public.users DROP COLUMN IF EXISTS robinhood_user_id;"
    )
    assert robinhood.line_of_field["rollback"] == 6


def test_header_fields_and_directives() -> None:
    sql = (
        "-- supadeploy:no-transaction\n"
        "-- Migration: 007_idx\n"
        "-- Purpose: faster lookups\n"
        "--   on email\n"
        "-- Breaking Changes: none\n"
        "create index concurrently if not exists users_email on public.users (email);\n"
        "-- Author: not part of the header\n"
    )
    header = parse_header(sql)
    assert header.migration == "007_idx"
    assert header.purpose == "faster lookups\non email"
    assert header.author is None
    assert header.missing_fields() == ["date", "author", "rollback"]
    assert parse_directives(sql).no_transaction is True
    assert parse_directives("create table t (id int);\n-- supadeploy:no-transaction\n").no_transaction is False


def test_copying_example_project_pushes_with_workdir(tmp_path: Path, db_url: str) -> None:
    shutil.copytree(REPO_ROOT / "supabase", tmp_path / "supabase")
    outcome = invoke("push", "--workdir", str(tmp_path), "--db-url", db_url)
    assert outcome.exit_code == 0, outcome.output
