"""`supadeploy fleet push|status` on 24 member databases of the local server: canary then waves, never more than
--parallel at once (checked on the deploy logs' timestamps), halting on the first failure and resuming after the
fix, an unreachable or drifted member stopping the rollout before anything is applied."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import Outcome, invoke, write_migration

MEMBERS = [f"m{index:02d}" for index in range(1, 25)]
PARALLEL = 3
NOTES = "create table public.notes (id bigint primary key, n int not null);\n"
POSITIVE = "alter table public.notes add constraint positive check (n > 0);\n"


@dataclass
class FleetProject:
    path: Path
    urls: dict[str, str]
    env: dict[str, str]

    def run(self, *args: str) -> Outcome:
        return invoke("fleet", *args, "--workdir", str(self.path), env=self.env)

    def versions(self, member: str) -> list[str]:
        with psycopg.connect(self.urls[member]) as connection:
            exists = connection.execute(
                "select to_regclass('supabase_migrations.schema_migrations') is not null").fetchone()
            if not exists or not exists[0]:
                return []
            return [row[0] for row in connection.execute(
                "select version from supabase_migrations.schema_migrations order by version")]

    def runs(self, member: str) -> list[tuple[str, str, datetime, datetime]]:
        return [(run.command, run.status, run.started_at, run.finished_at) for run in self.log(member)]

    def log(self, member: str) -> list[LoggedRun]:
        with psycopg.connect(self.urls[member]) as connection:
            return [LoggedRun(*row) for row in connection.execute(
                "select command, status, started_at, finished_at, fleet_run, fleet_wave "
                "from supabase_migrations.supadeploy_deployments order by id")]


@dataclass(frozen=True)
class LoggedRun:
    command: str
    status: str
    started_at: datetime
    finished_at: datetime
    fleet_run: str | None
    fleet_wave: int | None


@pytest.fixture
def fleet(make_db: Callable[[], str], project_dir: Path) -> FleetProject:
    urls = {member: make_db() for member in MEMBERS}
    environments = "".join(f'[environments.{member}]\ndb_url_env = "FLEET_{member.upper()}_URL"\n\n'
                           for member in MEMBERS)
    members = ", ".join(f'"{member}"' for member in MEMBERS)
    (project_dir / "supadeploy.toml").write_text(
        f'{environments}[fleets.tenants]\nmembers = [{members}]\ncanary = ["m01"]\nwave_size = 8\n'
        f"parallel = {PARALLEL}\n", encoding="utf-8")
    write_migration(project_dir, "001_notes.sql", NOTES)
    env = {f"FLEET_{member.upper()}_URL": url for member, url in urls.items()}
    return FleetProject(project_dir, urls, env)


def overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    """The most intervals open at one moment."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                    key=lambda event: (event[0], event[1]))
    most = current = 0
    for _, step in events:
        current += step
        most = max(most, current)
    return most


def test_a_clean_rollout_goes_canary_then_waves_never_more_than_parallel_at_once(fleet: FleetProject) -> None:
    write_migration(fleet.path, "002_positive.sql", POSITIVE)
    outcome = fleet.run("push", "tenants", "--json")
    assert outcome.exit_code == 0, outcome.output
    document = outcome.json()
    assert document["counts"]["applied"] == 24 and document["halted"] is None
    assert [member["wave"] for member in document["members"]] == [1] + [2] * 8 + [3] * 8 + [4] * 7
    for member in MEMBERS:
        assert fleet.versions(member) == ["001", "002"]
    runs = {member: fleet.runs(member) for member in MEMBERS}
    assert all([(command, status) for command, status, _, _ in member_runs] == [("fleet push", "succeeded")]
               for member_runs in runs.values())
    intervals = {member: (member_runs[0][2], member_runs[0][3]) for member, member_runs in runs.items()}
    assert overlap(list(intervals.values())) <= PARALLEL
    waves = [MEMBERS[:1], MEMBERS[1:9], MEMBERS[9:17], MEMBERS[17:]]
    for earlier, later in pairwise(waves):
        assert max(intervals[m][1] for m in earlier) <= min(intervals[m][0] for m in later)

    # every member's deploy log names the rollout and the member's wave
    run_id = document["run_id"]
    assert all(fleet.log(m)[0].fleet_run == run_id for m in MEMBERS)
    assert [fleet.log(m)[0].fleet_wave for m in MEMBERS] == [1] + [2] * 8 + [3] * 8 + [4] * 7

    again = fleet.run("push", "tenants", "--json")  # nothing pending: nothing pushed, no new deploy-log row
    assert again.exit_code == 0 and again.json()["counts"]["up to date"] == 24
    assert all(len(fleet.runs(member)) == 1 for member in MEMBERS)
    reached = fleet.run("status", "tenants", "--run", run_id, "--json").json()
    assert reached["reached"] == 24 and reached["run_id"] == run_id
    assert reached["members"][0]["run"]["status"] == "succeeded" and reached["members"][0]["run"]["wave"] == 1
    assert fleet.run("status", "tenants", "--run", again.json()["run_id"], "--json").json()["reached"] == 0


