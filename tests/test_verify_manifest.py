"""The expected-policy manifest: write it, verify clean, change the database, verify reports exactly that change."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import invoke

REPO_ROOT = Path(__file__).resolve().parent.parent


def execute(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def example(project_dir: Path, db_url: str) -> Path:
    """The example project pushed, and its manifest written from the database."""
    for path in (REPO_ROOT / "supabase" / "migrations").glob("*.sql"):
        shutil.copy(path, project_dir / "supabase" / "migrations" / path.name)
    assert invoke("push", "--yes", "--db-url", db_url, "--workdir", str(project_dir)).exit_code == 0
    written = invoke("verify", "--write-manifest", "--db-url", db_url, "--workdir", str(project_dir))
    assert written.exit_code == 0, written.output
    assert "4 tables, 6 policies" in written.stdout
    return project_dir


def findings(project: Path, db_url: str) -> tuple[int, list[dict[str, object]]]:
    outcome = invoke("verify", "--json", "--db-url", db_url, "--workdir", str(project))
    return outcome.exit_code, outcome.json()["findings"]


def test_manifest_is_sorted_and_keeps_expressions_as_postgres_prints_them(example: Path) -> None:
    text = (example / "supabase" / "policies.toml").read_text()
    tables = [line for line in text.splitlines() if line.startswith("[tables.")]
    assert tables == ["[tables.public.portfolio_snapshots]", "[tables.public.rolled_options_jobs]",
                      "[tables.public.trades]", "[tables.public.users]"]
    assert '''[[tables.public.trades.policies]]
name = "Users can manage own trades"
command = "ALL"
permissive = true
roles = ["authenticated"]
using = "(( SELECT auth.uid() AS uid) = user_id)"
with_check = "(( SELECT auth.uid() AS uid) = user_id)"
''' in text
    users = text[text.index("[tables.public.users]"):]
    assert users.index('"Users can update own profile"') < users.index('"Users can view own profile"')


def test_round_trip_verifies_clean_then_reports_exactly_the_edited_policy(example: Path, db_url: str) -> None:
    assert findings(example, db_url) == (0, [])
    # A policy edited by hand in the dashboard's SQL editor:
    execute(db_url, 'alter policy "Users can view own snapshots" on public.portfolio_snapshots '
                    "to authenticated, anon using (true)")
    code, found = findings(example, db_url)
    assert code == 1
    drift = [f for f in found if str(f["code"]).startswith("manifest_")]
    assert [(f["code"], f["level"], f["schema"], f["object"], f["policy"]) for f in drift] == [
        ("manifest_policy_changed", "error", "public", "portfolio_snapshots", "Users can view own snapshots")]
    assert drift[0]["message"] == (
        'policy "Users can view own snapshots" on public.portfolio_snapshots changed: '
        "roles authenticated -> anon, authenticated; USING (( SELECT auth.uid() AS uid) = user_id) -> true")
    # reported against the migration that created the policy
    source = (example / "supabase" / "migrations" / "003_rls_policies.sql").read_text().splitlines()
    created_at = source.index('CREATE POLICY "Users can view own snapshots" ON public.portfolio_snapshots') + 1
    assert str(drift[0]["file"]).endswith("003_rls_policies.sql") and drift[0]["line"] == created_at
    # the edit names anon, but the example grants the table to authenticated only: nothing opens to anon
    assert {f["code"] for f in found} == {"manifest_policy_changed"}


def test_drift_missing_extra_and_rls_switched_off(example: Path, db_url: str) -> None:
    execute(db_url, """
        drop policy "Users can view own jobs" on public.rolled_options_jobs;
        create policy "Anyone reads trades" on public.trades for select to authenticated
            using ((select auth.uid()) is not null);
        alter table public.users disable row level security;
        create table public.audit_log (id int);
    """)
    code, found = findings(example, db_url)
    assert code == 1
    drift = {(f["code"], f["level"], f"{f['schema']}.{f['object']}", f["policy"]) for f in found
             if str(f["code"]).startswith("manifest_")}
    assert drift == {
        ("manifest_policy_missing", "error", "public.rolled_options_jobs", "Users can view own jobs"),
        ("manifest_policy_extra", "error", "public.trades", "Anyone reads trades"),
        ("manifest_rls_changed", "error", "public.users", None),
        ("manifest_table_unlisted", "warn", "public.audit_log", None),
    }


def test_rewriting_keeps_probes_and_is_deterministic(example: Path, db_url: str) -> None:
    manifest = example / "supabase" / "policies.toml"
    probes = '''
[[probes]]
# a comment the user wrote
name = "anon reads no trades"
role = "anon"
query = "select * from public.trades"
expect_error = "42501"
'''
    manifest.write_text(manifest.read_text() + probes)
    before = manifest.read_text()
    assert invoke("verify", "--write-manifest", "--db-url", db_url, "--workdir", str(example)).exit_code == 0
    assert manifest.read_text() == before
    execute(db_url, "drop policy \"Users can view own jobs\" on public.rolled_options_jobs")
    assert invoke("verify", "--write-manifest", "--db-url", db_url, "--workdir", str(example)).exit_code == 0
    after = manifest.read_text()
    assert '"Users can view own jobs"' not in after
    assert after.endswith(probes)
    outcome = invoke("verify", "--db-url", db_url, "--workdir", str(example))
    assert outcome.exit_code == 0
    assert "pass  anon reads no trades (as anon): error 42501" in outcome.stdout


def test_a_broken_manifest_is_refused_with_its_line(project_dir: Path, db_url: str) -> None:
    manifest = project_dir / "supabase" / "policies.toml"
    manifest.write_text('version = 1\n\n[tables.public.t]\nrls = true\n\n[[tables.public.t.policies]]\n'
                        'name = "p"\ncommand = "SELEKT"\n')
    outcome = invoke("verify", "--db-url", db_url, "--workdir", str(project_dir))
    assert outcome.exit_code == 1
    assert 'policies.toml:8: policy "p" of public.t: command must be one of ALL, SELECT' in outcome.stderr
    manifest.write_text("version = 1\n[tables.public.t\n")
    outcome = invoke("verify", "--db-url", db_url, "--workdir", str(project_dir))
    assert outcome.exit_code == 1 and "policies.toml:2:" in outcome.stderr and "invalid TOML" in outcome.stderr
