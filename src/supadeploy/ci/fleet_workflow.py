"""The workflow `supadeploy ci init --fleet NAME` writes: one rollout of fleet NAME on GitHub Actions.

    plan      every member planned, read-only (`fleet push NAME --dry-run`): an unreachable, drifted or
              lint-refused protected member fails it before anything is applied (its report says why); then
              each wave after the canary cut into matrix shards (`fleet matrix NAME --wave W --shard-size S`),
              as job outputs
    canary    `fleet push NAME --wave 1`, needing the plan
    wave-W    one matrix job per later wave, a shard of members per job (`fleet push NAME --members ...`),
              `max-parallel` jobs at once, `fail-fast`, each wave needing the one before it
    summary   always: every job's `fleet push --json` report (a workflow artifact each) collected by
              `fleet summary` into one step summary, naming the members no job reached

The jobs that touch databases are bound to the GitHub environment `production` (its required reviewers and
its secrets apply), and every member's deploy log records the rollout id gh-RUN_ID, so `fleet status NAME
--run gh-RUN_ID` says which members this run reached. The number of waves is fixed when the workflow is
written: `fleet matrix --expect-waves` fails the plan when the fleet has changed shape since.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from supadeploy.ci.workflows import (
    WORKFLOW_DIR,
    WorkflowSettings,
    WrittenFile,
    check_names,
    render_setup,
    write_files,
)
from supadeploy.errors import SupadeployError

if TYPE_CHECKING:
    from supadeploy.config import ProjectConfig
    from supadeploy.fleet_config import Fleet

REPORTS = ".supadeploy-fleet-reports"
"""Where each job writes its `fleet push --json` report, in the workspace."""
REPOSITORY_SECRETS = 100
"""The most secrets one GitHub repository (or one of its environments) holds."""
_SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class FleetWorkflowSettings:
    fleet: str
    shard_size: int = 25
    """Members per matrix job."""
    max_parallel: int = 20
    """Matrix jobs of one wave running at once."""


def fleet_workflow_path(fleet: str) -> Path:
    return WORKFLOW_DIR / f"supadeploy-fleet-{fleet}.yml"


_HEADER = """\
# Written by `supadeploy ci init --fleet {fleet}`. Rolls the migrations out to every member of fleet {fleet}:
# a plan of every member, the canary, then {later} wave(s) of matrix jobs ({shard_size} members per job,
# {max_parallel} jobs at once), and one step summary. Rerun it after a fix: members up to date are skipped.
name: supadeploy fleet {fleet}

on:
  push:
    branches:
      - {branch}
    paths:
{paths}  workflow_dispatch:

permissions:
  contents: read

concurrency:
  group: supadeploy-fleet-{fleet}
  cancel-in-progress: false

env:
  SUPADEPLOY_FLEET_RUN: gh-${{{{ github.run_id }}}}

jobs:
  plan:
    runs-on: ubuntu-latest
    environment: {github_environment}
{secrets}{plan_outputs}    steps:
{setup}      - name: Plan every member
        run: |
          mkdir -p {reports}
          supadeploy fleet push {fleet} --dry-run --run-id "$SUPADEPLOY_FLEET_RUN" --yes --json > {plan_report}
{matrix_step}{upload_plan}
  canary:
    needs: plan
    runs-on: ubuntu-latest
    environment: {github_environment}
{secrets}    steps:
{setup}      - name: Push to the canary
        run: |
          mkdir -p {reports}
          supadeploy fleet push {fleet} --wave 1 --run-id "$SUPADEPLOY_FLEET_RUN" --yes --json > {report}
{upload_canary}"""

_MATRIX_STEP = """\
      - name: Cut the waves into matrix jobs
        id: matrix
        run: |
          for wave in {waves}; do
            matrix=$(supadeploy fleet matrix {fleet} --wave "$wave" --shard-size {shard_size} --expect-waves {count})
            echo "wave-$wave=$matrix" >> "$GITHUB_OUTPUT"
          done
