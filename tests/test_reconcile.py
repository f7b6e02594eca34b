"""supadeploy reconcile: every mismatch class, including a migration applied through the Management API's
/database/query under a server-side timestamp, and what --apply does about each."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from supadeploy.management_api.client import ManagementApiClient, RetryPolicy
from supadeploy.migrations.splitter import split_statements
from tests.support.cli import invoke, write_migration
from tests.support.databases import cli_url
from tests.support.inspect import history_rows
from tests.support.management_api_server import TEST_TOKEN, ManagementApiServer, Project, make_ref
from tests.test_interop_cli import supabase
from tests.test_repair import listed_versions

NOTES = ("-- Migration: 002_notes\n-- Purpose: notes\n\nCREATE TABLE IF NOT EXISTS public.notes (id int);\n"
         "ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;\n")


def reconcile(project: Path, url: str, *extra: str):  # type: ignore[no-untyped-def]
    return invoke("reconcile", "--workdir", str(project), "--db-url", url, *extra)


def push(project: Path, url: str) -> None:
    outcome = invoke("push", "--workdir", str(project), "--db-url", url)
    assert outcome.exit_code == 0, outcome.output


def insert_row(url: str, version: str, name: str | None, statements: list[str] | None) -> None:
    with psycopg.connect(url) as connection:
        connection.execute("INSERT INTO supabase_migrations.schema_migrations (version, name, statements) "
                           "VALUES (%s, %s, %s)", (version, name, statements))


def statements_of(sql: str) -> list[str]:
    return [s.text for s in split_statements(sql)]


@pytest.mark.cli
def test_migration_applied_through_database_query_under_a_server_timestamp(
        supabase_cli: str, project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_base.sql", "CREATE TABLE IF NOT EXISTS public.base (id int);\n")
    push(project_dir, db_url)
    # What an assistant or the dashboard does: run the file through the Management API and stamp the history
    # with the server's clock, storing the whole text as one statement.
    ref = make_ref("reconcile")
    with ManagementApiServer([Project(ref=ref, name="reconcile", db_url=db_url)]) as server:
        client = ManagementApiClient(TEST_TOKEN, api_url=server.url, retry=RetryPolicy(attempts=1))
        client.run_query(ref, NOTES + "INSERT INTO supabase_migrations.schema_migrations (version, name, statements) "
                         "VALUES (to_char(clock_timestamp() AT TIME ZONE 'utc', 'YYYYMMDDHH24MISS'), 'notes', "
                         f"ARRAY[$sd${NOTES}$sd$]);", idempotent=False)
        assert server.violations == []
    (stamped,) = [row[0] for row in history_rows(db_url) if row[0] != "001"]
    assert len(stamped) == 14
    write_migration(project_dir, "002_notes.sql", NOTES)
    # The Supabase CLI's view of it: a remote version it cannot find.
    listing = supabase(supabase_cli, project_dir, "migration", "list", "--db-url", cli_url(db_url))
    assert listed_versions(listing.stdout) == [("001", "001"), ("002", ""), ("", stamped)]

    found = reconcile(project_dir, db_url, "--json")
    assert found.exit_code == 1
    (mismatch,) = found.json()["mismatches"]
    assert mismatch["kind"] == "renamed" and mismatch["remote_version"] == stamped
    assert mismatch["detail"] == (f"remote version {stamped} (notes) holds the equivalent statements as "
                                  "002_notes.sql: it was applied under another version")
    fixed = reconcile(project_dir, db_url, "--apply")
    assert fixed.exit_code == 0, fixed.output
    assert f"rewrote remote version {stamped} as 002" in fixed.stdout
    assert history_rows(db_url)[1] == ("002", "notes", statements_of(NOTES))
    listing = supabase(supabase_cli, project_dir, "migration", "list", "--db-url", cli_url(db_url))
    assert listed_versions(listing.stdout) == [("001", "001"), ("002", "002")]
    again = invoke("push", "--workdir", str(project_dir), "--db-url", db_url)  # no drift, nothing pending
    assert again.exit_code == 0, again.output
    assert "is up to date (2 migrations applied)" in again.stdout


@pytest.mark.cli
def test_every_mismatch_class_and_apply(supabase_cli: str, project_dir: Path, db_url: str, tmp_path: Path) -> None:
    write_migration(project_dir, "001_ok.sql", "CREATE TABLE IF NOT EXISTS public.ok (id int);\n")
    write_migration(project_dir, "002_edited.sql", "CREATE TABLE IF NOT EXISTS public.e (id int);\n")
    write_migration(project_dir, "003_cosmetic.sql", "SELECT 3;\n")
    push(project_dir, db_url)
    write_migration(project_dir, "002_edited.sql", "CREATE TABLE IF NOT EXISTS public.e (id bigint);\n")
    write_migration(project_dir, "003_cosmetic.sql", "-- explained\nSELECT   3;\n")
    write_migration(project_dir, "004_late.sql", "SELECT 4;\n")
    write_migration(project_dir, "005_renamed.sql", "SELECT 5;\n")
    insert_row(db_url, "20240101000000", "from_dashboard", ["CREATE TABLE IF NOT EXISTS public.d (id int)",
                                                            "-- trailing note"])
    insert_row(db_url, "20240102000000", "renamed_remote", ["SELECT 5"])
    insert_row(db_url, "20240103000000", None, None)

    report = reconcile(project_dir, db_url, "--json")
    assert report.exit_code == 1
    kinds = [(m["kind"], m["remote_version"], Path(m["local_file"]).name if m["local_file"] else None)
             for m in report.json()["mismatches"]]
    assert kinds == [
        ("edited", "002", "002_edited.sql"),
        ("edited", "003", "003_cosmetic.sql"),
        ("out-of-order", None, "004_late.sql"),
        ("remote-only", "20240101000000", None),
        ("renamed", "20240102000000", "005_renamed.sql"),
        ("remote-only", "20240103000000", None),
    ]
    details = {m["remote_version"] or m["local_file"]: m["detail"] for m in report.json()["mismatches"]}
    assert details["003"] == "003_cosmetic.sql was edited after it was applied (only comments or whitespace)"
    assert report.json()["in_sync"] == 1

    applied = reconcile(project_dir, db_url, "--apply", "--strategy", "rename-local")
    assert applied.exit_code == 1  # edited and out-of-order are left for a human
    folder = project_dir / "supabase" / "migrations"
    assert (folder / "20240102000000_renamed.sql").exists() and not (folder / "005_renamed.sql").exists()
    written = folder / "20240101000000_from_dashboard.sql"
    assert "skipped 20240103000000: no statements stored" in applied.stdout
    # Byte for byte what `supabase migration fetch` writes for that row.
    fetch_project = tmp_path / "fetch"
    (fetch_project / "supabase" / "migrations").mkdir(parents=True)
    fetched = supabase(supabase_cli, fetch_project, "migration", "fetch", "--db-url", cli_url(db_url))
    assert fetched.returncode == 0, fetched.stderr
    assert written.read_bytes() == (fetch_project / "supabase" / "migrations" / written.name).read_bytes()
    assert [row[0] for row in history_rows(db_url)] == ["001", "002", "003", "20240101000000", "20240102000000",
                                                        "20240103000000"]

    reverted = reconcile(project_dir, db_url, "--apply", "--revert-remote-only", "--json")
    assert reverted.json()["actions"]["reverted"] == ["20240103000000"]
    assert "20240103000000" not in [row[0] for row in history_rows(db_url)]


def test_nothing_to_reconcile(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_ok.sql", "SELECT 1;\n")
    push(project_dir, db_url)
    write_migration(project_dir, "002_new.sql", "SELECT 2;\n")
    outcome = reconcile(project_dir, db_url)
    assert outcome.exit_code == 0, outcome.output
    assert outcome.stdout.strip() == "1 migration(s) in sync, 1 pending, 0 mismatch(es)"
