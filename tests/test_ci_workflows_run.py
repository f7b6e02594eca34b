"""The workflows `supadeploy ci init` writes, executed step by step (tests/support/workflow_runner.py) against
real local databases: the pinned install line, the check job's lint and replay, the staging push and the
production promotion."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import supadeploy
from tests.support.cli import invoke
from tests.support.inspect import history_rows
from tests.support.workflow_runner import StepRun, WorkflowContext, run_job

WORKFLOWS = Path(".github") / "workflows"
CLEAN = ("-- Migration: notes\ncreate table if not exists public.notes (id bigint primary key, body text);\n"
         "alter table public.notes enable row level security;\n")
TYPES_STEP = "Types are up to date"  # starts a whole local server (`supadeploy local start`): not run here
CHECK_STEPS = ["Lint migrations", "Replay every migration on a throwaway database"]


def pinned() -> str:
    return f"pip install supadeploy=={supadeploy.__version__}"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "supabase" / "migrations").mkdir(parents=True)
    (root / "supabase" / "migrations" / "20240101000000_notes.sql").write_text(CLEAN)
    (root / "supadeploy.toml").write_text('[environments.staging]\ndb_url_env = "STAGING_DB_URL"\n\n'
                                          '[environments.production]\ndb_url_env = "PRODUCTION_DB_URL"\n'
                                          'protected = true\n')
    outcome = invoke("ci", "init", "--workdir", str(root))
    assert outcome.exit_code == 0, outcome.output
    return root


def check_job(project: Path, pg_admin_url: str) -> list[StepRun]:
    context = WorkflowContext(install_line=pinned(), postgres_service_url=pg_admin_url)
    return run_job(project / WORKFLOWS / "supadeploy-check.yml", "check", project, context, not_here=(TYPES_STEP,))


def test_every_job_installs_exactly_this_version_unless_told_otherwise(project: Path) -> None:
    for workflow in sorted((project / WORKFLOWS).glob("*.yml")):
        assert f"        run: {pinned()}\n" in workflow.read_text(), workflow.name
    assert pinned() != "pip install supadeploy==" + supadeploy.UNKNOWN_VERSION
    custom = invoke("ci", "init", "--workdir", str(project), "--force", "--install", "pip install ./vendor/sd.whl")
    assert custom.exit_code == 0, custom.output
    assert "run: pip install ./vendor/sd.whl\n" in (project / WORKFLOWS / "supadeploy-staging.yml").read_text()


def test_the_check_job_passes_on_a_clean_change(project: Path, pg_admin_url: str) -> None:
    runs = check_job(project, pg_admin_url)
    assert [(run.name, run.returncode) for run in runs] == [(name, 0) for name in CHECK_STEPS], runs[-1].output
    assert "applied 1 of 1 migration(s) on a throwaway database" in runs[1].output


def test_the_check_job_stops_at_lint_on_a_destructive_change(project: Path, pg_admin_url: str) -> None:
    (project / "supabase" / "migrations" / "20240102000000_drop_body.sql").write_text(
        "alter table public.notes drop column body;\n")
    runs = check_job(project, pg_admin_url)
    assert [(run.name, run.returncode) for run in runs] == [("Lint migrations", 1)]
    assert "20240102000000_drop_body.sql:1:26" in runs[0].output and "SD202" in runs[0].output


def test_the_check_job_replays_and_fails_on_a_migration_that_cannot_run_twice(project: Path,
                                                                              pg_admin_url: str) -> None:
    (project / "supabase" / "migrations" / "20240102000000_tags.sql").write_text(
        "-- Migration: tags\ncreate table public.tags (id bigint primary key);\n"
        "alter table public.tags enable row level security;\n")
    runs = check_job(project, pg_admin_url)
    assert [(run.name, run.returncode) for run in runs] == [(CHECK_STEPS[0], 0), (CHECK_STEPS[1], 1)]
    assert "No such option" not in runs[1].output
    assert 'not-idempotent: a second run fails: relation "tags" already exists' in runs[1].output


def test_the_deploy_jobs_push_staging_then_promote_production(project: Path, pg_admin_url: str,
                                                               make_db: Callable[[], str]) -> None:
    staging, production = make_db(), make_db()
    context = WorkflowContext(install_line=pinned(), postgres_service_url=pg_admin_url,
                              secrets={"STAGING_DB_URL": staging, "PRODUCTION_DB_URL": production})
    pushed = run_job(project / WORKFLOWS / "supadeploy-staging.yml", "deploy", project, context)
    assert [(run.name, run.returncode) for run in pushed] == [("Push migrations to staging", 0)], pushed[-1].output
    assert [row[0] for row in history_rows(staging)] == ["20240101000000"]
    assert history_rows(production) == []
    promoted = run_job(project / WORKFLOWS / "supadeploy-production.yml", "deploy", project, context)
    assert [(run.name, run.returncode) for run in promoted] == [  # the backup: tests/test_ci_workflows_backup.py
        ("Promote what staging ran to production", 0), ("Keep the backup as a workflow artifact", 0),
        ("Say where the backup is", 0)], promoted[-1].output
    assert [row[0] for row in history_rows(production)] == ["20240101000000"]
