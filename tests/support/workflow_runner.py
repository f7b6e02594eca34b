"""Runs a job of a generated GitHub Actions workflow here, step by step, as GitHub would.

`run:` steps go through `bash -e` with the job's and the step's `env`; `${{ secrets.X }}`, `${{ vars.X }}` and
`${{ github.X }}` come from a test context, `${{ runner.temp }}` is a fresh folder ($RUNNER_TEMP) and
`${{ steps.ID.outputs.NAME }}` what step ID wrote to its own GITHUB_OUTPUT file; GITHUB_ENV and
GITHUB_STEP_SUMMARY are files. A step's `if:` is evaluated (status functions, `&&`, `==` / `!=` against a
string): after a failure only steps under `always()`, `!cancelled()` or `failure()` run. The `services:`
Postgres is the local test server; `actions/checkout` is the project folder itself; `actions/setup-python` is
the interpreter running the tests (`python` on PATH); `actions/upload-artifact` copies its `path` into
``artifact_dir(project, name)``. The one substitution: the install step, which must be the pinned install
line, is replaced by putting this checkout's supadeploy on PATH.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml  # type: ignore[import-untyped]  # no types-PyYAML in the test extras

from tests.conftest import REPO_ROOT

_EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")
_REFERENCE = re.compile(r"(secrets|vars|github|runner|matrix)\.([A-Za-z_][A-Za-z0-9_]*)"
                        r"|(steps|needs)\.([A-Za-z_][A-Za-z0-9_-]*)\.outputs\.([A-Za-z_][A-Za-z0-9_-]*)")
_COMPARISON = re.compile(r"^(?P<left>[^=!]+?)\s*(?P<operator>==|!=)\s*'(?P<right>[^']*)'$")
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
    outputs: dict[str, str] = field(default_factory=dict)
    """What the step wrote to its GITHUB_OUTPUT file."""


@dataclass
class JobState:
    runner_temp: Path
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    """step id → its outputs"""
    failed: bool = False
    matrix: dict[str, str] = field(default_factory=dict)
    """This job's matrix entry (``${{ matrix.X }}``)."""
    needs: dict[str, dict[str, str]] = field(default_factory=dict)
    """The outputs of the jobs this one needs (``${{ needs.J.outputs.X }}``)."""
    artifacts: Path | None = None
    """Where upload-artifact puts artifacts (default: next to the runner folder of ``run_job``)."""


def _reference(text: str, context: WorkflowContext, state: JobState | None) -> str:
    match = _REFERENCE.fullmatch(text.strip())
    assert match, f"the workflow runner does not evaluate ${{{{ {text} }}}}"
    if match.group(3):
        assert state is not None, text
        outputs = state.outputs if match.group(3) == "steps" else state.needs
        return outputs.get(match.group(4), {}).get(match.group(5), "")
    if match.group(1) == "matrix":
        assert state is not None and match.group(2) in state.matrix, text
        return str(state.matrix[match.group(2)])
    if match.group(1) == "runner":
        assert match.group(2) == "temp" and state is not None, text
        return str(state.runner_temp)
    source: dict[str, str] = getattr(context, match.group(1))
    return source.get(match.group(2), "")


def resolve(text: str, context: WorkflowContext, state: JobState | None = None) -> str:
    return _EXPRESSION.sub(lambda match: _reference(match.group(1), context, state), text)


def if_holds(expression: str, context: WorkflowContext, state: JobState) -> bool:
    """A step's ``if:``: status functions and string comparisons joined by ``&&`` (default: ``success()``)."""
    inner = expression.strip()
    if inner.startswith("${{") and inner.endswith("}}"):
        inner = inner[3:-2].strip()
    terms = [term.strip() for term in inner.split("&&")] if inner else ["success()"]
    if not any(term in ("always()", "!cancelled()", "failure()", "success()") for term in terms):
        terms.append("success()")
    results = []
    for term in terms:
        if term in ("always()", "!cancelled()"):
            results.append(True)
        elif term in ("success()", "failure()"):
            results.append(state.failed == (term == "failure()"))
        else:
            comparison = _COMPARISON.match(term)
            assert comparison, f"the workflow runner does not evaluate `if: {expression}`"
            value = _reference(comparison.group("left"), context, state)
            results.append((value == comparison.group("right")) == (comparison.group("operator") == "=="))
    return all(results)