"""

_WAVE = """
  wave-{wave}:
    needs: [plan, {previous}]
    runs-on: ubuntu-latest
    environment: {github_environment}
    strategy:
      matrix: ${{{{ fromJSON(needs.plan.outputs.wave-{wave}) }}}}
      max-parallel: {max_parallel}
      fail-fast: true
{secrets}    steps:
{setup}      - name: Push to shard ${{{{ matrix.shard }}}} of wave {wave}
        env:
          MEMBERS: ${{{{ matrix.members }}}}
        run: |
          mkdir -p {reports}
          supadeploy fleet push {fleet} --members "$MEMBERS" --run-id "$SUPADEPLOY_FLEET_RUN" --yes --json \\
            > {report}
{upload}"""

_UPLOAD = """\
      - name: Keep the report
        if: ${{{{ always() }}}}
        uses: actions/upload-artifact@v4
        with:
          name: supadeploy-fleet-{fleet}-{part}-attempt-${{{{ github.run_attempt }}}}
          path: {report}
          retention-days: 30
          if-no-files-found: ignore
"""

_SUMMARY = """
  summary:
    needs: [{jobs}]
    if: ${{{{ always() }}}}
    runs-on: ubuntu-latest
    steps:
{setup}      - name: Collect the reports
        uses: actions/download-artifact@v4
        with:
          pattern: supadeploy-fleet-{fleet}-*
          path: {reports}
          merge-multiple: true
      - name: Write the step summary
        run: |
          mkdir -p {reports}
          supadeploy fleet summary {fleet} {reports} >> "$GITHUB_STEP_SUMMARY"
"""


def render_fleet_workflow(project: ProjectConfig, fleet: Fleet, settings: WorkflowSettings,
                          fleet_settings: FleetWorkflowSettings) -> str:
    """The workflow's YAML for ``fleet`` (its waves as configured now)."""
    setup = render_setup(settings)
    secrets = _secrets_block(project, fleet)
    count = len(fleet.waves)
    later = list(range(2, count + 1))
    paths = [f"{settings.migrations_dir}/**", "supabase/config.toml", "supabase/policies.toml", "supadeploy.toml",
             *_members_file(project, fleet.name)]
    plan_outputs = "".join(f"      wave-{wave}: ${{{{ steps.matrix.outputs.wave-{wave} }}}}\n" for wave in later)
    values = {"fleet": fleet.name, "github_environment": settings.production_environment, "secrets": secrets,
              "setup": setup, "shard_size": fleet_settings.shard_size, "max_parallel": fleet_settings.max_parallel}
    text = _HEADER.format(
        **values, later=len(later), branch=settings.production_branch,
        paths="".join(f'      - "{path}"\n' for path in paths),
        plan_outputs=f"    outputs:\n{plan_outputs}" if later else "",
        matrix_step=_MATRIX_STEP.format(**values, waves=" ".join(map(str, later)), count=count) if later else "",
        reports=REPORTS, report=_report("wave-1"), plan_report=_report("plan"),
        upload_plan=_UPLOAD.format(fleet=fleet.name, part="plan", report=_report("plan")),
        upload_canary=_UPLOAD.format(
            fleet=fleet.name, part="wave-1", report=_report("wave-1")))
    for wave in later:
        previous = "canary" if wave == 2 else f"wave-{wave - 1}"
        part = f"wave-{wave}-shard-${{{{ matrix.shard }}}}"
        text += _WAVE.format(**values, wave=wave, previous=previous, reports=REPORTS, report=_report(part),
                             upload=_UPLOAD.format(fleet=fleet.name, part=part, report=_report(part)))
    return text + _SUMMARY.format(fleet=fleet.name, setup=setup, reports=REPORTS,
                                  jobs=", ".join(["plan", "canary", *(f"wave-{wave}" for wave in later)]))


