"""Runs a job of a generated GitHub Actions workflow here, step by step, as GitHub would.

`run:` steps go through `bash -e` with the job's and the step's `env`; `${{ secrets.X }}`, `${{ vars.X }}` and
`${{ github.X }}` come from a test context; GITHUB_OUTPUT, GITHUB_ENV and GITHUB_STEP_SUMMARY are files. The
`services:` Postgres is the local test server; `actions/checkout` is the project folder itself;
`actions/setup-python` is the interpreter running the tests. The one substitution: the install step, which
must be the pinned install line, is replaced by putting this checkout's supadeploy on PATH. A step's `if:` is
evaluated as GitHub does for the expressions the generated workflows use (`always()`, `!cancelled()`,
`success()`, `failure()`, `github.X == 'value'`, joined with `&&`); after a failed step only steps whose `if:`
asks for it run. RUNNER_TEMP is a folder of the runner.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml  # type: ignore[import-untyped]  # no types-PyYAML in the test extras

from tests.conftest import REPO_ROOT

_STATUS_FUNCTION = re.compile(r"(!?)\s*(always|cancelled|success|failure)\(\)")
_GITHUB_COMPARISON = re.compile(r"github\.(\w+)\s*(==|!=)\s*'([^']*)'")
_EXPRESSION = re.compile(r"\$\{\{\s*(secrets|vars|github)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_SERVICE_ADDRESS = "localhost:5432"
PG_BIN = "/usr/lib/postgresql/15/bin"


@dataclass
class WorkflowContext:
    install_line: str
    """What the install step must run (it is then replaced by this checkout)."""
    postgres_service_url: str
    """The local server standing in for the job's `services: postgres` (its host:port replace localhost:5432)."""
    secrets: dict[str, str] = field(default_factory=dict)
    vars: dict[str, str] = field(default_factory=dict)
    github: dict[str, str] = field(default_factory=dict)


@dataclass
class StepRun:
    name: str
    returncode: int
    output: str


def resolve(text: str, context: WorkflowContext) -> str:
    def value(match: re.Match[str]) -> str:
        source: dict[str, str] = getattr(context, match.group(1))
        return source.get(match.group(2), "")

    return _EXPRESSION.sub(value, text)


def condition_holds(condition: str, *, failed: bool, context: WorkflowContext) -> bool:
    """A step's ``if:``; without a status function, GitHub adds ``success()``."""
    text = condition.strip().removeprefix("${{").removesuffix("}}").strip()
    holds, asks_status = True, False
    for term in (part.strip() for part in text.split("&&")):
        status = _STATUS_FUNCTION.fullmatch(term)
        comparison = _GITHUB_COMPARISON.fullmatch(term)
        if status:
            asks_status = True
            value = {"always": True, "cancelled": False, "success": not failed, "failure": failed}[status.group(2)]
            holds = holds and (value != bool(status.group(1)))
        elif comparison:
            actual = context.github.get(comparison.group(1), "")
            holds = holds and ((actual == comparison.group(3)) == (comparison.group(2) == "=="))
        else:
            raise AssertionError(f"the workflow runner cannot evaluate `if: {condition}` ({term})")
    return holds and (asks_status or not failed)


def _supadeploy_on_path(bin_dir: Path) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "supadeploy"
    shim.write_text(f'#!/bin/sh\nPYTHONPATH="{REPO_ROOT / "src"}" exec "{sys.executable}" -m supadeploy "$@"\n')
    shim.chmod(0o755)


def _job_env(job: dict[str, Any], context: WorkflowContext) -> dict[str, str]:
    env = {name: resolve(str(value), context) for name, value in (job.get("env") or {}).items()}
    if "postgres" in (job.get("services") or {}):
        address = urlsplit(context.postgres_service_url).netloc.rpartition("@")[2]
        env = {name: value.replace(_SERVICE_ADDRESS, address) for name, value in env.items()}
    return env


def _read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.partition("=") for line in path.read_text().splitlines() if "=" in line)
    return {name: value for name, _, value in pairs}


def run_job(workflow: Path, job_name: str, project: Path, context: WorkflowContext, *,
            not_here: tuple[str, ...] = ()) -> list[StepRun]:
    """Run the job's steps in order in ``project``; after one fails, only the steps whose ``if:`` asks to run
    after a failure. Steps named in ``not_here`` are left out (each must exist)."""
    job = yaml.safe_load(workflow.read_text())["jobs"][job_name]
    runner_dir = project.parent / f"{project.name}-runner"
    _supadeploy_on_path(runner_dir / "bin")
    files = {name: runner_dir / name.lower() for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY")}
    for path in files.values():
        path.write_text("")
    (runner_dir / "temp").mkdir(exist_ok=True)
    env = {**os.environ, **{name: str(path) for name, path in files.items()}, "GITHUB_ACTIONS": "true",
           "RUNNER_TEMP": str(runner_dir / "temp"),
           "CI": "true", "PATH": f"{runner_dir / 'bin'}:{PG_BIN}:{os.environ['PATH']}", **_job_env(job, context)}
    env.pop("PYTHONPATH", None)
    names = [step.get("name") for step in job["steps"]]
    assert all(name in names for name in not_here), names
    runs: list[StepRun] = []
    failed = False
    for step in job["steps"]:
        uses = step.get("uses", "")
        if uses.startswith(("actions/checkout@", "actions/setup-python@")):
            continue
        name = step.get("name", step.get("run", ""))
        if name in not_here:
            continue
        if not condition_holds(str(step.get("if", "success()")), failed=failed, context=context):
            continue
        if name == "Install supadeploy":
            assert step["run"] == context.install_line, step["run"]
            continue
        step_env = {key: resolve(str(value), context) for key, value in (step.get("env") or {}).items()}
        completed = subprocess.run(["bash", "-e", "-c", resolve(step["run"], context)], cwd=project,
                                   env={**env, **_read_env_file(files["GITHUB_ENV"]), **step_env},
                                   capture_output=True, text=True, timeout=300)
        runs.append(StepRun(name, completed.returncode, completed.stdout + completed.stderr))
        failed = failed or completed.returncode != 0
    return runs
