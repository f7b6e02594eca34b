"""`supadeploy push --engine cli`: the real Supabase CLI 2.117.0 applies, supadeploy plans, locks and checks."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from supadeploy.errors import SupadeployError
from supadeploy.targets.supabase_cli import find_supabase_cli, parse_failure, split_password
from tests.conftest import REPO_ROOT
from tests.support.cli import invoke, write_migration
from tests.support.databases import cli_url
from tests.support.inspect import history_rows, tables

pytestmark = pytest.mark.cli

EXAMPLE = REPO_ROOT / "supabase" / "migrations"
CORPUS = REPO_ROOT / "tests" / "corpus" / "interop"


def cli_env(supabase_cli: str) -> dict[str, str]:
    return {"SUPABASE_CLI": supabase_cli}


def test_push_engine_cli_writes_the_same_history_as_native(supabase_cli: str, project_dir: Path, db_url: str,
                                                           make_db: Callable[[], str]) -> None:
    files = sorted(EXAMPLE.glob("*.sql")) + sorted(CORPUS.glob("*.sql"))
    for source in files:
        shutil.copy(source, project_dir / "supabase" / "migrations" / source.name)
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url", cli_url(db_url), "--engine", "cli", "--json",
                     env=cli_env(supabase_cli))
    assert outcome.exit_code == 0, outcome.output
    assert [a["version"] for a in outcome.json()["result"]["applied"]] == [f.name.split("_", 1)[0] for f in files]

    native_db = make_db()
    assert invoke("push", "--workdir", str(project_dir), "--db-url", native_db).exit_code == 0
    assert history_rows(db_url) == history_rows(native_db)
    assert tables(db_url) == tables(native_db)

    again = invoke("push", "--workdir", str(project_dir), "--db-url", cli_url(db_url), "--engine", "cli",
                   env=cli_env(supabase_cli))
    assert again.exit_code == 0 and "is up to date" in again.stdout


def test_cli_output_is_streamed_and_failures_point_at_the_file(supabase_cli: str, project_dir: Path, db_url: str,
                                                               make_db: Callable[[], str]) -> None:
    write_migration(project_dir, "001_ok.sql", "create table kept (id int);\n")
    write_migration(project_dir, "002_broken.sql", "create table a (id int);\n\nselect *\n  from nowhere;\n")
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url", cli_url(db_url), "--engine", "cli",
                     env=cli_env(supabase_cli))
    assert outcome.exit_code == 1
    assert "Applying migration 001_ok.sql..." in outcome.stderr   # the CLI's own output, streamed
    assert f"{project_dir}/supabase/migrations/002_broken.sql:4:8: relation \"nowhere\" does not exist " \
           "[SQLSTATE 42P01]" in outcome.stderr
    native = invoke("push", "--workdir", str(project_dir), "--db-url", make_db(), "--json")
    failed = native.json()["result"]["failed"]
    assert (failed["line"], failed["column"], failed["sqlstate"]) == (4, 8, "42P01")   # the native engine agrees
    assert [row[0] for row in history_rows(db_url)] == ["001"]
    assert "a" not in tables(db_url)


def test_drift_is_refused_before_the_cli_runs(supabase_cli: str, project_dir: Path, db_url: str) -> None:
    path = write_migration(project_dir, "001_a.sql", "create table a (id int);\n")
    assert invoke("push", "--workdir", str(project_dir), "--db-url", db_url).exit_code == 0
    path.write_text("create table a (id bigint);\n", encoding="utf-8")
    write_migration(project_dir, "002_b.sql", "create table b (id int);\n")
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url", cli_url(db_url), "--engine", "cli",
                     env=cli_env(supabase_cli))
    assert outcome.exit_code == 1
    assert "applied migrations were edited after they ran" in outcome.stderr
    assert "Applying migration" not in outcome.output
    assert [row[0] for row in history_rows(db_url)] == ["001"]


def test_an_interrupted_cli_push_says_what_it_kept_and_logs_it(supabase_cli: str, project_dir: Path, db_url: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while `supabase db push` runs: the pipeline reads the history back, says what stays applied, and
    the deploy-log row of the run is 'interrupted' with those versions."""
    import psycopg

    from supadeploy.targets import supabase_cli as cli_module

    write_migration(project_dir, "001_a.sql", "create table a (id int);\n")
    write_migration(project_dir, "002_b.sql", "create table b (id int);\n")

    def applies_001_then_interrupted(*args: object, **kwargs: object) -> None:
        with psycopg.connect(db_url, autocommit=True) as connection:  # what the CLI committed before Ctrl-C
            connection.execute("create table a (id int)")
            connection.execute("insert into supabase_migrations.schema_migrations (version, name, statements) "
                               "values ('001', 'a', array['create table a (id int)'])")
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, "run_db_push", applies_001_then_interrupted)
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url", cli_url(db_url), "--engine", "cli",
                     env=cli_env(supabase_cli))
    assert outcome.exit_code == 130
    assert "interrupted while `supabase db push` ran: applied before it stopped, and kept: 001_a.sql" \
        in outcome.stderr
    assert [row[0] for row in history_rows(db_url)] == ["001"]
    log = invoke("history", "--workdir", str(project_dir), "--db-url", db_url, "--json").json()["deployments"]
    assert [(row["command"], row["status"], row["versions_applied"]) for row in log] == [
        ("push", "interrupted", ["001"])]


def test_a_missing_or_old_cli_is_explained(project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("SUPABASE_CLI", raising=False)
    with pytest.raises(SupadeployError, match="the Supabase CLI is not installed") as caught:
        find_supabase_cli(project_dir)
    assert "npm install --save-dev --save-exact supabase@3.1.0" in str(caught.value)   # the current release
    old = empty / "supabase"
    old.write_text("#!/bin/sh\necho 2.33.0\n")
    old.chmod(0o755)
    with pytest.raises(SupadeployError, match=r"is 2\.33\.0; supadeploy needs 2\.117\.0 or newer"):
        find_supabase_cli(project_dir)
    write_migration(project_dir, "001_a.sql", "select 1;\n")
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url", "postgresql://u@127.0.0.1:1/x",
                     "--engine", "cli", env={"PATH": str(empty)})
    assert outcome.exit_code == 1 and "supadeploy needs 2.117.0 or newer" in outcome.stderr


def test_reading_the_clis_failure_output() -> None:
    lines = ["Applying migration 002_x.sql...", 'ERROR: relation "nope" does not exist (SQLSTATE 42P01)',
             "At statement: 2", "select * from nope", "              ^",
             "Try rerunning the command with --debug to troubleshoot the error."]
    failure = parse_failure(lines, "002_x.sql")
    assert failure is not None
    assert (failure.sqlstate, failure.statement_index, failure.statement_line, failure.caret_column) == \
        ("42P01", 2, "select * from nope", 15)
    assert split_password("postgresql://user:p%40ss@db.example.com:5432/postgres?sslmode=require") == \
        ("postgresql://user@db.example.com:5432/postgres?sslmode=require", "p@ss")
