"""Every catalog lint on a real Supabase-shaped database: a fixture that triggers it next to a near-identical one
that must not (including the cases where splinter raises a false alarm)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from supadeploy.rls.verify import VerifyOptions, VerifyReport, run_verify
from supadeploy.targets.postgres import PostgresTarget


def verify(url: str, *, schemas: tuple[str, ...] = ("public",)) -> VerifyReport:
    target = PostgresTarget(url)
    try:
        return run_verify(target, VerifyOptions(schemas=schemas))
    finally:
        target.close()


def execute(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def flagged(report: VerifyReport, code: str) -> set[tuple[str, str | None]]:
    return {(f.qualified_name, f.policy) for f in report.findings if f.code == code}


@dataclass(frozen=True)
class Case:
    code: str
    sql: str
    expected: set[tuple[str, str | None]]
    schemas: tuple[str, ...] = ("public",)

    def __str__(self) -> str:
        return self.code


CASES = [
    Case("rls_disabled", """
        create table public.bad (id int primary key);
        create table public.good_rls (id int primary key);
        alter table public.good_rls enable row level security;
        create table public.good_revoked (id int primary key);
        revoke all on public.good_revoked from anon, authenticated;
        create schema private;
        create table private.good_hidden (id int primary key);
        grant usage on schema private to anon;
        grant select on private.good_hidden to anon;
        -- a partitioned parent without RLS is exposed (splinter only looks at relkind 'r')
        create table public.bad_parent (id int, at date) partition by range (at);
        create table public.bad_parent_2024 partition of public.bad_parent
            for values from ('2024-01-01') to ('2025-01-01');
        -- a partition inherits its parent's exposure: the parent has RLS, the partition is not served by the API
        create table public.good_parent (id int, at date) partition by range (at);
        alter table public.good_parent enable row level security;
        create policy own on public.good_parent for select to authenticated using (true);
        create table public.good_parent_2024 partition of public.good_parent
            for values from ('2024-01-01') to ('2025-01-01');
        grant select, insert, update, delete on public.bad, public.good_rls, public.bad_parent,
            public.bad_parent_2024, public.good_parent, public.good_parent_2024 to anon, authenticated;
    """, {("public.bad", None), ("public.bad_parent", None)}),
    Case("sensitive_columns_exposed", """
        create table public.bad (id int, password_hash text, phone_number text);
        create table public.good (id int, password_hash text);
        alter table public.good enable row level security;
        create table public.good_plain (id int, passenger text, tokenizer_name text);
        grant select on public.bad, public.good, public.good_plain to anon, authenticated;
    """, {("public.bad", None)}),
    Case("rls_no_policy", """
        create table public.bad (id int);
        alter table public.bad enable row level security;
        create table public.good (id int);
        alter table public.good enable row level security;
        create policy p on public.good for select to authenticated using ((select auth.uid()) is not null);
    """, {("public.bad", None)}),
    Case("policy_rls_disabled", """
        create table public.bad (id int);
        create policy p on public.bad for select to authenticated using (true);
        create table public.good (id int);
        alter table public.good enable row level security;
        create policy p on public.good for select to authenticated using (true);
    """, {("public.bad", "p")}),
    Case("api_role_bypasses_rls", """
        create table public.bad (id int);
        alter table public.bad enable row level security;
        alter table public.bad owner to authenticated;
        create table public.good (id int);
        alter table public.good enable row level security;
        alter table public.good force row level security;
        alter table public.good owner to authenticated;
    """, {("public.bad", None)}),
    Case("policy_always_true", """
        create table public.t (id int, owner uuid);
        alter table public.t enable row level security;
        create policy bad_update on public.t for update to authenticated using (true);
        create policy bad_anon_read on public.t for select to anon using (1 = 1);
        create policy bad_insert on public.t for insert to public with check ('a'::text = 'a'::text);
        create policy good_signed_in_read on public.t for select to authenticated using (true);
        create policy good_check_only on public.t for update to anon with check (true);
        create policy good_own on public.t for delete to authenticated using (owner = (select auth.uid()));
        grant select, insert, update, delete on public.t to anon, authenticated;
        create table public.no_grant (id int);
        alter table public.no_grant enable row level security;
        grant select, update, delete on public.no_grant to anon, authenticated;
        create policy good_no_privilege on public.no_grant for insert to anon with check (true);
    """, {("public.t", "bad_update"), ("public.t", "bad_anon_read"), ("public.t", "bad_insert")}),
    Case("policy_null_auth_disjunct", """
        create table public.t (id int, owner uuid);
        alter table public.t enable row level security;
        create policy bad on public.t for select to anon using (auth.uid() is null or owner = auth.uid());
        create policy bad_wrapped on public.t for update to authenticated
            using ((select auth.uid()) is null or owner = (select auth.uid()));
        create policy good on public.t for select to authenticated
            using (auth.uid() is not null and owner = auth.uid());
        create policy good_gated on public.t for delete to authenticated
            using (owner is not null and (auth.uid() is null or owner = auth.uid()));
    """, {("public.t", "bad"), ("public.t", "bad_wrapped")}),
    Case("policy_per_row_auth_call", """
        create table public.members (team int, member uuid);
        create table public.t (id int, owner uuid, team int);
        alter table public.t enable row level security;
        create policy bad on public.t for select to authenticated using (owner = auth.uid());
        create policy bad_correlated on public.t for update to authenticated
            using (exists (select 1 from public.members m where m.team = t.team and m.member = auth.uid()));
        create policy bad_setting on public.t for delete to authenticated
            using (team = current_setting('app.team')::int);
        create policy good on public.t for insert to authenticated with check (owner = (select auth.uid()));
        create policy good_correlated on public.t for select to anon
            using (exists (select 1 from public.members m where m.team = t.team and m.member = (select auth.uid())));
    """, {("public.t", "bad"), ("public.t", "bad_correlated"), ("public.t", "bad_setting")}),
    Case("multiple_permissive_policies", """
        create table public.bad (id int, owner uuid);
        alter table public.bad enable row level security;
        create policy a on public.bad for select to authenticated using (owner = (select auth.uid()));
        create policy b on public.bad for all to public using (id > 10);
        create table public.good (id int, owner uuid);
        alter table public.good enable row level security;
        create policy a on public.good for select to authenticated using (owner = (select auth.uid()));
        create policy b on public.good for select to anon using (id > 10);
        create policy c on public.good as restrictive for select to authenticated using (id > 0);
    """, {("public.bad", "a, b")}),
    Case("policy_user_metadata", """
        create table public.t (id int, user_metadata jsonb);
        alter table public.t enable row level security;
        create policy bad on public.t for select to authenticated
            using (((select auth.jwt()) -> 'user_metadata' ->> 'role') = 'admin');
        create policy bad_users on public.t for delete to authenticated using (exists (
            select 1 from auth.users u where u.id = (select auth.uid()) and u.raw_user_meta_data ->> 'admin' = 'yes'));
        create policy good on public.t for update to authenticated
            using (((select auth.jwt()) -> 'app_metadata' ->> 'role') = 'admin');
        create policy good_column on public.t for insert to authenticated
            with check ((select auth.uid()) is not null and user_metadata is not null);
    """, {("public.t", "bad"), ("public.t", "bad_users")}),
    Case("security_definer_view", """
        create table public.t (id int);
        alter table public.t enable row level security;
        create view public.bad as select id from public.t;
        create view public.good with (security_invoker = true) as select id from public.t;
        create view public.good_revoked as select id from public.t;
        grant select on public.t, public.bad, public.good to anon, authenticated;
    """, {("public.bad", None)}),
    Case("auth_users_exposed", """
        create view public.bad as select id, email from auth.users;
        create view public.good as select id, email from auth.users;
        create view public.good_invoker with (security_invoker = true) as select id from auth.users;
        grant select on public.bad, public.good_invoker to anon, authenticated;
    """, {("public.bad", None)}),
    Case("materialized_view_exposed", """
        create materialized view public.bad as select 1 as x;
        create materialized view public.good as select 1 as x;
        grant select on public.bad to anon, authenticated;
    """, {("public.bad", None)}),
    Case("foreign_table_exposed", """
        create foreign data wrapper sd_test_fdw;
        create server sd_test_server foreign data wrapper sd_test_fdw;
        create foreign table public.bad (id int) server sd_test_server;
        create foreign table public.good (id int) server sd_test_server;
        grant select on public.bad to anon, authenticated;
    """, {("public.bad", None)}),
    Case("function_search_path_mutable", """
        create function public.bad() returns int language sql as 'select 1';
        create function public.good() returns int language sql set search_path = '' as 'select 1';
    """, {("public.bad", None)}),
    Case("security_definer_function_executable", """
        create function public.bad() returns int language sql security definer set search_path = '' as 'select 1';
        create function public.good_trigger() returns trigger language plpgsql security definer
            set search_path = '' as 'begin return new; end';
        create function public.good_revoked() returns int language sql security definer
            set search_path = '' as 'select 1';
        revoke execute on function public.good_revoked() from public, anon, authenticated;
        create schema private;
        grant usage on schema private to anon;
        create function private.good_hidden() returns int language sql security definer
            set search_path = '' as 'select 1';
    """, {("public.bad", None)}),
    Case("extension_in_exposed_schema", """
        create extension citext schema public;
        create extension pg_trgm schema extensions;
    """, {("public.citext", None)}),
    Case("fkey_to_auth_unique", """
        create table public.bad (phone text references auth.users (phone));
        create table public.good (id uuid references auth.users (id));
    """, {("public.bad", None)}),
    Case("queue_exposed", """
        create schema pgmq;
        grant usage on schema pgmq to anon, authenticated;
        create table pgmq.q_jobs (msg_id bigint);
        create table pgmq.q_safe (msg_id bigint);
        alter table pgmq.q_safe enable row level security;
        create table pgmq.meta (queue_name text);
        grant select on all tables in schema pgmq to anon, authenticated;
    """, {("pgmq.q_jobs", None)}, ("public", "pgmq_public")),
    Case("public_bucket_allows_listing", """
        insert into storage.buckets (id, name, public) values
            ('avatars', 'avatars', true), ('private', 'private', false), ('docs', 'docs', true);
        create policy "read avatars" on storage.objects for select to public using (bucket_id = 'avatars');
        create policy "read private" on storage.objects for select to public using (bucket_id = 'private');
        create policy "own docs" on storage.objects for select to authenticated
            using (bucket_id = 'docs' and owner = (select auth.uid()));
    """, {("storage.avatars", "read avatars")}),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_lint_triggers_on_the_bad_fixture_only(db_url: str, case: Case) -> None:
    execute(db_url, case.sql)
    report = verify(db_url, schemas=case.schemas)
    assert flagged(report, case.code) == case.expected


@pytest.fixture
def owner_role(pg_admin_url: str) -> Iterator[str]:
    """A cluster-wide role for ownership tests; dropped after the test's databases (set up first, torn down last)."""
    name = f"sd_owner_{uuid.uuid4().hex[:8]}"
    execute(pg_admin_url, f"create role {name} nologin")
    yield name
    execute(pg_admin_url, f"drop role if exists {name}")


