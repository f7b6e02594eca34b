"""The explicit Data API grants model (Supabase since 2026-10-30): how databases are prepared, what verify reports.

On that model a table that ``postgres`` creates in ``public`` is not granted to anon, authenticated or
service_role: a migration that forgets the GRANT applies cleanly and the app gets permission denied (42501).
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

import psycopg
import pytest

from supadeploy.errors import SupadeployError
from supadeploy.local import prepare_database
from tests.support.cli import invoke, write_migration
from tests.support.inspect import scalar

REPO_ROOT = Path(__file__).resolve().parent.parent

PRIVILEGES = ("select has_table_privilege('anon', 'public.t', 'SELECT'), "
              "has_table_privilege('authenticated', 'public.t', 'INSERT'), "
              "has_table_privilege('service_role', 'public.t', 'DELETE'), "
              "has_sequence_privilege('authenticated', 'public.t_id_seq', 'USAGE'), "
              "has_function_privilege('anon', 'public.f()', 'EXECUTE')")
NEW_OBJECTS = "create table public.t (id serial primary key); create function public.f() returns int language sql " \
              "as 'select 1';"

PLANTED_HOLES = """-- Migration: 001_planted_holes
-- policies, but no grant: the policies never run
CREATE TABLE public.notes (id bigint PRIMARY KEY, owner uuid NOT NULL, body text);
ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY "own notes" ON public.notes FOR SELECT TO authenticated USING ((SELECT auth.uid()) = owner);

-- granted, but the serial's sequence is not: every insert fails on nextval
CREATE TABLE public.messages (id serial PRIMARY KEY, author uuid NOT NULL, body text);
ALTER TABLE public.messages ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, DELETE ON public.messages TO authenticated;
CREATE POLICY "read own" ON public.messages FOR SELECT TO authenticated USING ((SELECT auth.uid()) = author);
CREATE POLICY "write own" ON public.messages FOR INSERT TO authenticated WITH CHECK ((SELECT auth.uid()) = author);

-- granted to anon, RLS off: every row open
CREATE TABLE public.announcements (id bigint PRIMARY KEY, body text);
GRANT SELECT ON public.announcements TO anon;