def test_a_failure_in_wave_2_starts_nothing_new_and_a_rerun_after_the_fix_resumes(fleet: FleetProject) -> None:
    assert fleet.run("push", "tenants", "--no-verify").exit_code == 0
    with psycopg.connect(fleet.urls["m05"], autocommit=True) as connection:
        connection.execute("insert into public.notes values (1, -1)")  # 002 fails here
    write_migration(fleet.path, "002_positive.sql", POSITIVE)

    outcome = fleet.run("push", "tenants", "--no-verify", "--json")
    assert outcome.exit_code == 1
    document = outcome.json()
    by_name = {member["name"]: member for member in document["members"]}
    assert by_name["m05"]["status"] == "failed" and "positive" in by_name["m05"]["error"]
    assert "m05 failed in wave 2" in document["halted"]
    assert by_name["m01"]["status"] == "applied"
    # nothing started once m05 had failed; what was running then finished
    failed_at = datetime.fromisoformat(by_name["m05"]["finished_at"])
    started = [m for m in MEMBERS if by_name[m]["started_at"] is not None]
    assert all(datetime.fromisoformat(by_name[m]["started_at"]) <= failed_at for m in started)
    assert all(by_name[m]["status"] == "applied" for m in started if m != "m05")
    assert all(by_name[m]["status"] == "not started" for m in MEMBERS if m not in started)
    assert all(by_name[m]["status"] == "not started" for m in MEMBERS[9:])
    assert all(fleet.versions(m) == ["001"] for m in MEMBERS[9:])
    assert fleet.versions("m05") == ["001"]
    in_flight_finished = [m for m in MEMBERS[1:9] if by_name[m]["status"] == "applied"]
    assert all(fleet.versions(m) == ["001", "002"] for m in in_flight_finished)
    # `fleet status --run` names the members the failed rollout reached: the ones that started
    reached = fleet.run("status", "tenants", "--run", document["run_id"], "--json").json()
    runs = {member["environment"]: member["run"] for member in reached["members"]}
    assert sorted(m for m, run in runs.items() if run is not None) == sorted(started)
    assert runs["m05"]["status"] == "failed" and runs["m05"]["wave"] == 2
    text = fleet.run("status", "tenants", "--run", document["run_id"])
    assert f"rollout {document['run_id']} reached {len(started)} of 24 member(s)" in text.stdout
    assert "m05: pending: 002; rollout: failed (wave 2)" in text.stdout
    assert "m24: pending: 002; not reached by this rollout" in text.stdout

    text = fleet.run("push", "tenants", "--no-verify", "--run-id", "gh-1234-1")
    assert "FAILED m05 (wave 2)" in text.stdout and "rerun `supadeploy fleet push tenants`" in text.stdout
    assert [(run.fleet_run, run.status) for run in fleet.log("m05")[1:]] == [(document["run_id"], "failed"),
                                                                              ("gh-1234-1", "failed")]

    with psycopg.connect(fleet.urls["m05"], autocommit=True) as connection:
        connection.execute("delete from public.notes")
    done_before = [m for m in MEMBERS if fleet.versions(m) == ["001", "002"]]  # the text run above went on too
    resumed = fleet.run("push", "tenants", "--no-verify", "--json")
    assert resumed.exit_code == 0, resumed.output
    assert all(fleet.versions(m) == ["001", "002"] for m in MEMBERS)
    assert resumed.json()["counts"]["up to date"] == len(done_before)  # they were not pushed again
    assert [status for _, status, _, _ in fleet.runs("m02")] == ["succeeded", "succeeded"]


def test_an_unreachable_member_stops_the_rollout_before_anything_is_applied(fleet: FleetProject) -> None:
    fleet.env["FLEET_M07_URL"] = "postgresql://postgres@127.0.0.1:1/nowhere"
    outcome = fleet.run("push", "tenants", "--no-verify")
    assert outcome.exit_code == 1
    assert outcome.stderr.startswith("error: fleet 'tenants': 1 member(s) cannot be reached (m07; m07: cannot connect")
    assert "--exclude NAME" in outcome.stderr
    assert all(fleet.versions(m) == [] for m in MEMBERS)

    excluded = fleet.run("push", "tenants", "--no-verify", "--exclude", "m07", "--json")
    assert excluded.exit_code == 0, excluded.output
    assert excluded.json()["counts"] == {"applied": 23, "up to date": 0, "failed": 0, "interrupted": 0,
                                         "not started": 0, "excluded": 1, "planned": 0}