def _report(part: str) -> str:
    """One job's report file: a rerun of a job (a new run attempt) writes a new one."""
    return f"{REPORTS}/{part}-attempt-${{{{ github.run_attempt }}}}.json"


def secret_names(project: ProjectConfig, fleet: Fleet) -> list[str]:
    """The secrets the jobs pass on: the access token (members reached by project_ref) and every member's
    db_url_env, each checked to be a name GitHub accepts."""
    names = ["SUPABASE_ACCESS_TOKEN"]
    for member in fleet.members:
        variable = project.environments[member].db_url_env
        if variable is None or variable in names:
            continue
        if not _SECRET_NAME.fullmatch(variable) or variable.upper().startswith("GITHUB_"):
            raise SupadeployError(f"member '{member}': db_url_env '{variable}' cannot be a GitHub secret name",
                                  fix="use letters, digits and _ (not starting with a digit or GITHUB_)")
        names.append(variable)
    return names


def _secrets_block(project: ProjectConfig, fleet: Fleet) -> str:
    lines = "".join(f"      {name}: ${{{{ secrets.{name} }}}}\n" for name in secret_names(project, fleet))
    return f"    env:\n{lines}"


def _members_file(project: ProjectConfig, fleet: str) -> list[str]:
    value = project.section("fleets")[fleet].get("members_file")
    if not isinstance(value, str):
        return []
    path = (project.workdir / value).resolve()
    try:
        return [path.relative_to(project.workdir.resolve()).as_posix()]
    except ValueError:  # outside the repository: no push touches it
        return []


_FLEET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class FleetWorkflowWritten:
    written: WrittenFile
    jobs: int
    """The jobs of the largest wave's matrix (GitHub runs at most 256 per matrix)."""
    warnings: list[str]


def write_fleet_workflow(workdir: Path, project: ProjectConfig, fleet: Fleet, settings: WorkflowSettings,
                         fleet_settings: FleetWorkflowSettings, *, force: bool) -> FleetWorkflowWritten:
    """The fleet workflow written (unless it exists and not ``force``); each wave's matrix checked to fit."""
    from supadeploy.commands.fleet import MATRIX_JOBS

    if not _FLEET_NAME.fullmatch(fleet.name):
        raise SupadeployError(f"fleet '{fleet.name}' cannot name a workflow file",
                              fix="name the fleet with letters, digits, '-', '_' and '.'")
    check_names(settings.production_branch, settings.production_environment)
    for option, value in (("--shard-size", fleet_settings.shard_size), ("--max-parallel", fleet_settings.max_parallel)):
        if value < 1:
            raise SupadeployError(f"{option} must be at least 1", exit_code=2, fix=f"pass {option} 10")
    jobs = max((-(-len(wave) // fleet_settings.shard_size) for wave in fleet.waves[1:]), default=0)
    if jobs > MATRIX_JOBS:
        largest = max(len(wave) for wave in fleet.waves[1:])
        raise SupadeployError(f"fleet '{fleet.name}': a wave of {largest} members makes {jobs} matrix jobs; "
                              f"GitHub Actions runs at most {MATRIX_JOBS} per matrix", exit_code=2,
                              fix=f"pass --shard-size {-(-largest // MATRIX_JOBS)} or more, or a smaller wave_size")
    warnings = []
    secrets = secret_names(project, fleet)
    if len(secrets) > REPOSITORY_SECRETS:
        warnings.append(f"the workflow reads {len(secrets)} secrets; a GitHub repository or environment holds at "
                        f"most {REPOSITORY_SECRETS}: reach members by project_ref (one SUPABASE_ACCESS_TOKEN) "
                        "or share db_url_env between members")
    content = render_fleet_workflow(project, fleet, settings, fleet_settings)
    [written] = write_files(workdir, {fleet_workflow_path(fleet.name): content}, force=force)
    return FleetWorkflowWritten(written, jobs, warnings)
