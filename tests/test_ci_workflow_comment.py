"""The check workflow `supadeploy ci init` writes, executed (tests/support/workflow_runner.py) on a pull request
with GITHUB_API_URL pointed at the local GitHub API (tests/support/github_api_server.py): its last step posts
the pull-request comment, which shows what the change does to staging, and updates it on the next run."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import supadeploy
from supadeploy.report.pr_comment import MARKER
from tests.support.cli import invoke, write_migration
from tests.support.github_api_server import TEST_TOKEN, GitHubApiServer
from tests.support.workflow_runner import StepRun, WorkflowContext, condition_holds, run_job

CHECK_WORKFLOW = Path(".github") / "workflows" / "supadeploy-check.yml"
TYPES_STEP = "Types are up to date"  # starts a whole local server: not run here
COMMENT_STEP = "Comment on the pull request"
BASE = ("-- Migration: notes\ncreate table if not exists public.notes (id bigint primary key, body text);\n"
        "alter table public.notes enable row level security;\n")
ANON_READABLE = ("-- Migration: posts\ncreate table if not exists public.posts (id bigint primary key, title text);\n"
                 "alter table public.posts enable row level security;\n"
                 'drop policy if exists "posts are public" on public.posts;\n'
                 'create policy "posts are public" on public.posts for select to anon using (true);\n'
                 "grant select on public.posts to anon;\n")
PR_NUMBER = 12


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubApiServer]:
    """The local GitHub API, and the variables GitHub sets in every job of a pull_request run."""
    with GitHubApiServer() as server:
        event = tmp_path / "event.json"
        event.write_text(json.dumps({"number": PR_NUMBER, "pull_request": {
            "number": PR_NUMBER, "head": {"repo": {"full_name": server.repository}},
            "base": {"repo": {"full_name": server.repository}}}}))
        for name, value in {"GITHUB_API_URL": server.url, "GITHUB_REPOSITORY": server.repository,
                            "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event)}.items():
            monkeypatch.setenv(name, value)
        yield server
        assert server.violations == []


@pytest.fixture
def project(tmp_path: Path, make_db: Callable[[], str]) -> tuple[Path, str]:
    """A repository with `ci init`'s workflows; staging has the base migration; the pull request adds a table
    that anon can read."""
    root = tmp_path / "repo"
    (root / "supabase" / "migrations").mkdir(parents=True)
    write_migration(root, "20240101000000_notes.sql", BASE)
    (root / "supadeploy.toml").write_text('[environments.staging]\ndb_url_env = "STAGING_DB_URL"\n\n'
                                          '[environments.production]\ndb_url_env = "PRODUCTION_DB_URL"\n'
                                          'protected = true\n')
    assert invoke("ci", "init", "--workdir", str(root)).exit_code == 0
    staging = make_db()
    pushed = invoke("push", "--env", "staging", "--workdir", str(root), "--yes", env={"STAGING_DB_URL": staging})
    assert pushed.exit_code == 0, pushed.output
    write_migration(root, "20240102000000_posts.sql", ANON_READABLE)
    return root, staging


def check_job(root: Path, pg_admin_url: str, staging: str) -> list[StepRun]:
    context = WorkflowContext(install_line=f"pip install supadeploy=={supadeploy.__version__}",
                              postgres_service_url=pg_admin_url, github={"event_name": "pull_request"},
                              secrets={"GITHUB_TOKEN": TEST_TOKEN, "STAGING_DB_URL": staging})
    return run_job(root / CHECK_WORKFLOW, "check", root, context, not_here=(TYPES_STEP,))


def test_the_check_job_comments_the_exposure_change_and_updates_it_in_place(
        project: tuple[Path, str], pg_admin_url: str, github: GitHubApiServer) -> None:
    root, staging = project
    runs = check_job(root, pg_admin_url, staging)
    assert [(run.name, run.returncode) for run in runs] == [
        ("Lint migrations", 0), ("Replay every migration on a throwaway database", 0), (COMMENT_STEP, 0)], \
        runs[-1].output
    assert "created the pull-request comment: https://github.com/octo-org/app/pull/12#" in runs[-1].output
    [body] = github.bodies(PR_NUMBER)
    assert body.startswith(MARKER)
    staging_section = body.split("### `staging`", 1)[1].split("\n### ", 1)[0]
    assert "**1 pending migration(s)** would be applied:" in staging_section
    exposure = staging_section.split("#### Exposure", 1)[1].split("####", 1)[0]
    assert "- `public.posts`: anon SELECT none → every row" in exposure
    assert "+      posts: {" in staging_section.split("#### Types", 1)[1]
    production = body.split("### `production`", 1)[1]
    assert "Not previewed: environment 'production' reads its database URL from $PRODUCTION_DB_URL" in production
    assert "**Verdict: ⚠️ review** — `staging`: 1 change(s) in exposure; `production` could not be previewed." \
        in body
    assert TEST_TOKEN not in "".join(run.output for run in runs)

    write_migration(root, "20240103000000_drop_body.sql", "alter table public.notes drop column body;\n")
    again = check_job(root, pg_admin_url, staging)
    assert [(run.name, run.returncode) for run in again] == [("Lint migrations", 1), (COMMENT_STEP, 0)], \
        again[-1].output
    [body] = github.bodies(PR_NUMBER)   # the same comment, edited
    assert "20240103000000_drop_body.sql:1:26` **SD202** drop-column" in body and "❌ not ready" in body
    assert [request.method for request in github.requests] == ["GET", "POST", "GET", "PATCH"]


def test_the_comment_step_runs_only_for_pull_requests() -> None:
    condition = "${{ !cancelled() && github.event_name == 'pull_request' }}"
    pull_request = WorkflowContext("", "", github={"event_name": "pull_request"})
    dispatch = WorkflowContext("", "", github={"event_name": "workflow_dispatch"})
    assert condition_holds(condition, failed=True, context=pull_request)
    assert not condition_holds(condition, failed=False, context=dispatch)
    assert not condition_holds("success()", failed=True, context=pull_request)