def test_a_drifted_member_is_refused_like_a_single_push(fleet: FleetProject) -> None:
    assert fleet.run("push", "tenants", "--no-verify").exit_code == 0
    with psycopg.connect(fleet.urls["m03"], autocommit=True) as connection:
        connection.execute("update supabase_migrations.schema_migrations set statements = "
                           "array['create table public.notes (id bigint primary key)'] where version = '001'")
    write_migration(fleet.path, "002_positive.sql", POSITIVE)
    outcome = fleet.run("push", "tenants", "--no-verify")
    assert outcome.exit_code == 1
    assert "edited since they ran on m03 (001_notes.sql); nothing was applied" in outcome.stderr
    assert all(fleet.versions(m) == ["001"] for m in MEMBERS)

    status = fleet.run("status", "tenants", "--json")
    assert status.exit_code == 1
    members = {member["environment"]: member for member in status.json()["members"]}
    assert members["m03"]["drifted"] == ["001_notes.sql"] and members["m04"]["pending"] == ["002"]


def test_a_protected_member_the_lint_gate_refuses_stops_the_rollout_in_the_plan(fleet: FleetProject) -> None:
    assert fleet.run("push", "tenants", "--no-verify").exit_code == 0
    config = fleet.path / "supadeploy.toml"
    config.write_text(config.read_text().replace('[environments.m12]\n', '[environments.m12]\nprotected = true\n'))
    write_migration(fleet.path, "002_drop.sql", "alter table public.notes drop column n;\n")
    for args in (("--yes",), ("--dry-run", "--yes")):  # the plan job of the fleet workflow fails as well
        outcome = fleet.run("push", "tenants", "--no-verify", *args)
        assert outcome.exit_code == 1, outcome.output
        assert "fleet 'tenants': environment 'm12' is protected and pending migrations are destructive" \
            in outcome.stderr
        assert "002_drop.sql:1:" in outcome.stderr and "nothing was applied to any member" in outcome.stderr
        assert all(fleet.versions(m) == ["001"] for m in MEMBERS)  # not even the canary
    allowed = fleet.run("push", "tenants", "--no-verify", "--yes", "--allow-destructive", "--no-backup")
    assert allowed.exit_code == 0, allowed.output
    assert all(fleet.versions(m) == ["001", "002"] for m in MEMBERS)


def test_a_fleet_that_names_no_environment_is_a_configuration_error(project_dir: Path) -> None:
    (project_dir / "supadeploy.toml").write_text('[environments.a]\ndb_url_env = "A_URL"\n\n[fleets.f]\n'
                                                 'members = ["a", "b"]\n', encoding="utf-8")
    outcome = invoke("fleet", "push", "f", "--workdir", str(project_dir))
    assert outcome.exit_code == 1
    assert outcome.stderr.splitlines()[0].endswith("supadeploy.toml:5: [fleets.f] member 'b' is not an environment")


def test_a_wave_as_a_github_actions_matrix_each_shard_pushing_its_members(fleet: FleetProject) -> None:
    matrix = fleet.run("matrix", "tenants", "--wave", "2", "--shard-size", "3")
    assert matrix.exit_code == 0, matrix.output
    assert matrix.json() == {"include": [{"shard": 1, "wave": 2, "members": "m02,m03,m04"},
                                         {"shard": 2, "wave": 2, "members": "m05,m06,m07"},
                                         {"shard": 3, "wave": 2, "members": "m08,m09"}]}
    for job in matrix.json()["include"]:  # what each matrix job runs
        shard = fleet.run("push", "tenants", "--members", job["members"], "--no-verify", "--json")
        assert shard.exit_code == 0, shard.output
        assert [(m["name"], m["wave"], m["status"]) for m in shard.json()["members"]] == [
            (name, 2, "applied") for name in job["members"].split(",")]
    assert [m for m in MEMBERS if fleet.versions(m)] == MEMBERS[1:9]

    beyond = fleet.run("matrix", "tenants", "--wave", "5")
    assert beyond.exit_code == 2
    assert beyond.json()["error"]["message"] == "fleet 'tenants' has 4 wave(s); there is no wave 5"
    stranger = fleet.run("push", "tenants", "--members", "m02,zz")
    assert stranger.exit_code == 2 and "--members zz: not a member of fleet 'tenants'" in stranger.stderr


def test_a_rollout_id_that_is_not_one_is_refused_before_anything_runs(fleet: FleetProject) -> None:
    outcome = fleet.run("push", "tenants", "--run-id", "gh 1; rm -rf /")
    assert outcome.exit_code == 2
    assert outcome.stderr.startswith("error: --run-id 'gh 1; rm -rf /' is not a rollout id")
    assert all(fleet.versions(m) == [] for m in MEMBERS)
