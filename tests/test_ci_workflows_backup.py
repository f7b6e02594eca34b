"""The production deploy's backup outlives the job: the generated workflow has supadeploy write the pg_dump
into $RUNNER_TEMP (never the workspace) and uploads it as a short-lived workflow artifact, even when the deploy
fails; the artifact restores into a fresh database as production was before the deploy."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
import yaml  # type: ignore[import-untyped]  # no types-PyYAML in the test extras

from tests.support import databases
from tests.support.inspect import history_rows
from tests.support.workflow_runner import StepRun, WorkflowContext, artifact_dir, run_job, step_summary
from tests.test_ci_workflows_run import WORKFLOWS, pinned
from tests.test_ci_workflows_run import project as project  # the fixture

PRODUCTION = WORKFLOWS / "supadeploy-production.yml"
ARTIFACT = "supadeploy-backup-production-42-1"
PROMOTE, UPLOAD, SAY = ("Promote what staging ran to production", "Keep the backup as a workflow artifact",
                        "Say where the backup is")
FAILS_ON_PRODUCTION = ("-- Migration: guard\ndo $$ begin if to_regclass('crm.customers') is not null then "
                       "raise exception 'production has customers'; end if; end $$;\n")


def seed_customers(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema crm")
        conn.execute("create table crm.customers (id bigint primary key, name text not null)")
        conn.execute("insert into crm.customers values (1, 'ada'), (2, 'grace')")


def deploy_both(project: Path, staging: str, production: str) -> list[StepRun]:
    context = WorkflowContext(install_line=pinned(), postgres_service_url="postgresql://unused@localhost:5432/x",
                              secrets={"STAGING_DB_URL": staging, "PRODUCTION_DB_URL": production},
                              github={"run_id": "42", "run_attempt": "1"})
    pushed = run_job(project / WORKFLOWS / "supadeploy-staging.yml", "deploy", project, context)
    assert [(run.name, run.returncode) for run in pushed] == [("Push migrations to staging", 0)], pushed[-1].output
    return run_job(project / PRODUCTION, "deploy", project, context)


def restored_customers(pg_admin_url: str, backup: Path) -> list[tuple[int, str]]:
    scratch = databases.create_empty_database(pg_admin_url)
    try:
        restored = subprocess.run(["/usr/lib/postgresql/15/bin/pg_restore", "--no-owner", "-d", scratch,
                                   str(backup)], capture_output=True, text=True, timeout=120)
        assert restored.returncode in (0, 1), restored.stderr  # 1: warnings about Supabase roles absent here
        with psycopg.connect(scratch) as conn:
            rows: list[tuple[int, str]] = conn.execute("select id, name from crm.customers order by id").fetchall()
        return rows
    finally:
        databases.drop_database(pg_admin_url, scratch)


def the_artifact(project: Path) -> Path:
    files = sorted(artifact_dir(project, ARTIFACT).glob("*.dump"))
    assert len(files) == 1, files
    assert files[0].name.startswith("production-")
    return files[0]


def test_the_production_backup_is_an_artifact_that_restores(project: Path, pg_admin_url: str,
                                                             make_db: Callable[[], str]) -> None:
    staging, production = make_db(), make_db()
    seed_customers(production)
    runs = deploy_both(project, staging, production)
    assert [(run.name, run.returncode) for run in runs] == [(PROMOTE, 0), (UPLOAD, 0), (SAY, 0)], runs[-1].output
    assert runs[0].outputs["backup_file"] == runs[0].outputs["backup"]
    assert [row[0] for row in history_rows(production)] == ["20240101000000"]
    assert not list(project.rglob("*.dump")), "no backup is left in the workspace"
    assert restored_customers(pg_admin_url, the_artifact(project)) == [(1, "ada"), (2, "grace")]
    summary = step_summary(project)
    assert "**Backup:** " in summary and f"backup: workflow artifact {ARTIFACT} (kept 7 days)" in summary


def test_a_failed_promotion_still_keeps_its_backup(project: Path, pg_admin_url: str,
                                                    make_db: Callable[[], str]) -> None:
    (project / "supabase" / "migrations" / "20240102000000_guard.sql").write_text(FAILS_ON_PRODUCTION)
    staging, production = make_db(), make_db()
    seed_customers(production)
    runs = deploy_both(project, staging, production)
    assert [(run.name, run.returncode) for run in runs] == [(PROMOTE, 1), (UPLOAD, 0), (SAY, 0)], runs[0].output
    assert "production has customers" in runs[0].output
    assert restored_customers(pg_admin_url, the_artifact(project)) == [(1, "ada"), (2, "grace")]


@pytest.mark.parametrize("workflow", ["supadeploy-staging.yml", "supadeploy-production.yml"])
def test_deploy_jobs_keep_their_backup_out_of_the_workspace_briefly(project: Path, workflow: str) -> None:
    steps = {step.get("name"): step for step in yaml.safe_load((project / WORKFLOWS / workflow).read_text())
             ["jobs"]["deploy"]["steps"]}
    deploy = next(step for step in steps.values() if step.get("id") == "deploy")
    assert deploy["env"]["SUPADEPLOY_BACKUP_DIR"] == "${{ runner.temp }}/supadeploy-backups"
    upload = steps[UPLOAD]
    assert upload["uses"] == "actions/upload-artifact@v4"
    assert upload["with"]["retention-days"] == 7 and upload["with"]["if-no-files-found"] == "error"
    assert upload["if"] == "${{ !cancelled() && steps.deploy.outputs.backup_file != '' }}"
