"""supadeploy check: shadow replay on a throwaway database (first failure, idempotency, rollback round trips)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from supadeploy.fingerprint import application_schemas, diff_fingerprints, schema_fingerprint
from supadeploy.migrations.files import discover_migrations
from supadeploy.shadow import SHADOW_PREFIX, check_migrations, shadow_database
from supadeploy.targets.postgres import PostgresTarget
from tests.support.cli import invoke, write_migration

HEADER = "-- Migration: x\n-- Purpose: x\n-- Date: 2024-01-01\n-- Author: a\n-- Breaking Changes: none\n"


def shadow_databases(admin_url: str) -> list[str]:
    with psycopg.connect(admin_url) as connection:
        rows = connection.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                  (f"{SHADOW_PREFIX}%",)).fetchall()
    return [row[0] for row in rows]


def check(project: Path, admin_url: str):  # type: ignore[no-untyped-def]
    return check_migrations(discover_migrations(project / "supabase" / "migrations").migrations, server_url=admin_url)


def test_a_good_project_passes_and_leaves_nothing_behind(project_dir: Path, pg_admin_url: str) -> None:
    write_migration(project_dir, "001_notes.sql", HEADER + "-- Rollback:\n--   DROP TABLE IF EXISTS public.notes;\n\n"
                    "CREATE TABLE IF NOT EXISTS public.notes (id bigint PRIMARY KEY, body text);\n"
                    "ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;\n")
    write_migration(project_dir, "002_tags.sql", "ALTER TABLE public.notes ADD COLUMN IF NOT EXISTS tags text[];\n")
    write_migration(project_dir, "002_tags.down.sql", "ALTER TABLE public.notes DROP COLUMN IF EXISTS tags;\n")
    before = shadow_databases(pg_admin_url)
    result = check(project_dir, pg_admin_url)
    assert result.ok, [p.render() for p in result.problems]
    assert (result.applied, result.idempotency_checked, result.round_trips_checked) == (2, 2, 2)
    assert result.schemas == ("public",)
    assert shadow_databases(pg_admin_url) == before


def test_first_failure_is_reported_with_file_line_and_the_database_is_dropped(project_dir: Path,
                                                                             pg_admin_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "CREATE TABLE IF NOT EXISTS public.a (id int);\n")
    write_migration(project_dir, "002_b.sql", "SELECT 1;\n\nINSERT INTO public.a (id, missing)\n  VALUES (1, 2);\n")
    write_migration(project_dir, "003_c.sql", "SELECT 1;\n")
    before = shadow_databases(pg_admin_url)
    result = check(project_dir, pg_admin_url)
    assert result.failure is not None and result.applied == 1
    assert (result.failure.version, result.failure.line, result.failure.column) == ("002", 3, 27)
    assert result.failure.message == 'column "missing" of relation "a" does not exist'
    assert shadow_databases(pg_admin_url) == before


def test_non_idempotent_migrations_are_reported(project_dir: Path, pg_admin_url: str) -> None:
    write_migration(project_dir, "001_table.sql", "CREATE TABLE IF NOT EXISTS public.a (id int);\n"
                    "CREATE INDEX a_id_idx ON public.a (id);\n")
    write_migration(project_dir, "002_data.sql", "CREATE TABLE IF NOT EXISTS public.counter (n int);\n"
                    "INSERT INTO public.counter VALUES (1);\n")
    write_migration(project_dir, "003_column.sql", "DO $$ BEGIN\n  EXECUTE 'ALTER TABLE public.a ADD COLUMN c' || "
                    "(SELECT count(*) FROM information_schema.columns WHERE table_name = 'a') || ' int';\nEND $$;\n")
    result = check(project_dir, pg_admin_url)
    assert result.failure is None
    problems = {p.version: p for p in result.problems}
    assert set(problems) == {"001", "003"}  # a duplicate row is data, not schema: 002 is idempotent for the schema
    first = problems["001"]
    assert first.kind == "not-idempotent"
    assert first.location.endswith("001_table.sql:2:1")
    assert first.message == 'a second run fails: relation "a_id_idx" already exists [SQLSTATE 42P07]'
    third = problems["003"]
    assert third.message == "a second run changes the schema"
    assert [(d.kind, d.name, d.change) for d in third.differences] == [("column", "public.a.c2", "added")]


def test_broken_rollbacks_are_reported(project_dir: Path, pg_admin_url: str) -> None:
    write_migration(project_dir, "001_a.sql", HEADER + "-- Rollback:\n--   DROP TABLE public.a;\n\n"
                    "CREATE TABLE IF NOT EXISTS public.a (id int);\n"
                    "CREATE INDEX IF NOT EXISTS a_id_idx ON public.a (id);\n")
    # Down SQL that fails: the column it drops does not exist.
    write_migration(project_dir, "002_b.sql", "ALTER TABLE public.a ADD COLUMN IF NOT EXISTS b int;\n")
    (project_dir / "supabase" / "migrations" / "down").mkdir()
    (project_dir / "supabase" / "migrations" / "down" / "002_b.down.sql").write_text(
        "ALTER TABLE public.a\n  DROP COLUMN bb;\n", encoding="utf-8")
    # Down SQL that forgets the index.
    write_migration(project_dir, "003_c.sql", "CREATE TABLE IF NOT EXISTS public.c (id int);\n"
                    "CREATE INDEX IF NOT EXISTS c_id_idx ON public.c (id);\n")
    write_migration(project_dir, "003_c.down.sql", "ALTER TABLE public.c RENAME TO c_old;\n")
    result = check(project_dir, pg_admin_url)
    assert result.failure is None and result.round_trips_checked == 3
    problems = {p.version: p for p in result.problems}
    assert set(problems) == {"002", "003"}
    assert problems["002"].kind == "down-failed"
    assert problems["002"].location.endswith("down/002_b.down.sql:1:1")
    assert problems["002"].message == 'down SQL fails: column "bb" of relation "a" does not exist [SQLSTATE 42703]'
    assert problems["003"].kind == "down-incomplete"
    assert problems["003"].location.endswith("003_c.down.sql:1:1")
    assert {(d.kind, d.name, d.change) for d in problems["003"].differences} == {
        ("table", "public.c_old", "added"), ("column", "public.c_old.id", "added"),
        ("index", "public.c_id_idx", "added")}


def test_up_after_down_must_give_the_same_schema(project_dir: Path, pg_admin_url: str) -> None:
    write_migration(project_dir, "001_log.sql", "CREATE TABLE IF NOT EXISTS public.log (n int);\n")
    # Up creates the index only on its first run ever (it remembers runs in public.log, which down keeps).
    write_migration(project_dir, "002_a.sql", "CREATE TABLE IF NOT EXISTS public.a (id int);\n"
                    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM public.log) THEN "
                    "CREATE INDEX IF NOT EXISTS a_idx ON public.a (id); END IF; END $$;\n"
                    "INSERT INTO public.log VALUES (1);\n")
    write_migration(project_dir, "002_a.down.sql", "DROP TABLE IF EXISTS public.a;\n")
    result = check(project_dir, pg_admin_url)
    assert [(p.kind, p.version) for p in result.problems] == [("round-trip-changed", "002")]
    assert [(d.name, d.change) for d in result.problems[0].differences] == [("public.a_idx", "removed")]


def test_shadow_database_is_dropped_when_the_body_raises(pg_admin_url: str) -> None:
    before = shadow_databases(pg_admin_url)
    with pytest.raises(RuntimeError), shadow_database(pg_admin_url) as url:
        target = PostgresTarget(url)
        assert target.query("SELECT to_regprocedure('auth.uid()') IS NOT NULL") == [(True,)]
        target.close()
        raise RuntimeError("boom")
    assert shadow_databases(pg_admin_url) == before


def test_fingerprint_sees_every_kind_of_object_and_diffs_them(db_url: str) -> None:
    target = PostgresTarget(db_url)
    try:
        before = schema_fingerprint(target, ["public"])
        target.query(
            "CREATE TYPE public.mood AS ENUM ('ok', 'meh'); CREATE DOMAIN public.pos AS int CHECK (VALUE > 0);"
            "CREATE SEQUENCE public.s; CREATE TABLE public.t (id int PRIMARY KEY, m public.mood DEFAULT 'ok', "
            "p public.pos NOT NULL, CHECK (id > 0)); CREATE INDEX t_m ON public.t (m);"
            "ALTER TABLE public.t ENABLE ROW LEVEL SECURITY; CREATE POLICY pol ON public.t TO anon USING (true);"
            "CREATE FUNCTION public.f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;"
            "CREATE TRIGGER tr BEFORE INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION public.f();"
            "CREATE VIEW public.v WITH (security_invoker = true) AS SELECT id FROM public.t")
        after = schema_fingerprint(target, application_schemas(target))
        kinds = {kind for kind, _ in after.objects}
        assert kinds == {"schema", "table", "column", "constraint", "index", "policy", "function", "view",
                         "trigger", "enum", "domain", "sequence"}
        assert after.objects[("table", "public.t")] == "table rls=on force_rls=off"
        assert after.objects[("policy", "public.t.pol")] == "for ALL PERMISSIVE to anon using (true)"
        assert after.objects[("enum", "public.mood")] == "'ok', 'meh'"
        differences = diff_fingerprints(before, after)
        assert all(d.change == "added" for d in differences) and len(differences) == len(after) - len(before)
        target.query("ALTER TYPE public.mood ADD VALUE 'great'")
        changed = diff_fingerprints(after, schema_fingerprint(target, ["public"]))
        assert [(d.kind, d.name, d.change, d.after) for d in changed] == [
            ("enum", "public.mood", "changed", "'ok', 'meh', 'great'")]
        assert after.digest != schema_fingerprint(target, ["public"]).digest
    finally:
        target.close()


def test_cli_check_json_and_exit_code(project_dir: Path, pg_admin_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "CREATE TABLE public.a (id int);\n")
    outcome = invoke("check", "--workdir", str(project_dir), "--shadow-url", pg_admin_url, "--json")
    assert outcome.exit_code == 1
    document = outcome.json()
    assert document["ok"] is False and document["applied"] == 1 and document["without_down_sql"] == ["001_a.sql"]
    assert document["problems"][0]["kind"] == "not-idempotent"
    human = invoke("check", "--workdir", str(project_dir), "--shadow-url", pg_admin_url, "--no-idempotency")
    assert human.exit_code == 0, human.output
    assert human.stdout.splitlines()[-1] == "ok"


def test_cli_check_unreachable_server_is_one_clear_error(project_dir: Path) -> None:
    write_migration(project_dir, "001_a.sql", "SELECT 1;\n")
    outcome = invoke("check", "--workdir", str(project_dir), "--shadow-url",
                     "postgresql://postgres:s3cret-pw@127.0.0.1:1/postgres?connect_timeout=2")
    assert outcome.exit_code == 1
    assert outcome.stderr.startswith("error: cannot create or drop a shadow database on postgresql://postgres:****@")
    assert "s3cret-pw" not in outcome.output
