"""In GitHub Actions: annotations at file:line, the step summary and step outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from supadeploy.report.github import annotation
from tests.support.cli import invoke, write_migration


@pytest.fixture
def github_env(tmp_path: Path) -> dict[str, str]:
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs.txt"
    return {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs),
            "GITHUB_WORKSPACE": str(tmp_path / "repo"), "GITHUB_ACTOR": "octocat"}


def test_failed_push_annotates_the_line_and_summarises(tmp_path: Path, db_url: str,
                                                       github_env: dict[str, str]) -> None:
    project = tmp_path / "repo"
    (project / "supabase" / "migrations").mkdir(parents=True)
    write_migration(project, "001_a.sql", "create table public.a (id int);\n")
    write_migration(project, "002_b.sql", "create table public.b (\n  id int,\n  x nosuchtype\n);\n")
    outcome = invoke("push", "--workdir", str(project), "--db-url", db_url, env=github_env)
    assert outcome.exit_code == 1
    expected = ("::error file=supabase/migrations/002_b.sql,line=3,col=5,"
                "title=migration 002_b failed::type \"nosuchtype\" does not exist (SQLSTATE 42704)")
    assert expected in outcome.stdout
    summary = Path(github_env["GITHUB_STEP_SUMMARY"]).read_text()
    assert "### supadeploy push" in summary
    assert "| 001 | a |" in summary and "| applied |" in summary
    assert "| 002 | b | - | failed |" in summary
    assert ":postgres@" not in summary
    outputs = Path(github_env["GITHUB_OUTPUT"]).read_text().splitlines()
    assert "applied=1" in outputs and "failed=1" in outputs and "applied_versions=001" in outputs


def test_json_mode_keeps_stdout_for_the_document(tmp_path: Path, db_url: str, github_env: dict[str, str]) -> None:
    project = tmp_path / "repo"
    (project / "supabase" / "migrations").mkdir(parents=True)
    write_migration(project, "001_a.sql", "select 1/0;\n")
    outcome = invoke("push", "--workdir", str(project), "--db-url", db_url, "--json", env=github_env)
    assert outcome.exit_code == 1
    assert outcome.json()["result"]["failed"]["sqlstate"] == "22012"
    assert "::error file=supabase/migrations/001_a.sql,line=1,col=1," in outcome.stderr


def test_annotation_escaping() -> None:
    assert annotation("warn", "50% done\nnext: line", file="a,b:c.sql", line=2) == \
        "::warning file=a%2Cb%3Ac.sql,line=2::50%25 done%0Anext: line"
    assert annotation("error", "postgresql://u:hunter2@h/db failed") == "::error::postgresql://u:****@h/db failed"
