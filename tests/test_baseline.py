"""supadeploy baseline: adopt a database whose migrations were pasted into the SQL editor by hand."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg

from supadeploy.migrations.splitter import split_statements
from tests.conftest import REPO_ROOT
from tests.support.cli import invoke
from tests.support.inspect import history_rows
from tests.test_shadow import shadow_databases

EXAMPLE = REPO_ROOT / "supabase" / "migrations"


def copy_example(project: Path) -> list[Path]:
    files = sorted(EXAMPLE.glob("*.sql"))
    for source in files:
        shutil.copy(source, project / "supabase" / "migrations" / source.name)
    return files


def paste_by_hand(url: str, files: list[Path], extra_sql: str = "") -> None:
    """The dashboard copy-paste method: each file's text run as one script, no history written."""
    with psycopg.connect(url, autocommit=True) as connection:
        for path in files:
            connection.execute(path.read_text(encoding="utf-8").encode())
        if extra_sql:
            connection.execute(extra_sql.encode())


def baseline(project: Path, url: str, admin_url: str, *extra: str):  # type: ignore[no-untyped-def]
    return invoke("baseline", "--workdir", str(project), "--db-url", url, "--shadow-url", admin_url, *extra)


def test_matching_database_is_adopted(project_dir: Path, db_url: str, pg_admin_url: str) -> None:
    files = copy_example(project_dir)
    paste_by_hand(db_url, files)
    before = shadow_databases(pg_admin_url)
    outcome = baseline(project_dir, db_url, pg_admin_url, "--to", "005")
    assert outcome.exit_code == 0, outcome.output
    assert "the live schema matches the migrations" in outcome.stdout
    assert "recorded as applied: 001, 002, 003, 004, 005" in outcome.stdout
    expected = [(p.stem.split("_", 1)[0], p.stem.split("_", 1)[1],
                 [s.text for s in split_statements(p.read_text(encoding="utf-8"))]) for p in files]
    assert history_rows(db_url) == expected  # the rows `supabase db push` / `supadeploy push` would have written
    assert shadow_databases(pg_admin_url) == before
    pushed = invoke("push", "--workdir", str(project_dir), "--db-url", db_url)
    assert pushed.exit_code == 0 and "is up to date (5 migrations applied)" in pushed.stdout
    again = baseline(project_dir, db_url, pg_admin_url, "--to", "005")
    assert again.exit_code == 0 and "nothing to record" in again.stdout


def test_differences_stop_the_baseline_until_forced(project_dir: Path, db_url: str, pg_admin_url: str) -> None:
    files = copy_example(project_dir)
    paste_by_hand(db_url, files[:3], 'ALTER TABLE public.users ADD COLUMN nickname text;\n'
                  'DROP POLICY "Users can view own snapshots" ON public.portfolio_snapshots;\n')
    outcome = baseline(project_dir, db_url, pg_admin_url, "--to", "003", "--json")
    assert outcome.exit_code == 1
    document = outcome.json()
    assert document["ok"] is False and document["recorded"] == []
    assert [(d["kind"], d["name"], d["change"]) for d in document["differences"]] == [
        ("column", "public.users.nickname", "added"),
        ("policy", "public.portfolio_snapshots.Users can view own snapshots", "removed"),
    ]
    assert history_rows(db_url) == []
    human = baseline(project_dir, db_url, pg_admin_url, "--to", "003")
    assert "  column public.users.nickname added" in human.stdout
    assert "nothing was recorded" in human.stderr
    forced = baseline(project_dir, db_url, pg_admin_url, "--to", "003", "--force")
    assert forced.exit_code == 0, forced.output
    assert [row[0] for row in history_rows(db_url)] == ["001", "002", "003"]


def test_unknown_version_is_refused(project_dir: Path, db_url: str, pg_admin_url: str) -> None:
    copy_example(project_dir)
    outcome = baseline(project_dir, db_url, pg_admin_url, "--to", "009")
    assert outcome.exit_code == 1
    assert outcome.stderr.splitlines()[0] == "error: version 009 is not a local migration"