def test_owner_bypasses_rls_where_definer_code_runs_as_the_owner(owner_role: str, db_url: str) -> None:
    execute(db_url, f"""
        grant create, usage on schema public to {owner_role};
        create table public.bad (id int);
        create table public.good (id int);
        alter table public.bad enable row level security;
        alter table public.good enable row level security;
        alter table public.good force row level security;
        alter table public.bad owner to {owner_role};
        alter table public.good owner to {owner_role};
        create function public.count_all() returns bigint language sql security definer set search_path = ''
            as 'select count(*) from public.bad';
        alter function public.count_all() owner to {owner_role};
    """)
    report = verify(db_url)
    assert flagged(report, "owner_bypasses_rls") == {("public.bad", None)}
    [finding] = [f for f in report.findings if f.code == "owner_bypasses_rls"]
    assert finding.level == "info"
    assert "function public.count_all()" in finding.message
    execute(db_url, f"drop owned by {owner_role}")


def test_api_role_with_bypassrls_is_an_error() -> None:
    """Checked on a catalog document: altering the cluster-wide anon role would disturb parallel tests."""
    from supadeploy.rls.catalog import parse_catalog
    from supadeploy.rls.lints import api_role_bypasses_rls

    catalog = parse_catalog({"relations": [], "policies": [], "functions": [], "extensions": [],
                             "foreign_keys_to_auth": [], "public_buckets": [], "exposed_queues": [],
                             "graphql_installed": False,
                             "roles": [[1, "anon", True, True, False], [2, "authenticated", False, False, True]]},
                            ("public",))
    assert [(f.code, f.object, f.level) for f in api_role_bypasses_rls(catalog)] == [
        ("api_role_bypasses_rls", "anon", "error")]


