"""Pure parts of verify: policy expressions as Postgres prints them, migration locations, the manifest writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from supadeploy import toml_files
from supadeploy.migrations.files import read_migration
from supadeploy.rls import expressions
from supadeploy.rls.findings import Finding
from supadeploy.rls.locate import locate
from supadeploy.rls.manifest import ExpectedPolicy, ExpectedTable, kept_probes_text, manifest_text


@pytest.mark.parametrize(("expression", "expected"), [
    ("true", True),
    ("(1 = 1)", True),
    ("('a'::text = 'a'::text)", True),
    ("((auth.uid() IS NULL) OR true)", True),
    ("(true AND (2 = 2))", True),
    ("NOT false", True),
    (None, False),
    ("(owner = auth.uid())", False),
    ("(x = x)", False),  # a column: NULL for NULL rows, not a tautology we can be sure of
    ("(NULL::integer = NULL::integer)", False),
    ("(1 = 2)", False),
    ("(true AND (owner = ( SELECT auth.uid() AS uid)))", False),
])
def test_always_true(expression: str | None, expected: bool) -> None:
    assert expressions.is_always_true(expression) is expected


@pytest.mark.parametrize(("expression", "expected"), [
    ("(( SELECT auth.uid() AS uid) IS NOT NULL)", True),
    ("(auth.uid() IS NOT NULL)", True),
    ("(NOT (auth.uid() IS NULL))", True),
    ("(auth.role() = 'authenticated'::text)", True),
    ("((auth.jwt() IS NOT NULL) AND true)", True),
    ("((auth.uid() IS NOT NULL) AND (owner = auth.uid()))", False),
    ("(auth.uid() = owner)", False),
    ("(auth.role() = 'service_role'::text)", False),
    (None, False),
])
def test_true_for_every_signed_in_user(expression: str | None, expected: bool) -> None:
    assert expressions.true_for_every_signed_in_user(expression) is expected


@pytest.mark.parametrize(("expression", "evaluable"), [
    ("COALESCE(true, false)", True),
    ("(EXISTS ( SELECT 1))", True),
    ("(length('x'::text) = 1)", True),
    ("(CURRENT_USER = CURRENT_USER)", True),
    ("(2 BETWEEN 1 AND 3)", True),
    ("(id > 0)", False),  # a column of the row
    ("(EXISTS ( SELECT 1 FROM public.admins))", False),  # a table: data, not a constant
    ("(( SELECT auth.uid() AS uid) IS NOT NULL)", False),  # the request
    ("(current_setting('request.jwt.claims'::text, true) IS NULL)", False),
    ("(true) ; DROP TABLE x; SELECT (true", False),  # not one expression
    ("(1 = ", False),
])
def test_constant_candidates(expression: str, evaluable: bool) -> None:
    from supadeploy.rls.constant_expressions import candidate

    assert (candidate(expression) is not None) is evaluable


def test_function_reads() -> None:
    from supadeploy.rls.catalog import DefinerBody
    from supadeploy.rls.function_reads import relations_read

    plpgsql = """
    declare total bigint; r record;
    begin
      total := (select count(*) from notes);
      select email into r from auth.users limit 1;
      if exists (select 1 from private.members) then return total; end if;
      execute 'select count(*) from public.secrets' into total;
      return total;
    end"""
    assert relations_read(DefinerBody("plpgsql", plpgsql, '"", public', None)) == {
        "public.notes", "auth.users", "private.members", "public.secrets"}
    assert relations_read(DefinerBody("sql", "select * from profiles p join auth.users u using (id)", None, None)) \
        == {"public.profiles", "auth.users"}
    # a language without a parser: the schema.name words of its body
    assert relations_read(DefinerBody("plv8", "return plv8.execute('select * from auth.users')", None, None)) \
        >= {"auth.users"}


@pytest.mark.parametrize(("expression", "calls"), [
    ("(( SELECT auth.uid() AS uid) = owner)", []),
    ("(owner = auth.uid())", ["auth.uid()"]),
    ("((auth.jwt() ->> 'role'::text) = 'admin'::text)", ["auth.jwt()"]),
    ("(( SELECT (auth.jwt() ->> 'role'::text)) = 'admin'::text)", []),
    ("(EXISTS ( SELECT 1 FROM m WHERE (m.u = auth.uid())))", ["auth.uid()"]),
    ("(EXISTS ( SELECT 1 FROM m WHERE (m.u = ( SELECT auth.uid() AS uid))))", []),
    ("((current_setting('app.tenant'::text))::uuid = tenant)", ["current_setting()"]),
    ("(tenant = (( SELECT current_setting('app.tenant'::text) AS current_setting))::uuid)", []),
    ("((auth.role() = 'authenticated'::text) AND (auth.email() ~~ '%@example.com'::text))",
     ["auth.role()", "auth.email()"]),
    ("(extract(epoch FROM now()) > (0)::numeric)", []),
    ("('auth.uid()'::text = body)", []),  # in a string literal
])
def test_per_row_calls(expression: str, calls: list[str]) -> None:
    assert expressions.per_row_calls(expression) == calls


@pytest.mark.parametrize(("expression", "expected"), [
    ("((auth.uid() IS NULL) OR (owner = auth.uid()))", True),
    ("((( SELECT auth.uid() AS uid) IS NULL) OR (owner = ( SELECT auth.uid() AS uid)))", True),
    ("((current_setting('request.jwt.claims'::text, true) IS NULL) OR (a = 1))", True),
    ("(NOT (auth.uid() IS NOT NULL) OR (a = 1))", True),
    ("(((auth.jwt() ->> 'sub'::text) IS NULL) OR (a = 1))", True),
    ("((auth.uid() IS NOT NULL) AND ((auth.uid() IS NULL) OR (a = 1)))", False),
    ("((current_setting('request.jwt.claims'::text) IS NULL) OR (a = 1))", False),  # raises when unset
    ("((owner IS NULL) OR (owner = auth.uid()))", False),
    ("(auth.uid() IS NULL)", False),  # no OR: denies signed-in users, lets anon through; not this lint
])
def test_null_auth_disjunct(expression: str, expected: bool) -> None:
    assert expressions.null_auth_disjuncts(expression) is expected


@pytest.mark.parametrize(("expression", "expected"), [
    ("((((auth.jwt() -> 'user_metadata'::text) ->> 'role'::text)) = 'admin'::text)", True),
    ("((auth.jwt() #>> '{user_metadata,role}'::text[]) = 'admin'::text)", True),
    ("(((current_setting('request.jwt.claims'::text, true))::jsonb -> 'user_metadata'::text) IS NOT NULL)", True),
    ("(EXISTS ( SELECT 1 FROM auth.users u WHERE ((u.raw_user_meta_data ->> 'x'::text) = 'y'::text)))", True),
    ("(((auth.jwt() -> 'app_metadata'::text) ->> 'role'::text) = 'admin'::text)", False),
    ("((auth.jwt() ->> 'sub'::text) = (user_metadata ->> 'owner'::text))", False),  # a column of the table
])
def test_user_metadata(expression: str, expected: bool) -> None:
    assert expressions.trusts_user_metadata(expression) is expected


def _finding(code: str, schema: str, name: str, object_type: str = "table", policy: str | None = None) -> Finding:
    return Finding(code=code, level="error", schema=schema, object=name, message="m", remediation="r",
                   object_type=object_type, policy=policy)


def test_locate_points_at_the_last_creation(tmp_path: Path) -> None:
    first = tmp_path / "001_init.sql"
    first.write_text("""-- Migration: 001_init
