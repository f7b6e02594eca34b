"""Messages the runbook team meets on its first day (issue 15 §7), each read as the user reads it."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import invoke, write_migration
from tests.support.inspect import history_rows


def test_a_new_migration_left_as_its_template_is_refused_not_recorded_empty(project_dir: Path, db_url: str) -> None:
    created = invoke("migration", "new", "add_email", "--workdir", str(project_dir))
    assert created.exit_code == 0, created.output
    [path] = (project_dir / "supabase" / "migrations").glob("*_add_email.sql")
    pushed = invoke("push", "--workdir", str(project_dir), "--db-url", db_url)
    assert pushed.exit_code == 1
    assert f"{path}:1:1: this migration has no SQL statement, only comments" in pushed.stderr
    assert "write its SQL below the header, or delete the file" in pushed.stderr
    assert history_rows(db_url) == []


def test_lint_of_a_folder_lints_its_migrations(project_dir: Path) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    outcome = invoke("lint", "--workdir", str(project_dir), str(project_dir / "supabase" / "migrations"))
    assert "001_a.sql" in outcome.output and "file not found" not in outcome.output
    missing = invoke("lint", "--workdir", str(project_dir), str(project_dir / "nowhere"))
    assert missing.exit_code == 1 and "no such file or folder" in missing.stderr


def test_a_config_error_in_staging_points_at_stagings_line(tmp_path: Path) -> None:
    (tmp_path / "supabase" / "migrations").mkdir(parents=True)
    (tmp_path / "supadeploy.toml").write_text(
        '[environments.local]\ndb_url = "postgresql://postgres:postgres@127.0.0.1:54322/postgres"\n\n'
        '[environments.staging]\ndb_url = "postgresql://postgres:hunter2-secret@db.example.com:5432/postgres"\n',
        encoding="utf-8")
    outcome = invoke("migration", "list", "--workdir", str(tmp_path), "--env", "staging")
    assert outcome.exit_code == 1
    assert f"{tmp_path / 'supadeploy.toml'}:5:" in outcome.stderr, outcome.stderr


def test_push_lists_the_verify_warnings_it_counts(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_prices.sql", "create table public.prices (id int, price numeric);\n"
                    "alter table public.prices enable row level security;\n"
                    "create policy \"anyone reads prices\" on public.prices for select to anon using (true);\n"
                    "grant select on public.prices to anon;\n")
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url", db_url, after_push=True)
    assert outcome.exit_code == 0, outcome.output
    summary = outcome.stdout[outcome.stdout.index("Verified RLS:"):]
    assert "warning" in summary.splitlines()[0]
    assert any(line.startswith("  warning ") for line in summary.splitlines()[1:]), summary
