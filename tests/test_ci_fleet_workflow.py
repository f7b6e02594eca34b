"""`supadeploy ci init --fleet NAME`: the workflow is valid for GitHub (actionlint, GitHub's schema), fits
GitHub's limits, and is never overwritten without --force; `fleet matrix --expect-waves`, `fleet push --wave`
and `fleet summary` on their bad inputs and on the reports of rerun jobs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import Outcome, invoke, write_migration
from tests.test_ci_workflows import actionlint, check_jsonschema

WORKFLOWS = Path(".github") / "workflows"


def fleet_project(root: Path, members: int, *, wave_size: int = 3, members_file: bool = False) -> Path:
    names = [f"t{index:03d}" for index in range(1, members + 1)]
    (root / "supabase" / "migrations").mkdir(parents=True)
    if members_file:
        (root / "tenants.csv").write_text("name,db_url_env,tags\n" + "".join(
            f"{name},TENANT_{name.upper()}_URL,eu\n" for name in names))
        fleet = f'[fleets.tenants]\nmembers_file = "tenants.csv"\nwave_size = {wave_size}\n'
        (root / "supadeploy.toml").write_text(fleet)
    else:
        environments = "".join(f'[environments.{name}]\ndb_url_env = "TENANT_{name.upper()}_URL"\n\n'
                               for name in names)
        listed = ", ".join(f'"{name}"' for name in names)
        (root / "supadeploy.toml").write_text(
            f"{environments}[fleets.tenants]\nmembers = [{listed}]\nwave_size = {wave_size}\n")
    write_migration(root, "001_notes.sql", "create table public.notes (id bigint primary key);\n")
    return root


def ci_init(root: Path, *args: str) -> Outcome:
    return invoke("ci", "init", "--fleet", "tenants", "--workdir", str(root), *args)


def test_the_fleet_workflows_pass_actionlint_and_githubs_schema(tmp_path: Path) -> None:
    written = []
    for name, members, wave_size, from_file in (("many", 10, 3, False), ("one", 1, 3, False),
                                                 ("file", 40, 20, True)):
        root = fleet_project(tmp_path / name, members, wave_size=wave_size, members_file=from_file)
        outcome = ci_init(root, "--shard-size", "4")
        assert outcome.exit_code == 0, outcome.output
        written.append(root / WORKFLOWS / "supadeploy-fleet-tenants.yml")
    assert actionlint(*written) == []
    result = check_jsonschema("vendor.github-workflows", *written)
    assert result.returncode == 0, result.stdout + result.stderr
    many, one, members_file = (path.read_text() for path in written)
    assert "wave-4:\n    needs: [plan, wave-3]" in many and "max-parallel: 20" in many and "fail-fast: true" in many
    assert "wave-2" not in one and "needs: [plan, canary]" in one  # a canary-only fleet: plan, canary, summary
    assert '      - "tenants.csv"\n' in members_file  # editing the members file runs the rollout
    assert "environment: production" in many and "${{ secrets.TENANT_T010_URL }}" in many


def test_ci_init_fleet_never_overwrites_without_force_and_checks_its_input(tmp_path: Path) -> None:
    root = fleet_project(tmp_path, 6)
    assert ci_init(root).exit_code == 0
    workflow = root / WORKFLOWS / "supadeploy-fleet-tenants.yml"
    workflow.write_text("# mine\n")
    again = ci_init(root)
    assert again.exit_code == 0 and "exists; left unchanged (--force rewrites it)" in again.stdout
    assert workflow.read_text() == "# mine\n"
    assert ci_init(root, "--force").exit_code == 0 and workflow.read_text().startswith("# Written by")
    assert not (root / WORKFLOWS / "supadeploy-check.yml").exists()  # --fleet writes that workflow only

    unknown = invoke("ci", "init", "--fleet", "nope", "--workdir", str(root))
    assert unknown.exit_code == 1 and "fleet 'nope' is not configured (configured: tenants)" in unknown.stderr
    assert "Traceback" not in unknown.output


def test_a_wave_too_big_for_one_matrix_is_refused_with_the_shard_size_that_fits(tmp_path: Path) -> None:
    root = fleet_project(tmp_path, 600, wave_size=599, members_file=True)
    outcome = ci_init(root, "--shard-size", "2")
    assert outcome.exit_code == 2
    assert "a wave of 599 members makes 300 matrix jobs; GitHub Actions runs at most 256" in outcome.stderr
    assert "pass --shard-size 3 or more" in outcome.stderr
    assert not (root / WORKFLOWS).exists()


def test_more_secrets_than_a_repository_holds_is_a_warning(tmp_path: Path) -> None:
    root = fleet_project(tmp_path, 120, wave_size=50, members_file=True)
    outcome = ci_init(root)
    assert outcome.exit_code == 0
    assert "warning: the workflow reads 121 secrets; a GitHub repository or environment holds at most 100" \
        in outcome.stderr


def test_the_plan_fails_when_the_fleet_changed_shape_since_the_workflow_was_written(tmp_path: Path) -> None:
    root = fleet_project(tmp_path, 7, wave_size=3)  # canary + 3 waves
    matrix = invoke("fleet", "matrix", "tenants", "--wave", "2", "--shard-size", "2", "--expect-waves", "3",
                    "--workdir", str(root))
    assert matrix.exit_code == 0
    assert json.loads(matrix.stdout) == {"include": [{"shard": 1, "wave": 2, "members": "t002,t003"},
                                                     {"shard": 2, "wave": 2, "members": "t004"}]}
    changed = invoke("fleet", "matrix", "tenants", "--wave", "2", "--expect-waves", "4", "--workdir", str(root))
    assert changed.exit_code == 2
    assert "fleet 'tenants' has 3 wave(s); the workflow was written for 4" in changed.stderr
    assert "supadeploy ci init --fleet tenants --force" in changed.stderr
    no_wave = invoke("fleet", "push", "tenants", "--wave", "9", "--workdir", str(root))
    assert no_wave.exit_code == 2 and "fleet 'tenants' has 3 wave(s); there is no wave 9" in no_wave.stderr


def report(members: list[dict[str, object]], run_id: str = "gh-1") -> str:
    return json.dumps({"ok": True, "fleet": "tenants", "run_id": run_id, "halted": None, "members": members})


def member(name: str, status: str, finished_at: str | None = None, error: str | None = None) -> dict[str, object]:
    wave = 1 if name == "t001" else 2
    return {"name": name, "wave": wave, "status": status, "applied": ["001"] if status == "applied" else [],
            "error": error, "finished_at": finished_at}


def test_fleet_summary_counts_a_rerun_member_once_as_its_last_run_ended(tmp_path: Path) -> None:
    root = fleet_project(tmp_path / "repo", 4, wave_size=3)
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "wave-1-attempt-1.json").write_text(report([member("t001", "applied", "2026-12-01T10:00:00+00:00")]))
    (reports / "wave-2-shard-1-attempt-1.json").write_text(report([
        member("t002", "applied", "2026-12-01T10:01:00+00:00"),
        member("t003", "failed", "2026-12-01T10:01:00+00:00", error="check constraint \"positive\" | violated"),
        member("t004", "not started")]))
    (reports / "wave-2-shard-1-attempt-2.json").write_text(report([
        member("t002", "up to date"), member("t003", "applied", "2026-12-01T11:00:00+00:00"),
        member("t004", "applied", "2026-12-01T11:00:01+00:00")]))
    outcome = invoke("fleet", "summary", "tenants", str(reports), "--json", "--workdir", str(root))
    assert outcome.exit_code == 0, outcome.output
    assert {m["name"]: m["status"] for m in outcome.json()["members"]} == dict.fromkeys(
        ("t001", "t002", "t003", "t004"), "applied")

    (reports / "wave-2-shard-1-attempt-2.json").unlink()
    (reports / "wave-2-shard-2-attempt-1.json").write_text('{"fleet": "tenants", "memb')  # a job cut off
    text = invoke("fleet", "summary", "tenants", str(reports), "--workdir", str(root))
    assert text.exit_code == 1
    assert "### supadeploy fleet tenants: NOT rolled out" in text.stdout
    assert '| t003 | 2 | failed | check constraint "positive" \\| violated |' in text.stdout
    assert "| t004 | 2 | not started | a failure halted the rollout before it |" in text.stdout
    assert "wave-2-shard-2-attempt-1.json` cannot be read (line 1: Unterminated string" in text.stdout


def test_fleet_summary_of_a_missing_folder_or_another_fleet_is_one_clear_error(tmp_path: Path) -> None:
    root = fleet_project(tmp_path / "repo", 2)
    missing = invoke("fleet", "summary", "tenants", str(tmp_path / "nowhere"), "--json", "--workdir", str(root))
    assert missing.exit_code == 2 and missing.json()["error"]["message"].endswith("no such report file or folder")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"ok": True, "fleet": "regions", "members": []}))
    refused = tmp_path / "refused.json"
    refused.write_text(json.dumps({"ok": False, "error": {"message": "fleet 'tenants': 1 member(s) cannot be "
                                                          "reached (t002); nothing was applied"}}))
    outcome = invoke("fleet", "summary", "tenants", str(other), str(refused), "--workdir", str(root))
    assert outcome.exit_code == 1
    assert "not a `fleet push tenants --json` report" in outcome.stdout
    assert "A job stopped before deploying" in outcome.stdout and "cannot be reached (t002)" in outcome.stdout
    assert "2 member(s): 2 not reached" in outcome.stdout
