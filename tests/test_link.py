"""`supadeploy link` and `supadeploy projects` against the local API server, and the real Supabase CLI
pointed at that server with `--profile`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from supadeploy.errors import ConfigError
from supadeploy.linking import with_project_ref
from tests.support.cli import invoke
from tests.support.management_api_server import POSTGRES_META, TEST_TOKEN, ManagementApiServer, Project, make_ref

REF = make_ref("linked")
PAUSED = make_ref("paused")
CONFIG = """\
# supadeploy configuration for the portfolio tracker
[project]
default_environment = "local"

[push]
lock_timeout = "10s"   # per statement

[environments.staging]   # the shared staging project
db_url_env = "STAGING_DB_URL"  # set in CI

# Production: protected
[environments.production]
db_url_env = "PRODUCTION_DB_URL"
protected = true
"""


@pytest.fixture
def server(db_url: str) -> Iterator[ManagementApiServer]:
    projects = [Project(ref=REF, name="portfolio-staging", db_url=db_url, region="eu-central-1"),
                Project(ref=PAUSED, name="old-demo", db_url=db_url, status="INACTIVE")]
    with ManagementApiServer(projects) as running:
        yield running
        assert running.violations == []


def env(server: ManagementApiServer, **extra: str) -> dict[str, str]:
    return {"SUPABASE_ACCESS_TOKEN": TEST_TOKEN, "SUPADEPLOY_API_URL": server.url, "SUPABASE_CLI": "", **extra}


def test_link_records_the_ref_keeping_comments_and_order(server: ManagementApiServer, tmp_path: Path) -> None:
    (tmp_path / "supadeploy.toml").write_text(CONFIG)
    outcome = invoke("link", "staging", "--project-ref", REF, "--workdir", str(tmp_path), "--skip-cli",
                     env=env(server))
    assert outcome.exit_code == 0, outcome.output
    assert f"linked environment 'staging' to portfolio-staging ({REF}, eu-central-1, ACTIVE_HEALTHY)" in outcome.stdout
    expected = CONFIG.replace('db_url_env = "STAGING_DB_URL"  # set in CI\n',
                              f'db_url_env = "STAGING_DB_URL"  # set in CI\nproject_ref = "{REF}"\n')
    assert (tmp_path / "supadeploy.toml").read_text() == expected

    again = invoke("link", "staging", "--project-ref", REF, "--workdir", str(tmp_path), "--skip-cli", "--json",
                   env=env(server))
    assert again.exit_code == 0 and again.json()["config_changed"] is False
    assert (tmp_path / "supadeploy.toml").read_text() == expected

    invoke("link", "preview", "--project-ref", REF, "--workdir", str(tmp_path), "--skip-cli", env=env(server))
    assert (tmp_path / "supadeploy.toml").read_text() == expected + f'\n[environments.preview]\nproject_ref = "{REF}"\n'


def test_project_ref_edits() -> None:
    text = '[environments.staging]\nproject_ref = "aaaaaaaaaaaaaaaaaaaa" # old\n\n[environments.production]\n'
    assert with_project_ref(text, "staging", REF) == \
        f'[environments.staging]\nproject_ref = "{REF}" # old\n\n[environments.production]\n'
    assert with_project_ref(text, "production", REF).endswith(f'[environments.production]\nproject_ref = "{REF}"\n')
    assert with_project_ref("", "staging", REF) == f'[environments.staging]\nproject_ref = "{REF}"\n'
    crlf = '[environments.staging]\r\ndb_url_env = "X"\r\n'
    assert with_project_ref(crlf, "staging", REF) == f'{crlf}project_ref = "{REF}"\r\n'
    with pytest.raises(ConfigError, match=r"is not written as an \[environments\.staging\] table"):
        with_project_ref('[environments]\nstaging = { db_url_env = "X" }\n', "staging", REF)


def test_link_refuses_bad_unknown_and_unhealthy_projects(server: ManagementApiServer, tmp_path: Path) -> None:
    cases = [
        ("abcdefghij", "'abcdefghij' is not a Supabase project ref (20 lowercase letters)"),
        ("z" * 20, f"project {'z' * 20} does not exist (404 Not Found)"),
        (PAUSED, f"project {PAUSED} ('old-demo') is INACTIVE, not ACTIVE_HEALTHY"),
    ]
    for ref, message in cases:
        outcome = invoke("link", "staging", "--project-ref", ref, "--workdir", str(tmp_path), env=env(server))
        assert outcome.exit_code == 1, outcome.output
        assert message in outcome.stderr
    assert not (tmp_path / "supadeploy.toml").exists()


def test_projects_lists_what_the_token_sees(server: ManagementApiServer, tmp_path: Path) -> None:
    outcome = invoke("projects", "--workdir", str(tmp_path), env=env(server))
    assert outcome.exit_code == 0
    assert outcome.stdout.splitlines() == [
        "NAME               REF                   REGION        STATUS",
        f"portfolio-staging  {REF}  eu-central-1  ACTIVE_HEALTHY",
        f"old-demo           {PAUSED}  us-east-1     INACTIVE",
    ]
    document = invoke("projects", "--workdir", str(tmp_path), "--json", env=env(server)).json()
    assert [(p["name"], p["ref"], p["region"], p["status"]) for p in document["projects"]] == [
        ("portfolio-staging", REF, "eu-central-1", "ACTIVE_HEALTHY"), ("old-demo", PAUSED, "us-east-1", "INACTIVE")]
    bad = invoke("projects", "--workdir", str(tmp_path), "--json", env=env(server, SUPABASE_ACCESS_TOKEN="sbp_nope"))
    assert bad.exit_code == 1 and bad.json()["error"]["type"] == "BadToken"
    assert "sbp_nope" not in bad.output
    missing = invoke("projects", "--workdir", str(tmp_path), env=env(server, SUPABASE_ACCESS_TOKEN=""))
    assert missing.exit_code == 1 and "$SUPABASE_ACCESS_TOKEN is not set" in missing.stderr


@pytest.mark.cli
def test_link_also_links_the_supabase_cli(server: ManagementApiServer, tmp_path: Path, supabase_cli: str) -> None:
    (tmp_path / "supadeploy.toml").write_text(CONFIG)
    outcome = invoke("link", "staging", "--project-ref", REF, "--workdir", str(tmp_path), "--json",
                     env=env(server, SUPABASE_CLI=supabase_cli))
    assert outcome.exit_code == 0, outcome.output
    assert outcome.json()["supabase_cli"] == {
        "ran": True, "ok": True, "message": "`supabase link` linked this folder for the Supabase CLI"}
    assert (tmp_path / "supabase" / ".temp" / "project-ref").read_text() == REF
    for path in tmp_path.rglob("*"):  # no secret written to disk
        if path.is_file():
            assert TEST_TOKEN not in path.read_text(errors="replace"), path
    assert server.count("GET /v1/projects/{ref}/api-keys") == 1   # the CLI went to our server through the profile


@pytest.mark.cli
def test_the_real_cli_agrees_with_the_server(server: ManagementApiServer, tmp_path: Path, supabase_cli: str,
                                             db_url: str) -> None:
    profile = server.profile(tmp_path / "profile.json")

    def supabase(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([supabase_cli, *args, "--profile", str(profile)], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                                           "SUPABASE_ACCESS_TOKEN": TEST_TOKEN})

    listing = supabase("projects", "list", "--output-format", "json")
    assert listing.returncode == 0, listing.stderr
    assert {(p["ref"], p["name"]) for p in json.loads(listing.stdout)["projects"]} >= {(REF, "portfolio-staging"),
                                                                          (PAUSED, "old-demo")}
    if not POSTGRES_META.exists():
        pytest.skip("@supabase/postgres-meta is not in .tools (make tools)")
    subprocess.run(["psql", db_url, "-qc", "create table public.notes (id bigint primary key, body text)"], check=True)
    types = supabase("gen", "types", "--project-id", REF)
    assert types.returncode == 0, types.stderr
    assert "notes: {" in types.stdout and "body: string | null" in types.stdout
    assert server.count("GET /v1/projects/{ref}/types/typescript") == 1