-- neither grant nor RLS: simply not reachable through the Data API
CREATE TABLE public.internal_audit (id bigint PRIMARY KEY, entry text);
"""


def verify_json(project: Path, url: str) -> tuple[int, dict[str, Any]]:
    outcome = invoke("verify", "--json", "--db-url", url, "--workdir", str(project))
    return outcome.exit_code, outcome.json()


def push(project: Path, url: str) -> None:
    outcome = invoke("push", "--yes", "--db-url", url, "--workdir", str(project))
    assert outcome.exit_code == 0, outcome.output


def findings_of(document: dict[str, Any]) -> set[tuple[str, str, str, str | None]]:
    return {(f["code"], f["level"], f"{f['schema']}.{f['object']}", f["policy"]) for f in document["findings"]}


# --- prepare_database ----------------------------------------------------------------------------------------

def test_explicit_model_does_not_grant_new_tables_and_sequences_to_the_api_roles(explicit_db_url: str) -> None:
    with psycopg.connect(explicit_db_url, autocommit=True) as conn:
        conn.execute(NEW_OBJECTS)
        assert conn.execute(PRIVILEGES).fetchone() == (False, False, False, False, True)
        assert conn.execute("select has_table_privilege('postgres', 'public.t', 'SELECT')").fetchone() == (True,)


def test_legacy_model_grants_them_as_projects_were_prepared_before(legacy_db_url: str) -> None:
    with psycopg.connect(legacy_db_url, autocommit=True) as conn:
        conn.execute(NEW_OBJECTS)
        assert conn.execute(PRIVILEGES).fetchone() == (True, True, True, True, True)


def test_preparing_again_switches_the_model_for_new_objects_only(explicit_db_url: str) -> None:
    with psycopg.connect(explicit_db_url, autocommit=True) as conn:
        conn.execute("create table public.before_switch (id int)")
    prepare_database(explicit_db_url, grants_model="legacy")
    with psycopg.connect(explicit_db_url, autocommit=True) as conn:
        conn.execute(NEW_OBJECTS)
        assert conn.execute(PRIVILEGES).fetchone() == (True, True, True, True, True)
    assert scalar(explicit_db_url, "select has_table_privilege('anon', 'public.before_switch', 'SELECT')") is False
    prepare_database(explicit_db_url)  # explicit is the default
    assert scalar(explicit_db_url, "select count(*) from pg_default_acl d join pg_roles r on r.oid = d.defaclrole "
                  "where r.rolname = 'postgres' and array_to_string(d.defaclacl, ',') ~ 'anon='"
                  " and d.defaclobjtype in ('r', 'S')") == 0


def test_an_unknown_grants_model_is_refused_with_the_choices(db_url: str) -> None:
    with pytest.raises(SupadeployError) as raised:
        prepare_database(db_url, grants_model="open")
    assert str(raised.value).startswith("unknown grants model 'open'")
    assert raised.value.fix == "Use one of: explicit, legacy."


def test_local_start_refuses_an_unknown_grants_model_before_starting_anything(tmp_path: Path) -> None:
    outcome = invoke("local", "start", "--grants-model", "open", "--data-dir", str(tmp_path / "pg"), "--json")
    assert outcome.exit_code == 1
    assert "unknown grants model 'open'" in outcome.json()["error"]["message"]
    assert not (tmp_path / "pg").exists()


def test_local_start_and_reset_prepare_the_chosen_model(project_dir: Path) -> None:
    from supadeploy.local import LocalServer

    data_dir = Path(tempfile.mkdtemp(prefix="supadeploy-test-grants-"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    try:
        started = invoke("local", "start", "--grants-model", "legacy", "--data-dir", str(data_dir), "--port", port,
                         "--json")
        assert started.exit_code == 0, started.output
        url = f"postgresql://postgres:postgres@127.0.0.1:{port}/postgres"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(NEW_OBJECTS)
            assert conn.execute(PRIVILEGES).fetchone() == (True, True, True, True, True)
        reset = invoke("local", "reset", "--yes", "--data-dir", str(data_dir), "--port", port,
                       "--workdir", str(project_dir), "--json")
        assert reset.exit_code == 0, reset.output
        with psycopg.connect(url, autocommit=True) as conn:  # explicit is the default
            conn.execute(NEW_OBJECTS)
            assert conn.execute(PRIVILEGES).fetchone() == (False, False, False, False, True)
    finally:
        LocalServer(data_dir=data_dir, port=int(port)).stop()
        shutil.rmtree(data_dir, ignore_errors=True)


# --- verify on the explicit model --------------------------------------------------------------------------

def test_planted_holes_are_reported_exactly(project_dir: Path, explicit_db_url: str) -> None:
    write_migration(project_dir, "001_planted_holes.sql", PLANTED_HOLES)
    push(project_dir, explicit_db_url)
    code, document = verify_json(project_dir, explicit_db_url)
    assert code == 1
    assert findings_of(document) == {
        ("policy_without_grant", "warn", "public.notes", "own notes"),
        ("sequence_usage_missing", "error", "public.messages", None),
        ("rls_disabled", "error", "public.announcements", None),
    }
    messages = {f["code"]: f for f in document["findings"]}
    assert messages["sequence_usage_missing"]["message"] == (
        "authenticated may insert into public.messages, but column id takes its default from sequence "
        "public.messages_id_seq, which authenticated may not use: every insert fails with permission denied for "
        "the sequence (42501)")
    assert messages["sequence_usage_missing"]["remediation"].startswith(
        "GRANT USAGE ON SEQUENCE public.messages_id_seq TO authenticated;")
    assert messages["policy_without_grant"]["remediation"].startswith("GRANT SELECT ON public.notes TO authenticated;")


def test_the_fixes_verify_clean_and_the_app_can_insert(project_dir: Path, explicit_db_url: str) -> None:
    write_migration(project_dir, "001_planted_holes.sql", PLANTED_HOLES)
    write_migration(project_dir, "002_fixes.sql", """-- Migration: 002_fixes