def test_security_definer_view_outside_the_api_is_a_warning(db_url: str) -> None:
    execute(db_url, """
        create schema private;
        grant usage on schema private to anon;
        create table private.t (id int);
        create view private.v as select id from private.t;
        grant select on private.v to anon;
    """)
    findings = [f for f in verify(db_url).findings if f.code == "security_definer_view"]
    assert [(f.qualified_name, f.level) for f in findings] == [("private.v", "warn")]


def test_graphql_exposure_is_info_when_pg_graphql_is_installed() -> None:
    from supadeploy.rls.catalog import parse_catalog
    from supadeploy.rls.lints import graphql_table_exposed

    relation = ["public", "prices", "r", True, False, False, True, "postgres", True, None, False, "s", "s",
                False, False, 28, None, None, None]
    document = {"relations": [relation], "policies": [], "functions": [], "extensions": [],
                "foreign_keys_to_auth": [], "public_buckets": [], "exposed_queues": [], "graphql_installed": True,
                "roles": [[1, "anon", False, True, False], [2, "authenticated", False, False, True]]}
    findings = graphql_table_exposed(parse_catalog(document, ("public",)))
    assert [(f.code, f.level, f.qualified_name, f.splinter) for f in findings] == [
        ("graphql_table_exposed", "info", "public.prices", "0026_pg_graphql_anon_table_exposed")]
    document["graphql_installed"] = False
    assert graphql_table_exposed(parse_catalog(document, ("public",))) == []


def test_catalog_is_one_round_trip_whatever_the_number_of_tables(db_url: str) -> None:
    execute(db_url, "\n".join(
        f"create table public.t{i} (id int, owner uuid); alter table public.t{i} enable row level security;"
        f"create policy p on public.t{i} for select to authenticated using (owner = (select auth.uid()));"
        f"grant select on public.t{i} to authenticated;"
        for i in range(60)))

    class Counting(PostgresTarget):
        calls = 0

        def query(self, sql, params=()):  # type: ignore[no-untyped-def]
            Counting.calls += 1
            return super().query(sql, params)

    target = Counting(db_url)
    try:
        report = run_verify(target, VerifyOptions(schemas=("public",)))
    finally:
        target.close()
    assert Counting.calls == 1
    assert report.counts["tables"] == 60 and report.counts["policies"] == 60
    assert report.findings == []


def test_missing_api_roles_is_a_clear_error() -> None:
    from supadeploy.errors import SupadeployError
    from supadeploy.rls.catalog import parse_catalog

    with pytest.raises(SupadeployError, match="no 'anon' and no 'authenticated' role"):
        parse_catalog({"roles": []}, ("public",))
