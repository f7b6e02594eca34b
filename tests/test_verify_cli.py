"""`supadeploy verify` as users run it: the example project, exit codes, accepted findings, locations, output."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.support.cli import invoke, write_migration

REPO_ROOT = Path(__file__).resolve().parent.parent

OPEN_NOTES = """-- Migration: 001_open_notes
CREATE TABLE public.notes (
    id bigint PRIMARY KEY,
    body text
);

CREATE TABLE public.secrets (id int, api_key text);
ALTER TABLE public.secrets ENABLE ROW LEVEL SECURITY;

GRANT SELECT, INSERT, UPDATE, DELETE ON public.notes, public.secrets TO anon, authenticated;
"""


def run(project: Path, db_url: str, *args: str) -> tuple[int, str, str]:
    outcome = invoke("verify", "--db-url", db_url, "--workdir", str(project), *args)
    return outcome.exit_code, outcome.stdout, outcome.stderr


def push(project: Path, db_url: str) -> None:
    outcome = invoke("push", "--yes", "--db-url", db_url, "--workdir", str(project))
    assert outcome.exit_code == 0, outcome.output


def test_the_example_project_verifies_clean(project_dir: Path, db_url: str) -> None:
    for path in (REPO_ROOT / "supabase" / "migrations").glob("*.sql"):
        shutil.copy(path, project_dir / "supabase" / "migrations" / path.name)
    push(project_dir, db_url)
    code, stdout, _ = run(project_dir, db_url)
    assert code == 0
    assert "No findings." in stdout
    assert "Verified 6 relations in public: 0 errors, 0 warnings, 0 info." in stdout
    outcome = invoke("verify", "--json", "--db-url", db_url, "--workdir", str(project_dir))
    document = outcome.json()
    assert outcome.exit_code == 0 and document["ok"] is True and document["findings"] == []
    matrix = {row["table"]: row["access"] for row in document["matrix"]}
    assert matrix["trades"] == {
        "anon": {"select": "denied", "insert": "denied", "update": "denied", "delete": "denied"},
        "authenticated": {"select": "policy-gated", "insert": "policy-gated", "update": "policy-gated",
                          "delete": "policy-gated"},
    }
    assert matrix["users"]["authenticated"] == {"select": "policy-gated", "insert": "denied",
                                                "update": "policy-gated", "delete": "denied"}
    # security_invoker views: the policies of the tables they read apply
    assert matrix["positions"]["anon"]["select"] == "denied"
    assert matrix["positions"]["authenticated"]["select"] == "policy-gated"
    assert sorted(matrix) == ["pending_rolled_option_jobs", "portfolio_snapshots", "positions",
                              "rolled_options_jobs", "trades", "users"]


def test_findings_fail_the_run_and_point_at_the_migration_line(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_open_notes.sql", OPEN_NOTES)
    push(project_dir, db_url)
    code, stdout, stderr = run(project_dir, db_url)
    assert code == 1
    assert "error   rls_disabled  public.notes" in stdout
    assert ("RLS is disabled on public.notes, which the Data API exposes: anon can SELECT, INSERT, UPDATE, DELETE; "
            "authenticated can SELECT, INSERT, UPDATE, DELETE on every row") in stdout
    assert "fix: ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY" in stdout
    assert "001_open_notes.sql:2" in stdout
    assert "info    rls_no_policy  public.secrets" in stdout
    assert "verify failed: 1 finding(s) at or above 'error'" in stderr

    document = invoke("verify", "--json", "--db-url", db_url, "--workdir", str(project_dir)).json()
    by_code = {f["code"]: f for f in document["findings"]}
    assert set(by_code) == {"rls_disabled", "rls_no_policy"}
    rls = by_code["rls_disabled"]
    assert (rls["level"], rls["schema"], rls["object"], rls["policy"], rls["splinter"], rls["line"]) == (
        "error", "public", "notes", None, "0013_rls_disabled_in_public", 2)
    assert rls["file"].endswith("001_open_notes.sql")
    assert by_code["rls_no_policy"]["line"] == 7
    assert {"code", "level", "schema", "object", "policy", "message", "remediation"} <= set(rls)
    assert document["ok"] is False
    assert set(document) >= {"findings", "matrix", "probes"}


def test_fail_on_levels(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_warn.sql", "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'select 1';")
    push(project_dir, db_url)
    assert run(project_dir, db_url)[0] == 0
    code, _, stderr = run(project_dir, db_url, "--fail-on", "warn")
    assert code == 1 and "1 finding(s) at or above 'warn'" in stderr
    (project_dir / "supadeploy.toml").write_text('[verify]\nfail_on = "warn"\n')
    assert run(project_dir, db_url)[0] == 1
    assert run(project_dir, db_url, "--fail-on", "none")[0] == 0
    code, _, stderr = run(project_dir, db_url, "--fail-on", "sometimes")
    assert code == 2 and "--fail-on must be one of error, warn, none" in stderr


def test_accepted_findings_are_shown_not_hidden(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_open_notes.sql", OPEN_NOTES)
    push(project_dir, db_url)
    (project_dir / "supadeploy.toml").write_text('''
[[verify.accept]]
code = "rls_disabled"
object = "public.notes"
reason = "public bulletin board: everyone may read and write"

[[verify.accept]]
code = "rls_disabled"
object = "public.gone"
reason = "dropped long ago"
''')
    code, stdout, _ = run(project_dir, db_url)
    assert code == 0
    assert "accepted (error) rls_disabled  public.notes" in stdout
    assert "accepted: public bulletin board: everyone may read and write" in stdout
    assert "info    accept_unused  public.gone" in stdout
    document = invoke("verify", "--json", "--db-url", db_url, "--workdir", str(project_dir)).json()
    [accepted] = [f for f in document["findings"] if f["accepted"]]
    assert (accepted["code"], accepted["accepted_reason"]) == (
        "rls_disabled", "public bulletin board: everyone may read and write")
    assert document["summary"]["accepted"] == 1 and document["summary"]["error"] == 0


def test_exposed_schemas_from_flag_and_configuration(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_api.sql", """
CREATE SCHEMA api;
GRANT USAGE ON SCHEMA api TO anon, authenticated;
CREATE TABLE api.orders (id int);
GRANT SELECT ON api.orders TO anon;
""")
    push(project_dir, db_url)
    assert run(project_dir, db_url)[0] == 0
    code, stdout, _ = run(project_dir, db_url, "--schema", "public,api")
    assert code == 1 and "rls_disabled  api.orders" in stdout and "anon can SELECT on every row" in stdout
    (project_dir / "supadeploy.toml").write_text('[verify]\nschemas = ["api"]\n')
    code, stdout, _ = run(project_dir, db_url)
    assert code == 1 and "in public, api:" in stdout


@pytest.mark.parametrize(("toml", "message"), [
    ('[verify]\nschema = ["api"]\n', "supadeploy.toml:2: unknown key 'schema' in [verify]"),
    ('[verify]\nfail_on = "never"\n', "supadeploy.toml:2: 'fail_on' in [verify] must be one of error, warn, none"),
    ('[verify]\nschemas = "api"\n', "supadeploy.toml:2: 'schemas' in [verify] must be a list of schema names"),
    ('[[verify.accept]]\ncode = "rls_off"\nobject = "public.t"\nreason = "x"\n',
     "supadeploy.toml:2: [[verify.accept]] code 'rls_off' is not a verify finding code"),
    ('[[verify.accept]]\ncode = "rls_disabled"\nobject = "public.t"\n',
     "[[verify.accept]] for 'rls_disabled' on public.t needs a reason"),
])
def test_bad_verify_configuration_names_the_line(project_dir: Path, db_url: str, toml: str, message: str) -> None:
    (project_dir / "supadeploy.toml").write_text(toml)
    code, stdout, stderr = run(project_dir, db_url)
    assert code == 1 and stdout == ""
    assert message in stderr


def test_no_password_in_any_output(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_open_notes.sql", OPEN_NOTES)
    push(project_dir, db_url)
    parts = urlsplit(db_url)
    secret = "Sup3r-Secret-pw"
    url = urlunsplit((parts.scheme, f"{parts.username}:{secret}@{parts.hostname}:{parts.port}", parts.path, "", ""))
    for args in ((), ("--json",), ("--write-manifest",)):
        outcome = invoke("verify", "--db-url", url, "--workdir", str(project_dir), *args)
        assert secret not in outcome.output
    document = invoke("verify", "--json", "--db-url", url, "--workdir", str(project_dir)).json()
    assert document["database"].endswith(parts.path) and "****" in document["database"]
    unreachable = f"postgresql://postgres:{secret}@127.0.0.1:1/postgres"
    outcome = invoke("verify", "--json", "--db-url", unreachable, "--workdir", str(project_dir))
    assert outcome.exit_code == 1 and secret not in outcome.output


def test_matrix_as_text_and_markdown(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_open_notes.sql", OPEN_NOTES)
    push(project_dir, db_url)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("create policy p on public.secrets for select to authenticated using ((select auth.uid()) "
                     "is not null and id > 0)")
    summary = project_dir / "summary.md"
    code, stdout, _ = run(project_dir, db_url, "--markdown", str(summary))
    assert code == 1
    assert "public.notes    table    OFF    AAAA  AAAA" in stdout
    assert "public.secrets  table    on     ----  P---" in stdout
    markdown = summary.read_text()
    assert "| Relation | Kind | RLS | anon SELECT | anon INSERT |" in markdown
    assert ("| `public.secrets` | table | on | denied | denied | denied | denied | policy-gated | denied | denied | "
            "denied |") in markdown
    assert "| error | `rls_disabled` | `public.notes` |" in markdown