GRANT SELECT ON public.notes TO authenticated;
GRANT USAGE ON SEQUENCE public.messages_id_seq TO authenticated;
ALTER TABLE public.announcements ENABLE ROW LEVEL SECURITY;
CREATE POLICY "everyone reads" ON public.announcements FOR SELECT TO anon USING (true);
""")
    push(project_dir, explicit_db_url)
    code, document = verify_json(project_dir, explicit_db_url)
    assert code == 0
    assert findings_of(document) == {("policy_always_true", "warn", "public.announcements", "everyone reads")}
    with psycopg.connect(explicit_db_url) as conn:
        conn.execute("set local role authenticated")
        conn.execute("select set_config('request.jwt.claims', "
                     "'{\"sub\": \"00000000-0000-0000-0000-000000000001\"}', true)")
        conn.execute("insert into public.messages (author, body) "
                     "values ('00000000-0000-0000-0000-000000000001', 'hi')")


def test_the_matrix_tells_no_grant_from_no_row_from_policy_gated_from_every_row(
        project_dir: Path, explicit_db_url: str) -> None:
    write_migration(project_dir, "001_planted_holes.sql", PLANTED_HOLES)
    push(project_dir, explicit_db_url)
    _, document = verify_json(project_dir, explicit_db_url)
    rows = {row["table"]: row for row in document["matrix"]}
    assert rows["messages"]["reach"]["authenticated"] == {
        "select": "policy-gated", "insert": "policy-gated", "update": "no-grant", "delete": "no-row"}
    assert rows["messages"]["access"]["authenticated"] == {
        "select": "policy-gated", "insert": "policy-gated", "update": "denied", "delete": "denied"}
    assert rows["announcements"]["reach"]["anon"] == {
        "select": "every-row", "insert": "no-grant", "update": "no-grant", "delete": "no-grant"}
    assert rows["internal_audit"]["reach"]["anon"]["select"] == "no-grant"
    text = invoke("verify", "--db-url", explicit_db_url, "--workdir", str(project_dir)).stdout
    assert "- RLS allows no row, x no grant" in text
    assert "public.messages        table    on     xxxx  PPx-" in text
    assert "public.announcements   table    OFF    Axxx  xxxx" in text
    summary = project_dir / "summary.md"
    invoke("verify", "--db-url", explicit_db_url, "--workdir", str(project_dir), "--markdown", str(summary))
    assert ("| `public.messages` | table | on | no grant | no grant | no grant | no grant | policy-gated | "
            "policy-gated | no grant | denied |") in summary.read_text()


UNREACHABLE = """-- Migration: 001_unreachable
CREATE SCHEMA private;
CREATE FUNCTION private.is_member(team uuid) RETURNS boolean LANGUAGE sql STABLE AS 'select true';
REVOKE EXECUTE ON FUNCTION private.is_member(uuid) FROM PUBLIC;
CREATE TABLE public.projects (id bigint PRIMARY KEY, team uuid NOT NULL);
ALTER TABLE public.projects ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON public.projects TO authenticated;
CREATE POLICY "team members" ON public.projects FOR SELECT TO authenticated USING (private.is_member(team));

