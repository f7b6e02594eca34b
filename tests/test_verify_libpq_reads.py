"""verify's catalog read over libpq (targets.libpq_target): its two halves at once, without psycopg, and the
same catalog, report and errors as the one-query read over psycopg."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from supadeploy.errors import ConnectionFailed, DatabaseError
from supadeploy.rls.catalog import catalog_queries, catalog_query, read_catalog
from supadeploy.rls.verify import VerifyOptions, run_verify
from supadeploy.targets import libpq_target
from supadeploy.targets.libpq_reader import LibpqError
from supadeploy.targets.libpq_target import LibpqReadTarget
from supadeploy.targets.postgres import PostgresTarget

SCHEMA = """
create schema api;
grant usage on schema api to anon, authenticated;
create table public.profiles (id bigserial primary key, user_id uuid, email text, "Home-Address" text,
                              billing_zip_code text, note text);
alter table public.profiles enable row level security;
grant select, insert on public.profiles to authenticated;
grant select (id, email) on public.profiles to anon;
create policy "own rows" on public.profiles for select to authenticated using ((select auth.uid()) = user_id);
create policy "insert own" on public.profiles for insert to authenticated with check ((select auth.uid()) = user_id);
create table public.open_notes (id int primary key, api_key text);
grant select on public.open_notes to anon;
create table api.items (id int generated always as identity primary key, secret text);
alter table api.items enable row level security;
create policy "everyone" on api.items for select using (true);
create view public.profile_names with (security_invoker = true) as select id, email from public.profiles;
grant select on public.profile_names to authenticated;
create function api.definer() returns setof public.profiles language sql security definer
  as 'select * from public.profiles';
"""

RUN_AND_REPORT_MODULES = """
import sys
from supadeploy.cli import main
sys.argv = ["supadeploy", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    code = exit.code
print("psycopg loaded:", "psycopg" in sys.modules, file=sys.stderr)
sys.exit(code)
"""


@pytest.fixture
def shaped_url(explicit_db_url: str) -> str:
    with psycopg.connect(explicit_db_url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    return explicit_db_url


def test_the_two_halves_make_the_one_query_document(shaped_url: str) -> None:
    schemas, extra = ("public", "api"), ("note",)
    with psycopg.connect(shaped_url) as conn:
        row = conn.execute(catalog_query(schemas, extra)).fetchone()
        halves = [conn.execute(sql).fetchone() for sql in catalog_queries(schemas, extra)]
    assert row is not None and all(halves)
    whole = json.loads(row[0])
    policies, the_rest = (json.loads(half[0]) for half in halves if half)
    assert set(policies) == {"policies"} and "policies" not in the_rest
    assert {**the_rest, **policies} == whole
    sensitive = {item[1]: item[17] for item in whole["relations"]}
    assert sensitive["profiles"] == [["email", True, True], ["Home-Address", False, True],
                                     ["billing_zip_code", False, True], ["note", False, True]]
    assert sensitive["open_notes"] == [["api_key", True, False]]
    assert sensitive["profile_names"] is None


def test_libpq_target_reads_the_same_catalog_and_report(shaped_url: str) -> None:
    schemas = ("public", "api")
    fast, full = LibpqReadTarget(shaped_url, application_name="test"), PostgresTarget(shaped_url)
    try:
        assert read_catalog(fast, schemas, ("note",)) == read_catalog(full, schemas, ("note",))
        options = VerifyOptions(schemas=schemas)
        assert run_verify(fast, options).to_dict() == run_verify(full, options).to_dict()
    finally:
        fast.close()
        full.close()


def test_verify_without_probes_does_not_load_psycopg(shaped_url: str, project_dir: Path) -> None:
    completed = subprocess.run([sys.executable, "-c", RUN_AND_REPORT_MODULES, "verify", "--json", "--db-url",
                                shaped_url, "--workdir", str(project_dir), "--schema", "api"],
                               capture_output=True, text=True, timeout=120)
    assert "psycopg loaded: False" in completed.stderr, completed.stderr
    document = json.loads(completed.stdout)
    full = PostgresTarget(shaped_url)
    try:
        expected = run_verify(full, VerifyOptions(schemas=("public", "api"))).to_dict()
    finally:
        full.close()
    assert document["findings"] == expected["findings"] and document["matrix"] == expected["matrix"]
    assert {f["code"] for f in document["findings"]} >= {"rls_disabled", "sensitive_columns_exposed"}


def test_a_failing_statement_is_reported_as_psycopg_reports_it(shaped_url: str) -> None:
    fast, full = LibpqReadTarget(shaped_url, application_name="test"), PostgresTarget(shaped_url)
    try:
        with pytest.raises(DatabaseError) as over_libpq:
            fast.read_texts(["SELECT 'fine'", "SELECT (1 / 0)::text"])
        with pytest.raises(DatabaseError) as over_psycopg:
            full.query("SELECT (1 / 0)::text")
        assert over_libpq.value.render() == over_psycopg.value.render()
        assert fast.read_texts(["SELECT 'a'", "SELECT NULL::text", "SELECT 'c'"]) == ["a", None, "c"]
    finally:
        fast.close()
        full.close()


def test_a_failed_connection_is_worded_as_postgres_target_words_it(pg_admin_url: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://postgres:hunter2@127.0.0.1:{port}/postgres"
    with pytest.raises(ConnectionFailed) as over_libpq:
        LibpqReadTarget(url).read_texts(["SELECT 'x'", "SELECT 'y'"])
    with pytest.raises(ConnectionFailed) as over_psycopg:
        PostgresTarget(url).query("SELECT 'x'")
    assert over_libpq.value.render() == over_psycopg.value.render()
    assert "hunter2" not in over_libpq.value.render()


def test_without_libpq_the_reads_go_over_psycopg(shaped_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> None:
        raise LibpqError("libpq not found")

    monkeypatch.setattr(libpq_target, "load_libpq", unavailable)
    fast, full = LibpqReadTarget(shaped_url, application_name="test"), PostgresTarget(shaped_url)
    try:
        assert read_catalog(fast, ("public",)) == read_catalog(full, ("public",))
    finally:
        fast.close()
        full.close()
