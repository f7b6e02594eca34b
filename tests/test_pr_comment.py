"""`supadeploy ci comment`: the pull-request comment built from the --json reports (real dry runs on real
databases), posted through a local GitHub API that checks every request and response against GitHub's published
REST description, updated in place, with the step-summary fallback for forks."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from supadeploy.report.pr_comment import MARKER
from tests.support.cli import invoke, write_migration
from tests.support.github_api_server import READ_ONLY_TOKEN, TEST_TOKEN, GitHubApiServer

BASE = ("-- Migration: notes\ncreate table if not exists public.notes (id bigint primary key, body text);\n"
        "alter table public.notes enable row level security;\n")
ANON_READABLE = ("-- Migration: posts\ncreate table if not exists public.posts (id bigint primary key, title text);\n"
                 "alter table public.posts enable row level security;\n"
                 'drop policy if exists "posts are public" on public.posts;\n'
                 'create policy "posts are public" on public.posts for select to anon using (true);\n'
                 "grant select on public.posts to anon;\n")
DESTRUCTIVE = "alter table public.notes drop column body;\n"
PR_NUMBER = 7


@pytest.fixture
def project(tmp_path: Path, make_db: Callable[[], str]) -> Iterator[tuple[Path, dict[str, str]]]:
    """A project whose staging database has the base migration; the pull request adds an anon-readable table."""
    root = tmp_path / "repo"
    (root / "supabase" / "migrations").mkdir(parents=True)
    write_migration(root, "20240101000000_notes.sql", BASE)
    (root / "supadeploy.toml").write_text('[environments.staging]\ndb_url_env = "STAGING_DB_URL"\n')
    env = {"STAGING_DB_URL": make_db()}
    pushed = invoke("push", "--env", "staging", "--workdir", str(root), "--yes", env=env)
    assert pushed.exit_code == 0, pushed.output
    write_migration(root, "20240102000000_posts.sql", ANON_READABLE)
    yield root, env


def dry_run_report(root: Path, env: dict[str, str], shadow: str) -> Path:
    outcome = invoke("push", "--env", "staging", "--workdir", str(root), "--dry-run", "--json", "--shadow-url",
                     shadow, env=env)
    assert outcome.exit_code == 0, outcome.output
    report = root.parent / "staging.json"
    report.write_text(outcome.stdout)
    return report


def github_env(tmp_path: Path, server: GitHubApiServer, *, token: str = TEST_TOKEN, fork: bool = False,
               event: dict[str, object] | None = None) -> dict[str, str]:
    head = "someone/app" if fork else server.repository
    payload = event if event is not None else {"number": PR_NUMBER, "pull_request": {
        "number": PR_NUMBER, "head": {"repo": {"full_name": head}}, "base": {"repo": {"full_name": server.repository}}}}
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(payload))
    summary = tmp_path / "step_summary.md"
    summary.touch()
    return {"GITHUB_ACTIONS": "true", "GITHUB_API_URL": server.url, "GITHUB_REPOSITORY": server.repository,
            "GITHUB_EVENT_PATH": str(event_path), "GITHUB_TOKEN": token, "GITHUB_STEP_SUMMARY": str(summary)}


@pytest.fixture
def github() -> Iterator[GitHubApiServer]:
    with GitHubApiServer() as server:
        yield server
        assert server.violations == []


def test_the_comment_shows_pending_sql_lint_destructive_exposure_types_and_verdict(
        project: tuple[Path, dict[str, str]], pg_admin_url: str) -> None:
    root, env = project
    write_migration(root, "20240103000000_drop_body.sql", DESTRUCTIVE)
    report = dry_run_report(root, env, pg_admin_url)
    document = json.loads(report.read_text())
    assert [change["path"] for change in document["types_diff"]] == ["database.types.ts"]

    printed = invoke("ci", "comment", "--from", str(report), "--workdir", str(root), "--print")
    assert printed.exit_code == 0, printed.output
    body = printed.stdout
    assert body.startswith(MARKER + "\n")
    assert "**Verdict: ❌ not ready** — `staging`: 1 lint error(s), 1 destructive." in body
    assert "### `staging`" in body and "**2 pending migration(s)** would be applied:" in body
    assert "<summary><code>20240102000000_posts.sql</code> (6 line(s))</summary>" in body
    assert "```sql\n-- Migration: posts\ncreate table if not exists public.posts" in body
    destructive = body.split("#### Destructive statements", 1)[1].split("####", 1)[0]
    assert ("- ❌ `supabase/migrations/20240103000000_drop_body.sql:1:26` **SD202** drop-column: DROP COLUMN "
            "public.notes.body deletes the column and its data") in destructive
    exposure = body.split("#### Exposure", 1)[1].split("####", 1)[0]
    assert "- `public.posts`: anon SELECT none → every row" in exposure
    types = body.split("#### Types", 1)[1]
    assert "-          body: string | null" in types and "+      posts: {" in types
    as_json = invoke("ci", "comment", "--from", str(report), "--workdir", str(root), "--print", "--json")
    assert as_json.exit_code == 0 and as_json.json()["body"] == body
    assert "127.0.0.1" not in body   # no database address in a comment that may be public


def test_a_comment_over_githubs_limit_leaves_the_sql_out(tmp_path: Path) -> None:
    migrations = tmp_path / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    pending = []
    for index in range(40):
        path = migrations / f"2024010200{index:04d}_big.sql"
        path.write_text("".join(f"insert into public.t values ({n}, '{'x' * 60}');\n" for n in range(80)))
        pending.append({"version": path.name[:14], "name": "big", "file": str(path)})
    report = tmp_path / "staging.json"
    report.write_text(json.dumps({"ok": True, "dry_run": True, "environment": "staging", "lint": [],
                                  "plan": {"pending": pending, "applied": []}, "exposure": [], "types_diff": []}))
    outcome = invoke("ci", "comment", "--from", str(report), "--workdir", str(tmp_path), "--print")
    assert outcome.exit_code == 0, outcome.output
    assert len(outcome.stdout) < 65_536 and "```sql" not in outcome.stdout
    assert "- <code>20240102000039_big.sql</code>" in outcome.stdout
    assert "**Verdict: ✅ ready**" in outcome.stdout


def test_posted_then_updated_in_place(project: tuple[Path, dict[str, str]], pg_admin_url: str, tmp_path: Path,
                                      github: GitHubApiServer) -> None:
    root, env = project
    report = dry_run_report(root, env, pg_admin_url)
    github.add_comment(PR_NUMBER, "Looks good to me")
    ci_env = github_env(tmp_path, github)

    first = invoke("ci", "comment", "--from", str(report), "--workdir", str(root), "--json", env=ci_env)
    assert first.exit_code == 0, first.output
    assert first.json()["action"] == "created" and first.json()["where"] == "comment"
    bodies = github.bodies(PR_NUMBER)
    assert len(bodies) == 2 and "- `public.posts`: anon SELECT none → every row" in bodies[1]
    assert "**Verdict: ⚠️ review** — `staging`: 1 change(s) in exposure." in bodies[1]

    write_migration(root, "20240103000000_drop_body.sql", DESTRUCTIVE)
    report = dry_run_report(root, env, pg_admin_url)
    second = invoke("ci", "comment", "--from", str(report), "--workdir", str(root), env=ci_env)
    assert second.exit_code == 0, second.output
    assert second.stdout.startswith("updated the pull-request comment: https://github.com/octo-org/app/pull/7#")
    bodies = github.bodies(PR_NUMBER)
    assert len(bodies) == 2 and bodies[0] == "Looks good to me"
    assert "20240103000000_drop_body.sql:1:26" in bodies[1] and "❌ not ready" in bodies[1]
    assert [(r.method, r.status) for r in github.requests] == [("GET", 200), ("POST", 201), ("GET", 200),
                                                                 ("PATCH", 200)]
    assert all(r.authorization == f"Bearer {TEST_TOKEN}" for r in github.requests)
    assert TEST_TOKEN not in first.output + second.output


def test_the_marked_comment_is_found_on_a_later_page(tmp_path: Path) -> None:
    report = tmp_path / "check.json"
    report.write_text(json.dumps({"ok": True, "migrations": 1, "applied": 1, "failed": None, "problems": [],
                                  "idempotency_checked": 1, "round_trips_checked": 0, "without_down_sql": [],
                                  "schemas": ["public"], "fingerprint": "x", "exposure": None}))
    with GitHubApiServer(max_per_page=2) as github:
        for index in range(5):
            github.add_comment(PR_NUMBER, f"review comment {index}")
        github.add_comment(PR_NUMBER, f"{MARKER}\nan older supadeploy comment", login="github-actions[bot]")
        github.add_comment(PR_NUMBER, "one more after it")
        outcome = invoke("ci", "comment", "--from", str(report), env=github_env(tmp_path, github))
        assert outcome.exit_code == 0, outcome.output
        assert [(r.method, r.query.get("page")) for r in github.requests] == [
            ("GET", None), ("GET", "2"), ("GET", "3"), ("PATCH", None)]
        bodies = github.bodies(PR_NUMBER)
        assert len(bodies) == 7 and bodies[5].startswith(MARKER) and "Replay on a throwaway database" in bodies[5]
        assert github.violations == []


def test_a_fork_pull_request_gets_the_comment_in_the_step_summary(tmp_path: Path, github: GitHubApiServer,
                                                                  ) -> None:
    report = tmp_path / "staging.json"
    report.write_text("")   # its command failed before printing: the comment says so
    ci_env = github_env(tmp_path, github, fork=True)
    outcome = invoke("ci", "comment", "--from", str(report), env=ci_env)
    assert outcome.exit_code == 0, outcome.output
    assert "wrote the comment to the step summary: this pull request comes from a fork" in outcome.stdout
    assert github.requests == []
    summary = Path(ci_env["GITHUB_STEP_SUMMARY"]).read_text()
    assert summary.startswith("> **Note:** this pull request comes from a fork, whose token may not comment")
    assert MARKER in summary and "staging.json is not a JSON report" in summary


def test_a_read_only_token_falls_back_to_the_step_summary(tmp_path: Path, github: GitHubApiServer) -> None:
    report = tmp_path / "check.json"
    report.write_text(json.dumps({"ok": True, "fingerprint": "x", "problems": [], "failed": None}))
    ci_env = github_env(tmp_path, github, token=READ_ONLY_TOKEN)
    outcome = invoke("ci", "comment", "--from", str(report), "--json", env=ci_env)
    assert outcome.exit_code == 0, outcome.output
    assert outcome.json()["where"] == "step summary"
    assert "Resource not accessible by integration" in outcome.json()["note"]
    assert [(r.method, r.status) for r in github.requests] == [("GET", 200), ("POST", 403)]
    assert MARKER in Path(ci_env["GITHUB_STEP_SUMMARY"]).read_text()
    assert READ_ONLY_TOKEN not in outcome.output + Path(ci_env["GITHUB_STEP_SUMMARY"]).read_text()


def test_a_run_that_is_not_for_a_pull_request_writes_the_step_summary(tmp_path: Path,
                                                                      github: GitHubApiServer) -> None:
    report = tmp_path / "check.json"
    report.write_text(json.dumps({"ok": True, "fingerprint": "x", "problems": [], "failed": None}))
    ci_env = github_env(tmp_path, github, event={"inputs": {}})
    outcome = invoke("ci", "comment", "--from", str(report), env=ci_env)
    assert outcome.exit_code == 0, outcome.output
    assert "this run is not for a pull request" in outcome.stdout and github.requests == []


@pytest.mark.parametrize(("case", "expected"), [
    ("bad token", "GitHub API: cannot list the comments of #7 in octo-org/app: 401 Bad credentials"),
    ("unknown repository", "GitHub API: cannot list the comments of #7 in octo-org/other: 404 Not Found"),
])
def test_api_errors_are_one_clear_line_without_the_token(tmp_path: Path, github: GitHubApiServer, case: str,
                                                         expected: str) -> None:
    report = tmp_path / "check.json"
    report.write_text(json.dumps({"ok": True, "fingerprint": "x", "problems": [], "failed": None}))
    wrong = "ghs_" + "WrongToken000000000000000000000000000"
    ci_env = github_env(tmp_path, github, token=wrong if case == "bad token" else TEST_TOKEN)
    if case == "unknown repository":
        ci_env["GITHUB_REPOSITORY"] = "octo-org/other"
    outcome = invoke("ci", "comment", "--from", str(report), env=ci_env)
    assert outcome.exit_code == 1
    assert f"error: {expected}" in outcome.stderr, outcome.output
    assert "Traceback" not in outcome.output
    assert wrong not in outcome.output and TEST_TOKEN not in outcome.output
    as_json = invoke("ci", "comment", "--from", str(report), "--json", env=ci_env)
    assert as_json.exit_code == 1 and as_json.json()["error"]["message"] == expected
