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


def test_a_killed_run_is_marked_interrupted_by_the_next(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    run_push(project_dir, db_url, DeploymentContext(command="push", environment="local"))
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("insert into supabase_migrations.supadeploy_deployments (command, environment) "
                     "values ('push', 'local')")
    run_push(project_dir, db_url, DeploymentContext(command="push", environment="local"))
    target = PostgresTarget(db_url)
    statuses = [d.status for d in list_deployments(target)]
    target.close()
    assert statuses == ["succeeded", "interrupted", "succeeded"]


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