-- CREATE TABLE public.commented (id int);
CREATE TABLE IF NOT EXISTS "Mixed Case" (id int);

create or replace function public.f() returns int
language sql as $$ select 1 $$;

DO $$
BEGIN
    IF to_regclass('public.made_in_do') IS NULL THEN
        CREATE TABLE public.made_in_do (id int);
    END IF;
END
$$;

CREATE FUNCTION public.g() RETURNS void LANGUAGE plpgsql AS $body$
BEGIN
    CREATE TEMP TABLE in_body (id int);
END
$body$;
CREATE POLICY "own rows" ON made_in_do FOR SELECT USING (true);
""")
    second = tmp_path / "002_again.sql"
    second.write_text("""
CREATE OR REPLACE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'select 2';
DROP POLICY "own rows" ON public.made_in_do;
CREATE POLICY "own rows"
    ON public.made_in_do FOR SELECT USING (id > 0);
""")
    migrations = [read_migration(first, "001", "init"), read_migration(second, "002", "again")]
    findings = [
        _finding("rls_disabled", "public", "Mixed Case"),
        _finding("rls_disabled", "public", "made_in_do"),
        _finding("function_search_path_mutable", "public", "f", "function"),
        _finding("policy_always_true", "public", "made_in_do", policy="own rows"),
        _finding("rls_disabled", "public", "commented"),
        _finding("rls_disabled", "public", "in_body"),
    ]
    locate(findings, migrations)
    assert [(Path(f.file).name if f.file else None, f.line) for f in findings] == [
        ("001_init.sql", 3), ("001_init.sql", 11), ("002_again.sql", 2), ("002_again.sql", 4),
        (None, None), (None, None),
    ]


def test_manifest_text_quotes_what_toml_needs() -> None:
    table = ExpectedTable(schema="public", name="Mixed Case", rls=True, force_rls=False, policies={
        'say "hi"': ExpectedPolicy(name='say "hi"', command="SELECT", permissive=False, roles=("anon",),
                                   using="(body = 'a\\b'::text)", with_check=None)})
    text = manifest_text({"public.Mixed Case": table})
    assert '[tables.public."Mixed Case"]' in text
    assert 'name = "say \\"hi\\""' in text and "permissive = false" in text
    assert "using = \"(body = 'a\\\\b'::text)\"" in text
    document = toml_files.loads(text)
    assert document["tables"]["public"]["Mixed Case"]["policies"][0]["using"] == "(body = 'a\\b'::text)"


def test_kept_probes_text_starts_at_the_first_probe() -> None:
    assert kept_probes_text("version = 1\n") is None
    kept = kept_probes_text('version = 1\n\n[[probes]]\nname = "x"\n')
    assert kept is not None and kept.endswith('[[probes]]\nname = "x"\n')


MANIFEST_TEXTS = [
    '[tables.public."we\\"ird"]\nrls = true\n[[tables.public."we\\"ird".policies]]\nname = "a\\u00e9\\n"\nroles = []\n',
    'version = 1\nx = "a\\/b"\n',  # an escape JSON has and TOML has not
    'a = "x" # comment\n', "a = 01\n", "a = 'literal'\n", "[tables.a.b]\n[tables.a.b]\n", 'a = "\\ud800"\n',
    'version = 1\n\n[[probes]]\nname="x"\n', "[tables.a.b]\npolicies = []\n[[tables.a.b.policies]]\n",
    '[[tables.a.b.policies]]\nname = "x"\n[tables.a.b]\nrls = true\n',
    '[[tables.a.b.policies]]\nname = "x"\n[tables.a.b]\npolicies = 1\n',
    'version = 1\n[tables.a.b]\nrls = true\n[[probes]]\nname = "p"\n[tables.c.d]\nrls = false\n',
    "[tables.a.b]\nrls = true\nrls = false\n", "[tables.a.b]\nrls = tru\n", 'a = ["x", "y"]\nb = ["x",]\n',
]


@pytest.mark.parametrize("text", MANIFEST_TEXTS)
def test_fast_manifest_reader_agrees_with_tomllib(text: str) -> None:
    from supadeploy.rls import manifest_toml

    try:
        expected: object = toml_files.loads(text)
    except toml_files.TOMLDecodeError as error:
        expected = str(error)
    try:
        got: object = manifest_toml.loads(text)
    except toml_files.TOMLDecodeError as error:
        got = str(error)
    assert got == expected


def test_fast_manifest_reader_reads_what_the_writer_writes() -> None:
    from supadeploy.rls import manifest_toml

    tables = {
        f"public.t{i}": ExpectedTable(schema="public", name=f"t{i}", rls=i % 2 == 0, force_rls=False, policies={
            f"p{j}": ExpectedPolicy(name=f"p{j}", command="ALL", permissive=True, roles=("anon", "authenticated"),
                                    using=f"(( SELECT auth.uid() AS uid) = owner_{j})", with_check="(\t'é\\')")
            for j in range(3)})
        for i in range(50)
    }
    text = manifest_text(tables)
    assert manifest_toml.loads(text) == toml_files.loads(text)
    assert manifest_toml._tables_part(text)  # the writer's output takes the fast path