def artifact_dir(project: Path, name: str) -> Path:
    """Where ``actions/upload-artifact`` put the artifact ``name`` of the last job run in ``project``."""
    return _runner_dir(project) / "artifacts" / name


def step_summary(project: Path) -> str:
    """What the steps of the last job run in ``project`` wrote to GITHUB_STEP_SUMMARY."""
    return (_runner_dir(project) / "github_step_summary").read_text()


def _runner_dir(project: Path) -> Path:
    return project.parent / f"{project.name}-runner"


def _upload_artifact(step: dict[str, Any], project: Path, context: WorkflowContext, state: JobState) -> StepRun:
    settings = {key: resolve(str(value), context, state) for key, value in (step.get("with") or {}).items()}
    name = settings.get("name", "artifact")
    sources = [project / line.strip() for line in settings["path"].splitlines() if line.strip()]
    found = [source for source in sources if source.exists()]
    target = (state.artifacts or _runner_dir(project) / "artifacts") / name
    if target.exists():
        return StepRun(step.get("name", name), 1, f"an artifact named {name} exists already")
    if not found:
        missing = settings.get("if-no-files-found", "warn")
        return StepRun(step.get("name", name), 1 if missing == "error" else 0, f"no files found at {sources}")
    target.mkdir(parents=True)
    for source in found:
        if source.is_dir():
            shutil.copytree(source, target / source.name)
        else:
            shutil.copy2(source, target / source.name)
    return StepRun(step.get("name", name), 0, f"uploaded {len(found)} path(s) as {name}",
                   outputs={"artifact-id": "1", "artifact-url": f"https://github.invalid/artifacts/{name}"})


def condition_holds(condition: str, *, failed: bool, context: WorkflowContext) -> bool:
    """A step's ``if:`` after a failed (or no failed) step; without a status function, GitHub adds ``success()``."""
    state = JobState(runner_temp=Path("."))
    state.failed = failed
    return if_holds(condition, context, state)