CREATE TABLE public.drafts (id bigint PRIMARY KEY, owner uuid NOT NULL);
ALTER TABLE public.drafts ENABLE ROW LEVEL SECURITY;
CREATE VIEW public.my_drafts WITH (security_invoker = true) AS SELECT id FROM public.drafts;
GRANT SELECT ON public.my_drafts TO authenticated;
"""


def test_views_and_functions_the_api_roles_cannot_reach_are_warnings(
        project_dir: Path, explicit_db_url: str) -> None:
    write_migration(project_dir, "001_unreachable.sql", UNREACHABLE)
    push(project_dir, explicit_db_url)
    code, document = verify_json(project_dir, explicit_db_url)
    assert code == 0
    assert {(c, lvl, name, p) for c, lvl, name, p in findings_of(document) if c == "api_object_unreachable"} == {
        ("api_object_unreachable", "warn", "private.is_member", "team members"),
        ("api_object_unreachable", "warn", "public.my_drafts", None),
    }
    by_object = {f["object"]: f for f in document["findings"] if f["code"] == "api_object_unreachable"}
    assert by_object["my_drafts"]["message"] == (
        "public.my_drafts is granted to authenticated, but it is a security_invoker view and authenticated may not "
        "SELECT public.drafts: every read of the view fails with permission denied (42501)")
    assert by_object["is_member"]["object_type"] == "function"
    view = next(row for row in document["matrix"] if row["table"] == "my_drafts")
    assert view["access"]["authenticated"]["select"] == "denied"
    assert view["reach"]["authenticated"]["select"] == "no-grant"


@pytest.mark.parametrize("database", ["db_url", "explicit_db_url"])
def test_the_example_project_grants_what_the_app_needs_on_both_models(
        project_dir: Path, database: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(database)
    for path in (REPO_ROOT / "supabase" / "migrations").glob("*.sql"):
        shutil.copy(path, project_dir / "supabase" / "migrations" / path.name)
    push(project_dir, url)
    code, document = verify_json(project_dir, url)
    assert code == 0 and document["findings"] == []
    rows = {row["table"]: row for row in document["matrix"]}
    assert rows["trades"]["access"]["authenticated"] == dict.fromkeys(("select", "insert", "update", "delete"),
                                                                      "policy-gated")
    assert rows["positions"]["access"]["authenticated"]["select"] == "policy-gated"
    assert rows["rolled_options_jobs"]["access"]["authenticated"]["insert"] == "policy-gated"


# --- lint ----------------------------------------------------------------------------------------------------

def lint_hits(project: Path) -> list[tuple[str, str, str, int]]:
    from supadeploy.config import load_project
    from supadeploy.lint.report import lint_migrations
    from supadeploy.migrations.files import discover_migrations

    project_config = load_project(project)
    findings = lint_migrations(discover_migrations(project_config.migrations_dir).migrations, project_config)
    return [(f.code, f.level, Path(f.file).name, f.line) for f in findings if f.code in ("SD404", "SD405")]


def test_lint_reports_a_grant_without_rls_in_the_same_migration_at_the_grant(project_dir: Path) -> None:
    write_migration(project_dir, "001_open.sql", "CREATE TABLE IF NOT EXISTS public.feed (id bigint);\n"
                    "GRANT SELECT ON public.feed TO anon;\n")
    write_migration(project_dir, "002_rls.sql", "ALTER TABLE public.feed ENABLE ROW LEVEL SECURITY;\n")
    assert lint_hits(project_dir) == [("SD404", "error", "001_open.sql", 2)]
    outcome = invoke("lint", "--workdir", str(project_dir), "--json")
    assert outcome.exit_code == 1
    finding = next(f for f in outcome.json()["findings"] if f["code"] == "SD404")
    assert finding["message"] == ("table public.feed is granted to the Data API roles in this migration, which does "
                                  "not enable Row Level Security on it: every row is open once it is applied")


@pytest.mark.parametrize("grant", [
    "GRANT SELECT ON ALL TABLES IN SCHEMA public TO authenticated;",
    "GRANT SELECT (id) ON public.feed TO PUBLIC;",
])
def test_schema_wide_and_column_grants_count_as_grants(project_dir: Path, grant: str) -> None:
    write_migration(project_dir, "001_open.sql", f"CREATE TABLE IF NOT EXISTS public.feed (id bigint);\n{grant}\n")
    assert [code for code, *_ in lint_hits(project_dir)] == ["SD404"]


def test_default_privileges_grant_the_tables_created_after_them(project_dir: Path) -> None:
    write_migration(project_dir, "001_defaults.sql",
                    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO anon;\n"
                    "CREATE TABLE IF NOT EXISTS public.feed (id bigint);\n")
    assert lint_hits(project_dir) == [("SD404", "error", "001_defaults.sql", 2)]


def test_grants_to_other_roles_or_private_schemas_are_not_reported(project_dir: Path) -> None:
    write_migration(project_dir, "001_server_only.sql",
                    "CREATE TABLE IF NOT EXISTS public.jobs (id bigint);\n"
                    "GRANT ALL ON public.jobs TO service_role;\n"
                    "CREATE SCHEMA IF NOT EXISTS private;\n"
                    "CREATE TABLE IF NOT EXISTS private.audit (id bigint);\n"
                    "GRANT SELECT ON private.audit TO authenticated;\n")
    assert lint_hits(project_dir) == []


def test_policies_without_any_grant_warn_unless_a_later_migration_grants(project_dir: Path) -> None:
    notes = ("CREATE TABLE IF NOT EXISTS public.notes (id bigint, owner uuid);\n"
             "ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;\n"
             "DROP POLICY IF EXISTS \"own\" ON public.notes;\n"
             "CREATE POLICY \"own\" ON public.notes FOR SELECT TO authenticated USING ((SELECT auth.uid()) = owner);\n")
    write_migration(project_dir, "001_notes.sql", notes)
    assert lint_hits(project_dir) == [("SD405", "warning", "001_notes.sql", 4)]
    write_migration(project_dir, "002_grant.sql", "GRANT SELECT ON public.notes TO authenticated;\n")
    assert lint_hits(project_dir) == []


def test_the_example_project_has_no_grant_findings() -> None:
    assert lint_hits(REPO_ROOT) == []
