"""A repository whose migrations live in backend/migrations/: `init` finds them and the linked project, every
command reads [project] migrations_dir, and paths print one way."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from supadeploy.ci.workflows import WorkflowSettings, render_workflows
from tests.support.cli import invoke
from tests.support.inspect import history_rows, tables

FILES = {
    "001_initial_schema.sql": "create table if not exists public.users (id uuid primary key);\n",
    "002_trades.sql": "create table if not exists public.trades (id bigint primary key, user_id uuid);\n",
}


@pytest.fixture
def runbook_repo(tmp_path: Path) -> Path:
    folder = tmp_path / "backend" / "migrations"
    folder.mkdir(parents=True)
    for name, sql in FILES.items():
        (folder / name).write_text(sql, encoding="utf-8")
    (folder / "README.sql").write_text("-- notes\n", encoding="utf-8")
    (tmp_path / "supabase" / ".temp").mkdir(parents=True)
    (tmp_path / "supabase" / "config.toml").write_text('[api]\nschemas = ["public", "api"]\n', encoding="utf-8")
    (tmp_path / "supabase" / ".temp" / "project-ref").write_text("abcdefghijklmnopqrst\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def test_init_uses_the_migrations_it_finds_and_the_linked_project(runbook_repo: Path) -> None:
    outcome = invoke("init", "--workdir", str(runbook_repo))
    assert outcome.exit_code == 0, outcome.output
    assert "found 2 migration(s) in backend/migrations/: [project] migrations_dir" in outcome.stdout
    assert "found the Supabase CLI's linked project abcdefghijklmnopqrst" in outcome.stdout
    assert "README.sql do not follow <version>_<name>.sql" in outcome.stdout
    assert "found supabase/config.toml" in outcome.stdout
    config = (runbook_repo / "supadeploy.toml").read_text(encoding="utf-8")
    assert 'migrations_dir = "backend/migrations"' in config
    assert 'project_ref = "abcdefghijklmnopqrst"' in config
    assert not (runbook_repo / "supabase" / "migrations").exists()
    assert ".supadeploy/" in (runbook_repo / ".gitignore").read_text(encoding="utf-8")
    again = invoke("init", "--workdir", str(runbook_repo))
    assert again.exit_code == 0 and "exists; left unchanged" in again.stdout


def test_every_command_reads_the_configured_folder(runbook_repo: Path, db_url: str) -> None:
    assert invoke("init", "--workdir", str(runbook_repo)).exit_code == 0
    listed = invoke("migration", "list", "--workdir", str(runbook_repo), "--db-url", db_url)
    assert listed.exit_code == 0, listed.output
    assert "001" in listed.stdout and "002" in listed.stdout
    pushed = invoke("push", "--workdir", str(runbook_repo), "--db-url", db_url)
    assert pushed.exit_code == 0, pushed.output
    assert [row[0] for row in history_rows(db_url)] == ["001", "002"]
    assert {"users", "trades"} <= set(tables(db_url))
    created = invoke("migration", "new", "add_email", "--workdir", str(runbook_repo))
    assert created.exit_code == 0, created.output
    assert "backend/migrations/003_add_email.sql" in created.output
    linted = invoke("lint", "--workdir", str(runbook_repo))
    assert "backend/migrations/001_initial_schema.sql" in linted.output


def test_a_migrations_dir_outside_the_project_is_refused(tmp_path: Path) -> None:
    (tmp_path / "supadeploy.toml").write_text('[project]\nmigrations_dir = "../elsewhere"\n', encoding="utf-8")
    outcome = invoke("migration", "list", "--workdir", str(tmp_path), "--db-url", "postgresql://127.0.0.1:1/x")
    assert outcome.exit_code == 1
    assert "supadeploy.toml:2: [project] migrations_dir must be a folder inside the project" in outcome.stderr


def test_ci_workflows_filter_on_the_configured_folder() -> None:
    workflows = render_workflows(WorkflowSettings(migrations_dir="backend/migrations"))
    for content in workflows.values():
        assert '- "backend/migrations/**"' in content
        assert '- "supabase/config.toml"' in content and '- "supadeploy.toml"' in content
        assert '"supabase/**"' not in content
