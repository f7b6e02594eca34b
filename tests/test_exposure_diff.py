"""push --dry-run --shadow-url: what the pending migrations change in what anon and authenticated can do."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import invoke, write_migration
from tests.support.inspect import history_rows, tables

NOTES = ("CREATE TABLE public.notes (id bigint PRIMARY KEY, user_id uuid NOT NULL, body text);\n"
         "ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;\n"
         "REVOKE ALL ON public.notes FROM anon, authenticated;\n"
         "GRANT SELECT, INSERT ON public.notes TO authenticated;\n")


# The throwaway databases of this module get their own prefix: other tests may create some on the same server.
PREFIX = f"supadeploy_shadow_exposure_{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUPADEPLOY_SHADOW_URL", raising=False)
    monkeypatch.setattr("supadeploy.shadow.SHADOW_PREFIX", PREFIX)


def left_behind(admin_url: str) -> list[str]:
    with psycopg.connect(admin_url) as connection:
        rows = connection.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{PREFIX}%",))
        return [row[0] for row in rows.fetchall()]


def push(project: Path, url: str, *extra: str):  # type: ignore[no-untyped-def]
    return invoke("push", "--workdir", str(project), "--db-url", url, *extra)


def dry_run(project: Path, url: str, shadow_url: str, *extra: str):  # type: ignore[no-untyped-def]
    return push(project, url, "--dry-run", "--shadow-url", shadow_url, *extra)


def changes(output: str) -> list[str]:
    lines = output.split("Exposure difference", 1)[1].splitlines()[1:]
    return [line.strip() for line in lines if line.startswith("  ")]


def test_a_new_anon_readable_table_shows_every_row(project_dir: Path, db_url: str, pg_admin_url: str) -> None:
    write_migration(project_dir, "001_x.sql", "CREATE TABLE public.x (id int);\n"
                    "REVOKE ALL ON public.x FROM anon, authenticated;\nGRANT SELECT ON public.x TO anon;\n"
                    "CREATE VIEW public.x_ids AS SELECT id FROM public.x;\n"
                    "REVOKE ALL ON public.x_ids FROM anon, authenticated;\n"
                    "GRANT SELECT ON public.x_ids TO authenticated;\n")
    outcome = dry_run(project_dir, db_url, pg_admin_url)
    assert outcome.exit_code == 0, outcome.output
    assert changes(outcome.stdout) == ["public.x: anon SELECT none → every row",
                                       "public.x_ids: authenticated SELECT none → every row"]
    assert "Exposure difference (2 change(s)):" in outcome.stdout
    assert tables(db_url) == [] and history_rows(db_url) == []  # a dry run applies nothing
    assert left_behind(pg_admin_url) == []


def test_an_own_rows_policy_for_authenticated_shows_own_rows(project_dir: Path, db_url: str,
                                                            pg_admin_url: str) -> None:
    write_migration(project_dir, "001_notes.sql", NOTES)
    assert push(project_dir, db_url).exit_code == 0
    write_migration(project_dir, "002_own_notes.sql",
                    "CREATE POLICY notes_own ON public.notes FOR SELECT TO authenticated\n"
                    "  USING ((select auth.uid()) = user_id);\n"
                    "CREATE POLICY notes_insert ON public.notes FOR INSERT TO authenticated\n"
                    "  WITH CHECK (body IS NOT NULL);\n")
    outcome = dry_run(project_dir, db_url, pg_admin_url)
    assert outcome.exit_code == 0, outcome.output
    assert changes(outcome.stdout) == ["public.notes: authenticated SELECT none → own rows",
                                       "public.notes: authenticated INSERT none → policy-gated (notes_insert)"]


def test_a_revoke_shows_what_is_lost_and_a_granted_function_what_is_gained(project_dir: Path, db_url: str,
                                                                          pg_admin_url: str) -> None:
    write_migration(project_dir, "001_api_keys.sql", "CREATE TABLE public.api_keys (id int, secret text);\n"
                    "REVOKE ALL ON public.api_keys FROM anon, authenticated;\n"
                    "GRANT SELECT, DELETE ON public.api_keys TO anon;\n")
    assert push(project_dir, db_url).exit_code == 0
    write_migration(project_dir, "002_lock_down.sql", "REVOKE DELETE ON public.api_keys FROM anon;\n"
                    "CREATE FUNCTION public.key_count() RETURNS bigint LANGUAGE sql\n"
                    "  AS 'SELECT count(*) FROM public.api_keys';\n"
                    "REVOKE EXECUTE ON FUNCTION public.key_count() FROM PUBLIC, anon, authenticated;\n"
                    "GRANT EXECUTE ON FUNCTION public.key_count() TO authenticated;\n")
    outcome = dry_run(project_dir, db_url, pg_admin_url)
    assert outcome.exit_code == 0, outcome.output
    assert changes(outcome.stdout) == ["public.api_keys: anon DELETE every row → none",
                                       "public.key_count(): authenticated EXECUTE none → callable"]


def test_json_carries_the_list(project_dir: Path, db_url: str, pg_admin_url: str) -> None:
    write_migration(project_dir, "001_notes.sql", NOTES)
    write_migration(project_dir, "002_policy.sql", "CREATE POLICY notes_own ON public.notes FOR SELECT\n"
                    "  TO authenticated USING (user_id = auth.uid());\n")
    outcome = dry_run(project_dir, db_url, pg_admin_url, "--json")
    assert outcome.exit_code == 0, outcome.output
    document = outcome.json()
    assert document["exposure"] == [
        {"object": "public.notes", "role": "authenticated", "action": "SELECT", "before": "none",
         "after": "own rows"}]
    assert [m["version"] for m in document["plan"]["pending"]] == ["001", "002"]


def test_without_a_shadow_url_the_dry_run_says_how_to_get_it(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_x.sql", "CREATE TABLE public.x (id int);\n")
    outcome = push(project_dir, db_url, "--dry-run")
    assert outcome.exit_code == 0, outcome.output
    hint = [line for line in outcome.stdout.splitlines() if line.startswith("Exposure difference")]
    assert hint == ["Exposure difference: not computed; pass --shadow-url (or set SUPADEPLOY_SHADOW_URL) with a "
                    "superuser URL of a server where a throwaway database may be created to see what anon and "
                    "authenticated gain or lose."]
    assert push(project_dir, db_url, "--dry-run", "--json").json()["exposure"] is None


def test_nothing_changed_says_so(project_dir: Path, db_url: str, pg_admin_url: str) -> None:
    write_migration(project_dir, "001_notes.sql", NOTES)
    assert push(project_dir, db_url).exit_code == 0
    write_migration(project_dir, "002_comment.sql", "COMMENT ON TABLE public.notes IS 'notes';\n")
    outcome = dry_run(project_dir, db_url, pg_admin_url)
    assert outcome.exit_code == 0, outcome.output
    assert "Exposure difference: anon and authenticated gain and lose nothing." in outcome.stdout.splitlines()


def test_a_pending_migration_failing_on_the_throwaway_database_is_one_clear_error(
        project_dir: Path, db_url: str, pg_admin_url: str) -> None:
    write_migration(project_dir, "001_notes.sql", NOTES)
    assert push(project_dir, db_url).exit_code == 0
    write_migration(project_dir, "002_bad.sql", "SELECT 1;\n\nGRANT SELECT ON public.missing TO anon;\n")
    outcome = dry_run(project_dir, db_url, pg_admin_url)
    assert outcome.exit_code == 1
    assert outcome.stderr.startswith(f"error: {project_dir}/supabase/migrations/002_bad.sql:3:1: a pending "
                                     "migration fails on the throwaway database")
    assert 'relation "public.missing" does not exist [SQLSTATE 42P01]' in outcome.stderr
    assert "Traceback" not in outcome.output
    assert [row[0] for row in history_rows(db_url)] == ["001"]
    assert left_behind(pg_admin_url) == []
    json_outcome = dry_run(project_dir, db_url, pg_admin_url, "--json")
    assert json_outcome.exit_code == 1 and json_outcome.json()["error"]["where"].endswith("002_bad.sql:3:1")


def test_check_exposure_since_shows_what_the_later_migrations_change(project_dir: Path, pg_admin_url: str) -> None:
    write_migration(project_dir, "001_notes.sql", NOTES)
    write_migration(project_dir, "002_policy.sql", "CREATE POLICY notes_own ON public.notes FOR SELECT\n"
                    "  TO authenticated USING (user_id = (select auth.uid()));\n")
    outcome = invoke("check", "--workdir", str(project_dir), "--shadow-url", pg_admin_url, "--no-idempotency",
                     "--exposure-since", "001")
    assert outcome.exit_code == 0, outcome.output
    assert outcome.stdout.splitlines()[-3:] == ["Exposure difference (1 change(s)):",
                                                "  public.notes: authenticated SELECT none → own rows", "ok"]
    document = invoke("check", "--workdir", str(project_dir), "--shadow-url", pg_admin_url, "--no-idempotency",
                      "--exposure-since", "001", "--json").json()
    assert document["exposure"] == [{"object": "public.notes", "role": "authenticated", "action": "SELECT",
                                     "before": "none", "after": "own rows"}]
    assert left_behind(pg_admin_url) == []


def test_check_exposure_since_an_unknown_version_is_refused_before_anything_runs(project_dir: Path) -> None:
    write_migration(project_dir, "001_notes.sql", NOTES)
    outcome = invoke("check", "--workdir", str(project_dir), "--shadow-url", "postgresql://postgres@127.0.0.1:1/x",
                     "--exposure-since", "999")
    assert outcome.exit_code == 1
    assert outcome.stderr.splitlines() == ["error: --exposure-since 999: no migration has that version",
                                           "  pass the version of a migration in supabase/migrations/ (e.g. the "
                                           "newest one already deployed)"]


def test_an_unreachable_shadow_server_is_one_clear_error_without_the_password(project_dir: Path,
                                                                             db_url: str) -> None:
    write_migration(project_dir, "001_x.sql", "CREATE TABLE public.x (id int);\n")
    outcome = dry_run(project_dir, db_url, "postgresql://postgres:s3cret-pw@127.0.0.1:1/postgres?connect_timeout=2")
    assert outcome.exit_code == 1
    assert outcome.stderr.startswith("error: cannot create or drop a shadow database on postgresql://postgres:****@")
    assert "s3cret-pw" not in outcome.output and "Traceback" not in outcome.output
    assert tables(db_url) == []