def _supadeploy_on_path(bin_dir: Path) -> None:
    """This checkout's supadeploy, and `python` as actions/setup-python would set it up."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    shims = {"supadeploy": f'PYTHONPATH="{REPO_ROOT / "src"}" exec "{sys.executable}" -m supadeploy "$@"',
             "python": f'exec "{sys.executable}" "$@"'}
    for name, command in shims.items():
        shim = bin_dir / name
        shim.write_text(f"#!/bin/sh\n{command}\n")
        shim.chmod(0o755)


def _job_env(job: dict[str, Any], context: WorkflowContext, state: JobState) -> dict[str, str]:
    env = {name: resolve(str(value), context, state) for name, value in (job.get("env") or {}).items()}
    if "postgres" in (job.get("services") or {}):
        address = urlsplit(context.postgres_service_url).netloc.rpartition("@")[2]
        env = {name: value.replace(_SERVICE_ADDRESS, address) for name, value in env.items()}
    return env


def _read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.partition("=") for line in path.read_text().splitlines() if "=" in line)
    return {name: value for name, _, value in pairs}


def run_job(workflow: Path, job_name: str, project: Path, context: WorkflowContext, *,
            not_here: tuple[str, ...] = ()) -> list[StepRun]:
    """Run the job's steps in ``project`` as GitHub would: in order, after a failure only those whose ``if:``
    says so; the steps that ran are returned. Steps named in ``not_here`` are left out (each must exist)."""
    job = yaml.safe_load(workflow.read_text())["jobs"][job_name]
    runner_dir = _runner_dir(project)
    if runner_dir.exists():
        shutil.rmtree(runner_dir)
    runs, _ = run_steps(job, project, runner_dir, context, JobState(runner_temp=runner_dir / "temp"),
                        not_here=not_here)
    return runs


def run_steps(job: dict[str, Any], workspace: Path, runner_dir: Path, context: WorkflowContext, state: JobState, *,
              not_here: tuple[str, ...] = (), workflow_env: dict[str, str] | None = None) -> tuple[list[StepRun], str]:
    """The steps of ``job`` run in ``workspace`` (the checkout), the runner's files in ``runner_dir``: the steps
    that ran, and what they wrote to GITHUB_STEP_SUMMARY."""
    _supadeploy_on_path(runner_dir / "bin")
    state.runner_temp.mkdir(parents=True)
    files = {name: runner_dir / name.lower() for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY")}
    for path in files.values():
        path.write_text("")
    env = {**os.environ, **{name: str(path) for name, path in files.items()}, "GITHUB_ACTIONS": "true",
           "CI": "true", "RUNNER_TEMP": str(state.runner_temp), "GITHUB_WORKSPACE": str(workspace),
           "PATH": f"{runner_dir / 'bin'}:{PG_BIN}:{os.environ['PATH']}",
           **{f"GITHUB_{name.upper()}": value for name, value in context.github.items()}, **(workflow_env or {}),
           **_job_env(job, context, state)}
    env.pop("PYTHONPATH", None)
    names = [resolve(str(step.get("name")), context, state) for step in job["steps"]]
    assert all(name in names for name in not_here), names
    runs: list[StepRun] = []
    for step in job["steps"]:
        uses = step.get("uses", "")
        if uses.startswith(("actions/checkout@", "actions/setup-python@")):
            continue
        name = resolve(str(step.get("name", step.get("run", uses))), context, state)
        if name in not_here or not if_holds(str(step.get("if", "")), context, state):
            continue
        if name == "Install supadeploy":
            assert step["run"] == context.install_line, step["run"]
            continue
        if uses.startswith("actions/upload-artifact@"):
            run = _upload_artifact(step, workspace, context, state)
        elif uses.startswith("actions/download-artifact@"):
            run = _download_artifact(step, workspace, context, state)
        else:
            assert not uses, f"the workflow runner does not run {uses}"
            run = _run_step(step, name, workspace, {**env, **_read_env_file(files["GITHUB_ENV"])}, context, state)
        runs.append(run)
        if "id" in step:
            state.outputs[step["id"]] = run.outputs
        state.failed = state.failed or run.returncode != 0
    return runs, files["GITHUB_STEP_SUMMARY"].read_text()


def _download_artifact(step: dict[str, Any], workspace: Path, context: WorkflowContext, state: JobState) -> StepRun:
    """``actions/download-artifact``: the artifacts named ``name`` or matching ``pattern`` (all without either)
    into ``path``, each in a folder of its name unless ``merge-multiple``."""
    settings = {key: resolve(str(value), context, state) for key, value in (step.get("with") or {}).items()}
    assert state.artifacts is not None, "download-artifact needs a workflow run (run_workflow)"
    target = workspace / settings.get("path", ".")
    chosen = sorted(artifact for artifact in (state.artifacts.iterdir() if state.artifacts.exists() else ())
                    if fnmatch.fnmatchcase(artifact.name, settings.get("name") or settings.get("pattern", "*")))
    if "name" in settings and not chosen:
        return StepRun(step.get("name", "download"), 1, f"no artifact named {settings['name']}")
    merge = settings.get("merge-multiple", "false") == "true" and "name" not in settings
    for artifact in chosen:
        shutil.copytree(artifact, target if merge else target / artifact.name, dirs_exist_ok=True)
    return StepRun(step.get("name", "download"), 0, f"downloaded {len(chosen)} artifact(s) to {target}")


def _run_step(step: dict[str, Any], name: str, project: Path, env: dict[str, str], context: WorkflowContext,
              state: JobState) -> StepRun:
    outputs = state.runner_temp.parent / f"output-{len(state.outputs)}-{uuid.uuid4().hex}"
    outputs.write_text("")
    step_env = {key: resolve(str(value), context, state) for key, value in (step.get("env") or {}).items()}
    completed = subprocess.run(["bash", "-e", "-c", resolve(step["run"], context, state)], cwd=project,
                               env={**env, **step_env, "GITHUB_OUTPUT": str(outputs)},
                               capture_output=True, text=True, timeout=300)
    return StepRun(name, completed.returncode, completed.stdout + completed.stderr, _read_outputs(outputs))


def _read_outputs(path: Path) -> dict[str, str]:
    """``name=value`` lines and ``name<<DELIMITER`` blocks, as GitHub reads a GITHUB_OUTPUT file."""
    outputs: dict[str, str] = {}
    lines = iter(path.read_text().splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, _, delimiter = line.partition("<<")
            block = []
            for inner in lines:
                if inner == delimiter:
                    break
                block.append(inner)
            outputs[key] = "\n".join(block)
        elif "=" in line:
            key, _, value = line.partition("=")
            outputs[key] = value
    return outputs
