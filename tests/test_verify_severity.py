"""verify rates a finding by what anon or a signed-in user can really do (issue 13, part 2).

Each case builds the hole on a real Supabase-shaped database, shows the harm as anon / authenticated, and
asserts the exact finding (code, level), `supadeploy verify --json` (exit code, ok) and that an accepted
finding with a reason passes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import psycopg
import pytest

from supadeploy.rls.verify import VerifyOptions, run_verify
from supadeploy.targets.postgres import PostgresTarget
from tests.support.cli import invoke

USER_A = "00000000-0000-0000-0000-0000000000a1"
USER_B = "00000000-0000-0000-0000-0000000000b2"
ALWAYS_TRUE_VARIANTS = [
    "coalesce(true, false)", "true is true", "(select true)", "exists (select 1)", "2 > 1", "nullif(1, 2) = 1",
    "current_user = current_user", "length('x') = 1",
]


def execute(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def as_role(url: str, role: str, sql: str, sub: str | None = None) -> list[tuple[Any, ...]]:
    """Run ``sql`` the way PostgREST does for ``role`` (rolled back)."""
    with psycopg.connect(url) as conn:
        conn.execute("select set_config('request.jwt.claims', %s, true)",
                     [f'{{"role": "{role}"' + (f', "sub": "{sub}"' if sub else "") + "}"])
        conn.execute(f"set local role {role}")
        cursor = conn.execute(sql)
        rows = cursor.fetchall() if cursor.description else [(cursor.rowcount,)]
        conn.rollback()
        return rows


def verify_json(project: Path, url: str, *args: str) -> tuple[int, dict[str, Any]]:
    outcome = invoke("verify", "--json", "--db-url", url, "--workdir", str(project), *args)
    return outcome.exit_code, outcome.json()


def found(document: dict[str, Any], code: str) -> list[tuple[str, str | None, str]]:
    return sorted((f"{f['schema']}.{f['object']}", f["policy"], f["level"])
                  for f in document["findings"] if f["code"] == code)


def accept(project: Path, code: str, name: str, reason: str, policy: str | None = None) -> None:
    lines = ["[[verify.accept]]", f'code = "{code}"', f'object = "{name}"', f'reason = "{reason}"']
    if policy:
        lines.append(f'policy = "{policy}"')
    with (project / "supadeploy.toml").open("a", encoding="utf-8") as stream:
        stream.write("\n".join(lines) + "\n\n")


def seed_users(url: str) -> None:
    execute(url, f"insert into auth.users (id, email) values ('{USER_A}', 'a@example.com'), "
                 f"('{USER_B}', 'b@example.com')")


def test_security_definer_function_returning_auth_users_to_anon_is_an_error(project_dir: Path, db_url: str) -> None:
    seed_users(db_url)
    execute(db_url, """
        create function public.all_users() returns setof auth.users language sql security definer
            set search_path = '' as 'select * from auth.users';
        create function public.server_time() returns timestamptz language sql security definer
            set search_path = '' as 'select now()';
    """)
    assert len(as_role(db_url, "anon", "select email from public.all_users()")) == 2  # the harm is real

    code, document = verify_json(project_dir, db_url)
    assert found(document, "security_definer_function_executable") == [
        ("public.all_users", None, "error"), ("public.server_time", None, "warn")]
    [finding] = [f for f in document["findings"] if f["object"] == "all_users"]
    assert "it returns or reads auth.users: callers get those rows without their policies or grants" \
        in finding["message"]
    assert code == 1 and document["ok"] is False

    accept(project_dir, "security_definer_function_executable", "public.all_users", "admin console only")
    code, document = verify_json(project_dir, db_url)
    assert code == 0 and document["ok"] is True


def test_security_definer_function_reading_an_rls_table_is_an_error(db_url: str) -> None:
    execute(db_url, """
        create table public.notes (id int, owner uuid, body text);
        alter table public.notes enable row level security;
        create policy own on public.notes for select to authenticated using ((select auth.uid()) = owner);
        grant select on public.notes to authenticated;
        create function public.count_notes() returns bigint language plpgsql security definer
            set search_path = public as $$
        declare
            total bigint;
        begin
            total := (select count(*) from notes);
            return total;
        end $$;
        revoke execute on function public.count_notes() from public, anon;
        grant execute on function public.count_notes() to authenticated;
    """)
    execute(db_url, "insert into public.notes values (1, gen_random_uuid(), 'not yours')")
    assert as_role(db_url, "authenticated", "select public.count_notes()", sub=USER_A) == [(1,)]
    assert as_role(db_url, "authenticated", "select count(*) from public.notes", sub=USER_A) == [(0,)]
    findings = [f for f in _verify(db_url) if f.code == "security_definer_function_executable"]
    assert [(f.qualified_name, f.level) for f in findings] == [("public.count_notes", "error")]
    assert "authenticated can call it" in findings[0].message and "public.notes" in findings[0].message


def test_anon_reading_every_row_with_personal_columns_is_an_error(project_dir: Path, db_url: str) -> None:
    execute(db_url, """
        create table public.profiles (id uuid primary key, email text, display_name text);
        alter table public.profiles enable row level security;
        create policy "Profiles are public" on public.profiles for select to anon using (true);
        create table public.prices (id int primary key, product text, amount numeric);
        alter table public.prices enable row level security;
        create policy "Prices are public" on public.prices for select to anon using (true);
        grant select on public.profiles, public.prices to anon;
    """)
    execute(db_url, f"insert into public.profiles values ('{USER_A}', 'a@example.com', 'A')")
    assert as_role(db_url, "anon", "select email from public.profiles") == [("a@example.com",)]

    code, document = verify_json(project_dir, db_url)
    assert found(document, "policy_always_true") == [
        ("public.prices", "Prices are public", "warn"), ("public.profiles", "Profiles are public", "error")]
    [profiles] = [f for f in document["findings"] if f["object"] == "profiles"]
    assert profiles["message"] == ('policy "Profiles are public" on public.profiles has no condition on the row: '
                                   "anon can SELECT every row; its columns email look personal or secret")
    assert code == 1 and document["ok"] is False

    # a catalog read stays a warning; both can be accepted with a reason
    accept(project_dir, "policy_always_true", "public.profiles", "public directory, e-mails are published",
           policy="Profiles are public")
    code, document = verify_json(project_dir, db_url)
    assert code == 0 and document["ok"] is True and document["summary"]["warn"] == 1

    # the remediation works: without the column grant, anon reads no personal column
    execute(db_url, "revoke select on public.profiles from anon; grant select (id, display_name) on public.profiles "
                    "to anon")
    (project_dir / "supadeploy.toml").unlink()
    code, document = verify_json(project_dir, db_url)
    assert found(document, "policy_always_true")[1] == ("public.profiles", "Profiles are public", "warn")
    assert code == 0


def test_team_listed_sensitive_columns(project_dir: Path, db_url: str) -> None:
    execute(db_url, """
        create table public.players (id int, nickname text, score int);
        alter table public.players enable row level security;
        create policy everyone on public.players for select to anon using (true);
        grant select on public.players to anon;
    """)
    assert found(verify_json(project_dir, db_url)[1], "policy_always_true") == [("public.players", "everyone", "warn")]
    (project_dir / "supadeploy.toml").write_text('[verify]\nsensitive_columns = ["Nickname"]\n')
    code, document = verify_json(project_dir, db_url)
    assert found(document, "policy_always_true") == [("public.players", "everyone", "error")]
    assert code == 1


def test_anon_rewriting_every_row_is_an_error(project_dir: Path, db_url: str) -> None:
    execute(db_url, """
        create table public.posts (id int primary key, title text);
        alter table public.posts enable row level security;
        create policy "anyone" on public.posts for all to anon using (true) with check (true);
        grant select, insert, update, delete on public.posts to anon;
        insert into public.posts values (1, 'mine'), (2, 'yours');
    """)
    assert as_role(db_url, "anon", "update public.posts set title = 'defaced'") == [(2,)]
    assert as_role(db_url, "anon", "delete from public.posts") == [(2,)]

    code, document = verify_json(project_dir, db_url)
    assert found(document, "policy_always_true") == [("public.posts", "anyone", "error")]
    [finding] = [f for f in document["findings"] if f["code"] == "policy_always_true"]
    assert finding["message"] == ('policy "anyone" on public.posts has no condition on the row: anon can SELECT; '
                                  "anon can INSERT; anon can UPDATE; anon can DELETE every row")
    matrix = {row["table"]: row["access"] for row in document["matrix"]}
    assert set(matrix["posts"]["anon"].values()) == {"allowed"}
    assert code == 1 and document["ok"] is False

    accept(project_dir, "policy_always_true", "public.posts", "scratch table, reset nightly")
    assert verify_json(project_dir, db_url)[0] == 0


def test_every_signed_in_user_rewriting_every_row_is_an_error(project_dir: Path, db_url: str) -> None:
    execute(db_url, """
        create table public.docs (id int primary key, owner uuid, body text);
        alter table public.docs enable row level security;
        create policy signed_in on public.docs for all to authenticated using ((select auth.uid()) is not null);
        create policy own on public.docs for delete to authenticated using ((select auth.uid()) = owner);
        grant select, insert, update, delete on public.docs to authenticated;
    """)
    execute(db_url, f"insert into public.docs values (1, '{USER_A}', 'a'), (2, '{USER_B}', 'b')")
    assert as_role(db_url, "authenticated", "delete from public.docs", sub=USER_A) == [(2,)]

    code, document = verify_json(project_dir, db_url)
    assert found(document, "policy_always_true") == [("public.docs", "signed_in", "error")]
    [finding] = [f for f in document["findings"] if f["code"] == "policy_always_true"]
    assert finding["message"] == (
        'policy "signed_in" on public.docs has no condition on the row: every signed-in user (authenticated) can '
        "INSERT; every signed-in user (authenticated) can UPDATE; every signed-in user (authenticated) can DELETE "
        "every row")
    matrix = {row["table"]: row["access"] for row in document["matrix"]}
    assert matrix["docs"]["authenticated"] == {"select": "allowed", "insert": "allowed", "update": "allowed",
                                               "delete": "allowed"}
    assert code == 1


@pytest.mark.parametrize("expression", ALWAYS_TRUE_VARIANTS)
def test_row_independent_expressions_are_evaluated(expression: str, make_db: Any) -> None:
    url = make_db()
    execute(url, f"""
        create table public.t (id int, owner uuid);
        alter table public.t enable row level security;
        create policy p on public.t for delete to anon using ({expression});
        grant delete on public.t to anon;
    """)
    findings = [f for f in _verify(url) if f.code == "policy_always_true"]
    assert [(f.policy, f.level) for f in findings] == [("p", "error")]


def test_evaluation_is_one_round_trip_and_never_runs_volatile_or_request_dependent_code(db_url: str) -> None:
    policies = [f"create policy v{index} on public.t for delete to anon using ({expression});"
                for index, expression in enumerate(ALWAYS_TRUE_VARIANTS)]
    execute(db_url, f"""
        create table public.t (id int, owner uuid);
        alter table public.t enable row level security;
        {' '.join(policies)}
        grant update, delete on public.t to anon;
        create table public.calls (n int);
        grant insert on public.calls to anon;
        create function public.counted() returns boolean language sql volatile
            as 'insert into public.calls values (1) returning true';
        create function public.is_open() returns boolean language sql stable as 'select true';
        create policy volatile_call on public.t for update to anon using (public.counted());
        create policy random_call on public.t for update to anon using (random() < 2);
        create policy project_stable on public.t for update to anon using (public.is_open());
        create policy as_postgres on public.t for update to anon using (current_user = 'postgres');
        create policy request_setting on public.t for update to anon
            using (current_setting('request.jwt.claims', true) is null);
        create policy failing on public.t for update to anon using (1 / 0 = 1);
        create policy per_row on public.t for update to anon using (id > 0);
    """)

    class Counting(PostgresTarget):
        scripts: ClassVar[list[str]] = []

        def query_rolled_back(self, script: str) -> list[tuple[Any, ...]]:
            Counting.scripts.append(script)
            return super().query_rolled_back(script)

    target = Counting(db_url)
    try:
        report = run_verify(target, VerifyOptions(schemas=("public",)))
    finally:
        target.close()
    assert len(Counting.scripts) == 1 and "per_row" not in Counting.scripts[0]
    # public.counted() and random() < 2 would be true if they were run; as anon, current_user is not postgres
    flagged = sorted(f.policy or "" for f in report.findings if f.code == "policy_always_true")
    assert flagged == [f"v{index}" for index in range(len(ALWAYS_TRUE_VARIANTS))]


def test_exposed_schemas_come_from_supabase_config(project_dir: Path, db_url: str) -> None:
    execute(db_url, """
        create schema api;
        grant usage on schema api to anon, authenticated;
        create table api.orders (id int, customer_email text);
        grant all on api.orders to anon;
    """)
    assert verify_json(project_dir, db_url)[0] == 0  # no supabase/config.toml: public only
    (project_dir / "supabase" / "config.toml").write_text('project_id = "x"\n\n[api]\nschemas = ["public", "api"]\n')
    code, document = verify_json(project_dir, db_url)
    assert document["schemas"] == ["public", "api"]
    assert found(document, "rls_disabled") == [("api.orders", None, "error")]
    assert found(document, "sensitive_columns_exposed") == [("api.orders", None, "error")]
    assert code == 1 and document["ok"] is False
    # [verify] schemas and --schema add to what PostgREST serves
    (project_dir / "supadeploy.toml").write_text('[verify]\nschemas = ["extra"]\n')
    assert verify_json(project_dir, db_url, "--schema", "other")[1]["schemas"] == ["public", "api", "extra", "other"]
    (project_dir / "supabase" / "config.toml").write_text("[api]\nenabled = true\n")
    assert verify_json(project_dir, db_url)[1]["schemas"] == ["public", "graphql_public", "extra"]
    (project_dir / "supabase" / "config.toml").write_text('[api]\nschemas = "api"\n')
    outcome = invoke("verify", "--json", "--db-url", db_url, "--workdir", str(project_dir))
    assert outcome.exit_code == 1 and "config.toml:2: [api] schemas must be a list of schema names" in outcome.output


UNREACHABLE = "postgresql://postgres@127.0.0.1:1/nothing"


@pytest.mark.parametrize(("toml", "message"), [
    ('[verify]\nfail_on = "warn"\nschema = ["api"]\n', "supadeploy.toml:3: unknown key 'schema' in [verify]"),
    ('[verify]\nfail_on = "sometimes"\n', "supadeploy.toml:2: 'fail_on' in [verify] must be one of error, warn, none"),
    ('[verify]\nmanifest = 3\n', "supadeploy.toml:2: 'manifest' in [verify] must be a path"),
    ('[verify]\nsensitive_columns = "email"\n',
     "supadeploy.toml:2: 'sensitive_columns' in [verify] must be a list of column names"),
    ('[[verify.accept]]\ncode = "rls_disabled"\nobject = "public.a"\nreason = "ok"\n\n'
     '[[verify.accept]]\nobject = "public.t"\nreason = "x"\n',
     "supadeploy.toml:6: [[verify.accept]] needs a code"),
    ('[[verify.accept]]\ncode = "rls_disabled"\nobject = "public.a"\nreason = "ok"\n\n'
     '[[verify.accept]]\ncode = "rls_off"\nobject = "public.t"\nreason = "x"\n',
     "supadeploy.toml:7: [[verify.accept]] code 'rls_off' is not a verify finding code"),
    ('[[verify.accept]]\ncode = "rls_disabled"\nreason = "x"\n',
     "supadeploy.toml:1: [[verify.accept]] for 'rls_disabled' needs an object"),
    ('[[verify.accept]]\ncode = "rls_disabled"\nobject = "public.t"\nreason = " "\n',
     "supadeploy.toml:4: [[verify.accept]] for 'rls_disabled' on public.t needs a reason"),
    ('[[verify.accept]]\ncode = "rls_disabled"\nobject = "public.t"\nreason = "x"\nwhy = "y"\n',
     "supadeploy.toml:5: unknown key 'why' in [[verify.accept]]"),
])
def test_bad_verify_configuration_is_refused_before_connecting(project_dir: Path, toml: str, message: str) -> None:
    (project_dir / "supadeploy.toml").write_text(toml)
    outcome = invoke("verify", "--json", "--db-url", UNREACHABLE, "--workdir", str(project_dir))
    assert outcome.exit_code == 1
    error = outcome.json()["error"]
    where, what = message.split(": ", 1)
    assert (error["type"], error["message"]) == ("ConfigError", what) and error["where"].endswith("/" + where)
    assert "Traceback" not in outcome.output and "127.0.0.1:1" not in outcome.output
    text = invoke("verify", "--db-url", UNREACHABLE, "--workdir", str(project_dir))
    assert text.exit_code == 1 and message in text.stderr and text.stdout == ""


def _verify(url: str) -> list[Any]:
    target = PostgresTarget(url)
    try:
        return run_verify(target, VerifyOptions(schemas=("public",))).findings
    finally:
        target.close()
