"""Runs a whole generated GitHub Actions workflow here, job by job, as GitHub would (its steps through
``workflow_runner.run_steps``).

A job starts once every job it ``needs`` has ended; without an ``if:`` it runs only when they all succeeded
(``success()``), else it is skipped, as a job under a skipped or failed need is on GitHub; ``if: always()``
runs it regardless. ``needs.J.outputs.X`` are J's ``outputs:`` evaluated on its steps' outputs (of a
matrix job: the last entry's, as GitHub keeps one). ``strategy.matrix`` is a mapping or
``${{ fromJSON(needs.J.outputs.X) }}``; its entries (``include`` rows, and the product of the other keys) are
run ``max-parallel`` at once; with ``fail-fast`` (GitHub's default) a failed entry cancels the entries not yet
started. The one deviation: GitHub would also cancel the entries still running (SIGTERM to their steps);
here they run to their end, which is what a job that finished just before the cancellation sees.

Every job gets a fresh checkout (a copy of the project folder, taken when the workflow starts) and its own
runner folder; jobs share nothing but the workflow's artifacts (``actions/upload-artifact`` and
``actions/download-artifact``). The workflow's ``env`` applies to every job; ``environment:`` (its reviewers)
is GitHub's to enforce and is not modelled.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no types-PyYAML in the test extras

from tests.support.workflow_runner import JobState, StepRun, WorkflowContext, if_holds, resolve, run_steps

_FROM_JSON = re.compile(r"\$\{\{\s*fromJSON\(\s*needs\.([\w-]+)\.outputs\.([\w-]+)\s*\)\s*\}\}")


@dataclass
class JobRun:
    job: str
    matrix: dict[str, str]
    result: str
    """success, failure, cancelled (fail-fast: never started) or skipped."""
    steps: list[StepRun] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""

    def output(self, name: str) -> str:
        """What the step named ``name`` printed."""
        return next(step.output for step in self.steps if step.name == name)


@dataclass
class WorkflowRun:
    jobs: dict[str, list[JobRun]]
    artifacts: Path

    def result(self, job: str) -> str:
        """A job's result as ``needs.J.result`` says it: a matrix fails when one entry failed."""
        results = {run.result for run in self.jobs[job]}
        for result in ("failure", "cancelled", "skipped"):
            if result in results:
                return result
        return "success"

    @property
    def step_summary(self) -> str:
        return "".join(run.summary for runs in self.jobs.values() for run in runs)


def run_workflow(workflow: Path, project: Path, context: WorkflowContext, *, runner_root: Path) -> WorkflowRun:
    """Run every job of ``workflow`` on a checkout of ``project``; runner folders and artifacts under
    ``runner_root`` (emptied first)."""
    document = yaml.safe_load(workflow.read_text())
    if runner_root.exists():
        shutil.rmtree(runner_root)
    checkout = runner_root / "checkout"
    shutil.copytree(project, checkout, ignore=shutil.ignore_patterns(".git"))
    workflow_env = {name: resolve(str(value), context) for name, value in (document.get("env") or {}).items()}
    run = WorkflowRun({}, runner_root / "artifacts")
    run.artifacts.mkdir(parents=True)
    jobs: dict[str, Any] = document["jobs"]
    pending = list(jobs)
    while pending:
        ready = next(name for name in pending if all(need in run.jobs for need in _needs(jobs[name])))
        pending.remove(ready)
        run.jobs[ready] = _run_job(ready, jobs[ready], run, context, checkout, runner_root, workflow_env)
    return run


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


def _run_job(name: str, job: dict[str, Any], run: WorkflowRun, context: WorkflowContext, checkout: Path,
             runner_root: Path, workflow_env: dict[str, str]) -> list[JobRun]:
    needs = _needs(job)
    outputs = {need: run.jobs[need][-1].outputs if run.jobs[need] else {} for need in needs}
    gate = JobState(runner_temp=Path("."), failed=any(run.result(need) != "success" for need in needs),
                    needs=outputs)
    if not if_holds(str(job.get("if", "")), context, gate):
        return [JobRun(name, {}, "skipped")]
    strategy = job.get("strategy") or {}
    entries = _matrix(strategy.get("matrix"), outputs)
    limit = int(strategy.get("max-parallel", len(entries) or 1))
    fail_fast = strategy.get("fail-fast", True) is not False
    results: list[JobRun | None] = [None] * len(entries)
    queue = list(range(len(entries)))
    with ThreadPoolExecutor(max_workers=limit, thread_name_prefix=f"workflow-{name}") as pool:
        running: dict[Future[JobRun], int] = {}
        failed = False
        while queue or running:
            while queue and len(running) < limit and not failed:
                index = queue.pop(0)
                running[pool.submit(_run_entry, name, job, entries[index], index, outputs, context, checkout,
                                    runner_root, run.artifacts, workflow_env)] = index
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                entry = results[running.pop(future)] = future.result()
                failed = failed or (fail_fast and entry.result == "failure")
    return [result or JobRun(name, entries[index], "cancelled") for index, result in enumerate(results)]


def _matrix(matrix: Any, outputs: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    if matrix is None:
        return [{}]
    if isinstance(matrix, str):
        match = _FROM_JSON.fullmatch(matrix.strip())
        assert match, f"the workflow runner does not evaluate the matrix {matrix}"
        matrix = json.loads(outputs[match.group(1)][match.group(2)])
    assert isinstance(matrix, dict), matrix
    axes = {key: values for key, values in matrix.items() if key not in ("include", "exclude")}
    entries = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())] if axes else []
    entries += [dict(entry) for entry in matrix.get("include") or ()]
    assert entries and len(entries) <= 256, f"a matrix of {len(entries)} jobs"
    return [{key: str(value) for key, value in entry.items()} for entry in entries]


def _run_entry(name: str, job: dict[str, Any], entry: dict[str, str], index: int,
               outputs: dict[str, dict[str, str]], context: WorkflowContext, checkout: Path, runner_root: Path,
               artifacts: Path, workflow_env: dict[str, str]) -> JobRun:
    folder = runner_root / "jobs" / f"{name}-{index + 1}"
    workspace = folder / "workspace"
    shutil.copytree(checkout, workspace)
    state = JobState(runner_temp=folder / "runner" / "temp", matrix=entry, needs=outputs, artifacts=artifacts)
    steps, summary = run_steps(job, workspace, folder / "runner", context, state, workflow_env=workflow_env)
    job_outputs = {key: resolve(str(value), context, state) for key, value in (job.get("outputs") or {}).items()}
    return JobRun(name, entry, "failure" if state.failed else "success", steps, job_outputs, summary)
