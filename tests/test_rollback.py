"""supadeploy rollback end to end: down SQL from .down.sql files and from the -- Rollback: header."""

from __future__ import annotations

from pathlib import Path

import pytest

from supadeploy.migrations.files import discover_migrations
from supadeploy.rollback import down_sql_for, rollback_header_sql
from tests.support.cli import invoke, write_migration
from tests.support.databases import cli_url
from tests.support.inspect import history_rows, scalar, tables
from tests.test_interop_cli import supabase

HEADER = ("-- Migration: {name}\n-- Purpose: test\n-- Date: 2024-01-01\n-- Author: a@example.com\n"
          "-- Breaking Changes: none\n")


def migrations_folder(project: Path) -> Path:
    return project / "supabase" / "migrations"


def three_migrations(project: Path) -> None:
    write_migration(project, "001_notes.sql", HEADER.format(name="001_notes") +
                    "-- Rollback:\n--   DROP TABLE IF EXISTS public.notes;\n\n"
                    "CREATE TABLE IF NOT EXISTS public.notes (id bigint PRIMARY KEY);\n")
    write_migration(project, "002_tags.sql", HEADER.format(name="002_tags") +
                    "-- Rollback: DROP TABLE IF EXISTS public.tags;\n--   DROP TABLE IF EXISTS public.tag_kinds;\n\n"
                    "CREATE TABLE IF NOT EXISTS public.tags (id int);\n"
                    "CREATE TABLE IF NOT EXISTS public.tag_kinds (id int);\n")
    write_migration(project, "003_body.sql", "ALTER TABLE public.notes ADD COLUMN IF NOT EXISTS body text;\n")
    write_migration(project, "003_body.down.sql", "ALTER TABLE public.notes DROP COLUMN body;\n")


def push(project: Path, url: str) -> None:
    outcome = invoke("push", "--workdir", str(project), "--db-url", url)
    assert outcome.exit_code == 0, outcome.output


