"""The deploy log: a row per run, interrupted runs marked, `supadeploy history`."""

from __future__ import annotations

from pathlib import Path

import psycopg

from supadeploy.deploylog import DeploymentContext, list_deployments
from supadeploy.migrations.files import discover_migrations
from supadeploy.pipeline import PushOptions, push
from supadeploy.targets.postgres import PostgresTarget
from tests.support.cli import invoke, write_migration
from tests.support.inspect import history_rows


def run_push(project: Path, url: str, context: DeploymentContext) -> None:
    target = PostgresTarget(url)
    try:
        push(target, discover_migrations(project / "supabase" / "migrations"), PushOptions(), deployment=context)
    finally:
        target.close()


def test_each_run_is_recorded_with_its_result(project_dir: Path, db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    monkeypatch.setenv("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
    monkeypatch.setenv("GITHUB_REF_NAME", "main")
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    context = DeploymentContext.detect("push", "staging", project_dir)
    run_push(project_dir, db_url, context)
    write_migration(project_dir, "002_b.sql", "create table public.b (id int;\n")
    run_push(project_dir, db_url, context)

    target = PostgresTarget(db_url)
    failed, succeeded = list_deployments(target)
    target.close()
    assert (succeeded.status, succeeded.versions_applied, succeeded.environment) == ("succeeded", ["001"], "staging")
    assert succeeded.actor == "octocat (GitHub Actions)"
    assert (succeeded.git_commit, succeeded.git_branch) == ("0123456789abcdef0123456789abcdef01234567", "main")
    assert succeeded.finished_at is not None and succeeded.finished_at >= succeeded.started_at
    assert failed.status == "failed"
    assert failed.versions_applied == []
    assert failed.error is not None and "002_b.sql:1:" in failed.error
    # The Supabase CLI's own table holds exactly its rows, nothing of the deploy log.
    assert [row[0] for row in history_rows(db_url)] == ["001"]


def statuses(url: str) -> list[str]:
    target = PostgresTarget(url)
    try:
        return [d.status for d in list_deployments(target)]
    finally:
        target.close()


def simulate_killed_run(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("insert into supabase_migrations.supadeploy_deployments (command, environment) "
                     "values ('push', 'local')")


def test_a_killed_run_is_marked_interrupted_by_the_next(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    run_push(project_dir, db_url, DeploymentContext(command="push", environment="local"))
    simulate_killed_run(db_url)
    write_migration(project_dir, "002_b.sql", "create table public.b (id int);\n")
    run_push(project_dir, db_url, DeploymentContext(command="push", environment="local"))
    assert statuses(db_url) == ["succeeded", "interrupted", "succeeded"]


def test_a_push_with_nothing_to_do_records_nothing_but_marks_killed_runs(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    assert invoke("push", "--workdir", str(project_dir), "--db-url", db_url).exit_code == 0
    assert invoke("push", "--workdir", str(project_dir), "--db-url", db_url).exit_code == 0
    assert statuses(db_url) == ["succeeded"]
    simulate_killed_run(db_url)
    again = invoke("push", "--workdir", str(project_dir), "--db-url", db_url)
    assert again.exit_code == 0, again.output
    assert "Nothing to push" in again.stdout
    assert statuses(db_url) == ["interrupted", "succeeded"]


def test_a_refused_push_is_recorded_as_failed(project_dir: Path, db_url: str) -> None:
    path = write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    assert invoke("push", "--workdir", str(project_dir), "--db-url", db_url).exit_code == 0
    path.write_text("create table public.a (id bigint);\n", encoding="utf-8")
    refused = invoke("push", "--workdir", str(project_dir), "--db-url", db_url)
    assert refused.exit_code == 1 and "edited after they ran" in refused.stderr
    target = PostgresTarget(db_url)
    failed, succeeded = list_deployments(target)
    target.close()
    assert (failed.status, failed.versions_applied, succeeded.status) == ("failed", [], "succeeded")
    assert failed.error is not None and "001_a.sql" in failed.error


def test_history_command_shows_runs(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    run_push(project_dir, db_url, DeploymentContext(command="push", environment="local", actor="dana",
                                                    git_commit="abc123", git_branch="develop"))
    outcome = invoke("history", "--db-url", db_url, "--workdir", str(project_dir))
    assert outcome.exit_code == 0, outcome.output
    assert "#1 push local succeeded" in outcome.stdout
    assert "by dana at abc123 (develop): 001" in outcome.stdout
    document = invoke("history", "--db-url", db_url, "--workdir", str(project_dir), "--json").json()
    assert document["deployments"][0]["versions_applied"] == ["001"]
    assert ":postgres@" not in outcome.output
