"""The workflow `supadeploy ci init --fleet NAME` writes, executed whole by the workflow runner
(tests/support/workflow_graph.py) against 24 member databases of the local server: the plan job, the
canary, each wave's matrix expanded into shard jobs (`needs` honoured, `max-parallel` jobs at once), and the
summary job that makes the jobs' artifacts into one step summary; a failing member in wave 2 skips the
waves after it and a rerun of the workflow after the fix finishes the rollout."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import psycopg
import pytest

import supadeploy
from tests.support.cli import invoke, write_migration
from tests.support.workflow_graph import WorkflowRun, run_workflow
from tests.support.workflow_runner import WorkflowContext

MEMBERS = [f"m{index:02d}" for index in range(1, 25)]
NOTES = ("create table public.notes (id bigint primary key, n int not null);\n"
         "alter table public.notes enable row level security;\n")
POSITIVE = "alter table public.notes add constraint positive check (n > 0);\n"
WORKFLOW = Path(".github") / "workflows" / "supadeploy-fleet-tenants.yml"
SHARD_SIZE = 3
MAX_PARALLEL = 2


class FleetRepository:
    def __init__(self, path: Path, urls: dict[str, str], admin_url: str) -> None:
        self.path, self.urls, self.admin_url = path, urls, admin_url
        self.attempt = 0

    def secrets(self) -> dict[str, str]:
        return {f"FLEET_{member.upper()}_URL": url for member, url in self.urls.items()}

    def run(self, runner_root: Path, run_id: str = "7001") -> WorkflowRun:
        self.attempt += 1
        context = WorkflowContext(
            install_line=f"pip install supadeploy=={supadeploy.__version__}", postgres_service_url=self.admin_url,
            secrets=self.secrets(), github={"run_id": run_id, "run_attempt": str(self.attempt)})
        return run_workflow(self.path / WORKFLOW, self.path, context, runner_root=runner_root)

    def versions(self, member: str) -> list[str]:
        with psycopg.connect(self.urls[member]) as connection:
            exists = connection.execute("select to_regclass('supabase_migrations.schema_migrations')").fetchone()
            if exists is None or exists[0] is None:
                return []
            return [row[0] for row in connection.execute(
                "select version from supabase_migrations.schema_migrations order by version")]

    def log(self, member: str) -> list[tuple[str, str, int | None, datetime, datetime]]:
        with psycopg.connect(self.urls[member]) as connection:
            return [(row[0], row[1], row[2], row[3], row[4]) for row in connection.execute(
                "select status, fleet_run, fleet_wave, started_at, finished_at "
                "from supabase_migrations.supadeploy_deployments order by id")]


@pytest.fixture
def repository(make_db: Callable[[], str], project_dir: Path, pg_admin_url: str) -> FleetRepository:
    urls = {member: make_db() for member in MEMBERS}
    environments = "".join(f'[environments.{member}]\ndb_url_env = "FLEET_{member.upper()}_URL"\n'
                           f"protected = true\n\n" for member in MEMBERS)
    members = ", ".join(f'"{member}"' for member in MEMBERS)
    (project_dir / "supadeploy.toml").write_text(
        f'{environments}[fleets.tenants]\nmembers = [{members}]\ncanary = ["m01"]\nwave_size = 8\nparallel = 2\n',
        encoding="utf-8")
    write_migration(project_dir, "001_notes.sql", NOTES)
    written = invoke("ci", "init", "--fleet", "tenants", "--shard-size", str(SHARD_SIZE), "--max-parallel",
                     str(MAX_PARALLEL), "--workdir", str(project_dir))
    assert written.exit_code == 0, written.output
    assert "4 wave(s), at most 3 matrix job(s) per wave" in written.output
    return FleetRepository(project_dir, urls, pg_admin_url)


def shard_members(run: WorkflowRun, job: str) -> list[list[str]]:
    return [entry.matrix["members"].split(",") for entry in run.jobs[job]]


def test_the_fleet_workflow_rolls_out_plan_canary_then_matrix_waves_and_sums_up(
        repository: FleetRepository, tmp_path: Path) -> None:
    run = repository.run(tmp_path / "runner")
    assert {job: run.result(job) for job in run.jobs} == {
        "plan": "success", "canary": "success", "wave-2": "success", "wave-3": "success", "wave-4": "success",
        "summary": "success"}, [(step.name, step.output) for job in run.jobs.values() for entry in job
                                 for step in entry.steps if step.returncode]
    # each wave's matrix expanded into shards of 3 members, in rollout order
    assert shard_members(run, "wave-2") == [MEMBERS[1:4], MEMBERS[4:7], MEMBERS[7:9]]
    assert shard_members(run, "wave-4") == [MEMBERS[17:20], MEMBERS[20:23], MEMBERS[23:]]
    for member in MEMBERS:
        assert repository.versions(member) == ["001"]
        [(status, fleet_run, _, _, _)] = repository.log(member)
        assert (status, fleet_run) == ("succeeded", "gh-7001")
    logs = {member: repository.log(member)[0] for member in MEMBERS}
    assert [logs[member][2] for member in MEMBERS] == [1] + [2] * 8 + [3] * 8 + [4] * 7
    waves = [MEMBERS[:1], MEMBERS[1:9], MEMBERS[9:17], MEMBERS[17:]]
    for earlier, later in pairwise(waves):  # `needs`: a wave starts after the one before
        assert max(logs[m][4] for m in earlier) <= min(logs[m][3] for m in later)
    # never more than max-parallel jobs times the fleet's parallel (2) members at once
    events = sorted([(log[3], 1) for log in logs.values()] + [(log[4], -1) for log in logs.values()])
    open_at = [sum(step for _, step in events[:index + 1]) for index in range(len(events))]
    assert max(open_at) <= MAX_PARALLEL * 2

    summary = run.step_summary
    assert "### supadeploy fleet tenants: rolled out" in summary
    assert "24 member(s): 24 applied (rollout gh-7001)" in summary
    assert "| 2 | 8 | 8 | 0 | 0 | 0 | 0 | 0 | 0 |" in summary
    reached = invoke("fleet", "status", "tenants", "--run", "gh-7001", "--json", "--workdir", str(repository.path),
                     env=repository.secrets())
    assert reached.json()["reached"] == 24


def test_a_member_failing_in_wave_2_skips_the_later_waves_and_a_rerun_after_the_fix_finishes(
        repository: FleetRepository, tmp_path: Path) -> None:
    assert repository.run(tmp_path / "first").result("summary") == "success"
    with psycopg.connect(repository.urls["m05"], autocommit=True) as connection:
        connection.execute("insert into public.notes values (1, -1)")  # 002 fails on m05 (wave 2, shard 2)
    write_migration(repository.path, "002_positive.sql", POSITIVE)

    run = repository.run(tmp_path / "second", run_id="7002")
    first, failing, third = (entry.result for entry in run.jobs["wave-2"])
    # shards 1 and 2 run at once (max-parallel 2); shard 3 starts only if shard 1 ended before shard 2 failed
    assert (first, failing) == ("success", "failure") and third in ("success", "cancelled")
    assert run.result("wave-2") == "failure"
    assert run.result("wave-3") == "skipped" and run.result("wave-4") == "skipped"
    assert run.result("summary") == "failure"  # it ran (always()) and says the rollout is not done
    assert all(repository.versions(member) == ["001"] for member in MEMBERS[9:])
    assert repository.versions("m05") == ["001"]
    summary = run.step_summary
    assert "### supadeploy fleet tenants: NOT rolled out" in summary
    assert "| m05 | 2 | failed |" in summary and "positive" in summary
    assert "| m10 | 3 | not reached |" in summary
    report = json.loads((run.artifacts / "supadeploy-fleet-tenants-wave-2-shard-2-attempt-2"
                         / "wave-2-shard-2-attempt-2.json").read_text())
    assert {member["name"]: member["status"] for member in report["members"]}["m05"] == "failed"

    with psycopg.connect(repository.urls["m05"], autocommit=True) as connection:
        connection.execute("update public.notes set n = 1")
    rerun = repository.run(tmp_path / "third", run_id="7003")
    assert {job: rerun.result(job) for job in rerun.jobs} == dict.fromkeys(rerun.jobs, "success")
    assert all(repository.versions(member) == ["001", "002"] for member in MEMBERS)
    assert "### supadeploy fleet tenants: rolled out" in rerun.step_summary
    # members the failed run had applied were up to date in the rerun: pushed once each
    assert all(sum(log[0] == "succeeded" for log in repository.log(member)) == 2 for member in MEMBERS)


def test_an_unreachable_member_fails_the_plan_and_no_job_deploys(repository: FleetRepository,
                                                                 tmp_path: Path) -> None:
    repository.urls["m12"] = repository.urls["m12"].rsplit("/", 1)[0] + "/no_such_database"
    run = repository.run(tmp_path / "runner")
    assert run.result("plan") == "failure"
    assert all(run.result(job) == "skipped" for job in ("canary", "wave-2", "wave-3", "wave-4"))
    assert "cannot be reached (m12" in run.jobs["plan"][0].output("Plan every member")
    assert all(repository.versions(member) == [] for member in MEMBERS if member != "m12")
    assert "24 member(s): 24 not reached" in run.step_summary
    assert "A job stopped before deploying (`" in run.step_summary and "cannot be reached (m12" in run.step_summary