def test_rollback_with_down_file_and_multi_line_header(project_dir: Path, db_url: str) -> None:
    three_migrations(project_dir)
    push(project_dir, db_url)
    assert [row[0] for row in history_rows(db_url)] == ["001", "002", "003"]
    outcome = invoke("rollback", "--to", "001", "--workdir", str(project_dir), "--db-url", db_url)
    assert outcome.exit_code == 0, outcome.output
    assert outcome.stdout.strip() == "rolled back 2 migration(s): 003_body, 002_tags"
    assert [row[0] for row in history_rows(db_url)] == ["001"]
    assert tables(db_url) == ["notes"]
    assert scalar(db_url, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'notes'") == 1
    # The files are pending again: push re-applies them.
    push(project_dir, db_url)
    assert [row[0] for row in history_rows(db_url)] == ["001", "002", "003"]
    everything = invoke("rollback", "--to", "0", "--workdir", str(project_dir), "--db-url", db_url, "--json")
    assert everything.exit_code == 0, everything.output
    document = everything.json()
    assert document["rolled_back"] == ["003", "002", "001"]
    assert [(s["version"], s["source"]) for s in document["steps"]] == [("003", "file"), ("002", "header"),
                                                                        ("001", "header")]
    assert document["steps"][1]["statements"] == ["DROP TABLE IF EXISTS public.tags",
                                                  "DROP TABLE IF EXISTS public.tag_kinds"]
    assert history_rows(db_url) == [] and tables(db_url) == []


def test_missing_down_sql_stops_before_anything_runs(project_dir: Path, db_url: str) -> None:
    three_migrations(project_dir)
    write_migration(project_dir, "004_plain.sql", "CREATE TABLE IF NOT EXISTS public.plain (id int);\n")
    push(project_dir, db_url)
    outcome = invoke("rollback", "--to", "001", "--workdir", str(project_dir), "--db-url", db_url)
    assert outcome.exit_code == 1
    assert outcome.stderr.startswith(f"error: {migrations_folder(project_dir)}/004_plain.sql: 004_plain.sql has no "
                                     "down SQL; nothing was rolled back")
    assert [row[0] for row in history_rows(db_url)] == ["001", "002", "003", "004"]
    assert "plain" in tables(db_url)


def test_a_header_that_is_not_sql_is_no_down_sql(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql",
                    "-- Rollback: none (new table)\nCREATE TABLE IF NOT EXISTS public.a (id int);\n")
    push(project_dir, db_url)
    outcome = invoke("rollback", "--to", "0", "--workdir", str(project_dir), "--db-url", db_url)
    assert outcome.exit_code == 1 and "001_a.sql has no down SQL" in outcome.stderr


def test_dry_run_prints_the_down_sql_and_changes_nothing(project_dir: Path, db_url: str) -> None:
    three_migrations(project_dir)
    push(project_dir, db_url)
    outcome = invoke("rollback", "--to", "002", "--dry-run", "--workdir", str(project_dir), "--db-url", db_url)
    assert outcome.exit_code == 0, outcome.output
    assert "  003_body (down SQL from" in outcome.stdout
    assert "      ALTER TABLE public.notes DROP COLUMN body" in outcome.stdout
    assert [row[0] for row in history_rows(db_url)] == ["001", "002", "003"]


def test_failing_down_sql_leaves_that_migration_applied_with_its_location(project_dir: Path, db_url: str) -> None:
    three_migrations(project_dir)
    push(project_dir, db_url)
    write_migration(project_dir, "003_body.down.sql", "ALTER TABLE public.notes\n  DROP COLUMN bodyy;\n")
    outcome = invoke("rollback", "--to", "001", "--workdir", str(project_dir), "--db-url", db_url)
    assert outcome.exit_code == 1
    assert f"error: {migrations_folder(project_dir)}/003_body.down.sql:1:1: column \"bodyy\" of relation \"notes\" " \
           "does not exist [SQLSTATE 42703]\n  nothing of 003_body's down SQL ran: it is still applied (rolled back " \
           "before it: none); fix the down SQL and rerun" in outcome.stderr
    assert [row[0] for row in history_rows(db_url)] == ["001", "002", "003"]


def test_unknown_version_is_refused(project_dir: Path, db_url: str) -> None:
    three_migrations(project_dir)
    push(project_dir, db_url)
    outcome = invoke("rollback", "--to", "2024", "--workdir", str(project_dir), "--db-url", db_url)
    assert outcome.exit_code == 1
    assert outcome.stderr.splitlines()[0] == "error: version 2024 is not in the migration history"


def test_protected_environment_needs_confirmation_and_takes_a_backup(project_dir: Path, db_url: str) -> None:
    three_migrations(project_dir)
    push(project_dir, db_url)
    (project_dir / "supadeploy.toml").write_text(
        '[environments.production]\ndb_url_env = "PROD_URL"\nprotected = true\n', encoding="utf-8")
    refused = invoke("rollback", "--to", "002", "--env", "production", "--workdir", str(project_dir),
                     env={"PROD_URL": db_url})
    assert refused.exit_code == 1 and "environment 'production' is protected" in refused.stderr
    assert [row[0] for row in history_rows(db_url)] == ["001", "002", "003"]
    done = invoke("rollback", "--to", "002", "--env", "production", "--yes", "--workdir", str(project_dir),
                  env={"PROD_URL": db_url})
    assert done.exit_code == 0, done.output
    backups = list((project_dir / ".supadeploy" / "backups").glob("production-*.dump"))
    assert len(backups) == 1 and backups[0].stat().st_size > 0
    assert f"backup: {backups[0]}" in done.stderr
    assert [row[0] for row in history_rows(db_url)] == ["001", "002"]


def test_header_sql_keeps_line_and_column_of_the_file(project_dir: Path) -> None:
    sql = "-- Migration: x\n-- Rollback:\n--   DROP TABLE a;\n--   DROP TABLE b;\n-- Author: me\n\nSELECT 1;\n"
    assert rollback_header_sql(sql) == "\n" + " " * 12 + "\n     DROP TABLE a;\n     DROP TABLE b;\n\n\n"
    write_migration(project_dir, "001_x.sql", sql)
    down = down_sql_for(discover_migrations(migrations_folder(project_dir)).migrations[0])
    assert down is not None and down.source == "header"
    assert [down.migration.location(s.offset).rsplit("/", 1)[1] for s in down.migration.statements] == [
        "001_x.sql:3:6", "001_x.sql:4:6"]


@pytest.mark.cli
def test_the_supabase_cli_would_apply_a_down_file_as_a_migration(supabase_cli: str, project_dir: Path,
                                                                  db_url: str) -> None:
    """Why discovery skips *.down.sql and lint reports SD504 (docs/safety.md, "Down files and the Supabase CLI")."""
    three_migrations(project_dir)
    cli = supabase(supabase_cli, project_dir, "db", "push", "--dry-run", "--db-url", cli_url(db_url))
    assert cli.returncode == 0, cli.stderr
    output = cli.stdout + cli.stderr
    assert [line.strip(" •") for line in output.splitlines() if line.strip().startswith("•")] == [
        "001_notes.sql", "002_tags.sql", "003_body.down.sql", "003_body.sql"]
    ours = invoke("push", "--dry-run", "--workdir", str(project_dir), "--db-url", db_url, "--json")
    assert [m["version"] for m in ours.json()["plan"]["pending"]] == ["001", "002", "003"]
    (project_dir / "supabase" / "migrations" / "down").mkdir()
    (project_dir / "supabase" / "migrations" / "003_body.down.sql").rename(
        project_dir / "supabase" / "migrations" / "down" / "003_body.down.sql")
    cli = supabase(supabase_cli, project_dir, "db", "push", "--dry-run", "--db-url", cli_url(db_url))
    assert "003_body.down.sql" not in cli.stdout + cli.stderr and "003_body.sql" in cli.stdout + cli.stderr
