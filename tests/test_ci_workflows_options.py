"""Every `ci init` option, in an executed workflow: --staging-branch / --production-branch, --install, --force
and the project's [project] migrations_dir; path filters, concurrency groups and the `production` environment."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no types-PyYAML in the test extras

from tests.support.cli import invoke
from tests.support.inspect import history_rows
from tests.support.workflow_runner import WorkflowContext, run_job
from tests.test_ci_workflows_run import CHECK_STEPS, CLEAN, TYPES_STEP, WORKFLOWS, pinned

TOML = ('[project]\nmigrations_dir = "./db/migrations/"\n\n[environments.staging]\ndb_url_env = "STAGING_DB_URL"\n\n'
        '[environments.production]\ndb_url_env = "PRODUCTION_DB_URL"\nprotected = true\n')
CUSTOM_INSTALL = "pip install ./vendor/supadeploy.whl"


def make_project(root: Path, *options: str) -> Path:
    (root / "db" / "migrations").mkdir(parents=True)
    (root / "db" / "migrations" / "20240101000000_notes.sql").write_text(CLEAN)
    (root / "supadeploy.toml").write_text(TOML)
    outcome = invoke("ci", "init", "--workdir", str(root), *options)
    assert outcome.exit_code == 0, outcome.output
    return root


def load(project: Path, name: str) -> Any:
    """The workflow as YAML 1.1 reads it (GitHub's `on:` key is True there)."""
    return yaml.safe_load((project / WORKFLOWS / name).read_text())


def test_path_filters_concurrency_and_the_production_environment(tmp_path: Path) -> None:
    project = make_project(tmp_path / "repo")
    expected_paths = {"db/migrations/**", "supabase/config.toml", "supadeploy.toml"}
    for name in ("supadeploy-check.yml", "supadeploy-staging.yml", "supadeploy-production.yml"):
        workflow = load(project, name)
        trigger = workflow[True]["pull_request" if name.endswith("check.yml") else "push"]
        assert expected_paths <= set(trigger["paths"]), (name, trigger["paths"])
    for environment in ("staging", "production"):
        workflow = load(project, f"supadeploy-{environment}.yml")
        assert workflow["concurrency"] == {"group": f"supadeploy-{environment}", "cancel-in-progress": False}
        assert workflow["jobs"]["deploy"]["environment"] == environment


def test_a_custom_migrations_dir_is_linted_and_replayed(tmp_path: Path, pg_admin_url: str) -> None:
    project = make_project(tmp_path / "repo")
    context = WorkflowContext(install_line=pinned(), postgres_service_url=pg_admin_url)
    runs = run_job(project / WORKFLOWS / "supadeploy-check.yml", "check", project, context, not_here=(TYPES_STEP,))
    assert [(run.name, run.returncode) for run in runs] == [(name, 0) for name in CHECK_STEPS], runs[-1].output
    drop = project / "db" / "migrations" / "20240102000000_drop.sql"
    drop.write_text("alter table public.notes drop column body;\n")
    runs = run_job(project / WORKFLOWS / "supadeploy-check.yml", "check", project, context, not_here=(TYPES_STEP,))
    assert [(run.name, run.returncode) for run in runs] == [(CHECK_STEPS[0], 1)]
    assert "::error file=db/migrations/20240102000000_drop.sql,line=1" in runs[0].output


def test_custom_branches_and_install_line_deploy_staging_then_production(tmp_path: Path,
                                                                         make_db: Callable[[], str]) -> None:
    project = make_project(tmp_path / "repo", "--staging-branch", "next", "--production-branch", "stable",
                           "--install", CUSTOM_INSTALL)
    on_push = {name: load(project, f"supadeploy-{name}.yml")[True]["push"]
               for name in ("staging", "production")}
    assert on_push["staging"]["branches"] == ["next"] and on_push["production"]["branches"] == ["stable"]
    staging, production = make_db(), make_db()
    context = WorkflowContext(install_line=CUSTOM_INSTALL, postgres_service_url="postgresql://unused@localhost/x",
                              secrets={"STAGING_DB_URL": staging, "PRODUCTION_DB_URL": production})
    pushed = run_job(project / WORKFLOWS / "supadeploy-staging.yml", "deploy", project, context)
    assert [(run.name, run.returncode) for run in pushed] == [("Push migrations to staging", 0)], pushed[-1].output
    promoted = run_job(project / WORKFLOWS / "supadeploy-production.yml", "deploy", project, context)
    assert promoted[0].returncode == 0, promoted[0].output
    assert [row[0] for row in history_rows(production)] == ["20240101000000"]


def test_force_rewrites_with_new_options(tmp_path: Path) -> None:
    project = make_project(tmp_path / "repo")
    assert pinned() in (project / WORKFLOWS / "supadeploy-staging.yml").read_text()
    kept = invoke("ci", "init", "--workdir", str(project), "--install", CUSTOM_INSTALL)
    assert kept.exit_code == 0 and CUSTOM_INSTALL not in (project / WORKFLOWS / "supadeploy-staging.yml").read_text()
    forced = invoke("ci", "init", "--workdir", str(project), "--install", CUSTOM_INSTALL, "--force")
    assert forced.exit_code == 0 and CUSTOM_INSTALL in (project / WORKFLOWS / "supadeploy-staging.yml").read_text()
