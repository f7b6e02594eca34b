"""The pull-request check fails at the right step with GitHub annotations on the migration's line: `lint` and
`check` print `::error file=...,line=...::` workflow commands under GITHUB_ACTIONS (and only there)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import invoke
from tests.test_ci_workflows_run import CHECK_STEPS, check_job
from tests.test_ci_workflows_run import project as project  # the fixture

DROP = "supabase/migrations/20240102000000_drop_body.sql"
TAGS = "supabase/migrations/20240102000000_tags.sql"


def test_a_lint_error_fails_the_lint_step_with_an_annotation(project: Path, pg_admin_url: str) -> None:
    (project / DROP).write_text("alter table public.notes drop column body;\n")
    runs = check_job(project, pg_admin_url)
    assert [(run.name, run.returncode) for run in runs] == [("Lint migrations", 1)]
    annotations = [line for line in runs[0].output.splitlines() if line.startswith("::error ")]
    assert any(line.startswith(f"::error file={DROP},line=1,col=26,title=lint SD202::SD202: ")
               for line in annotations), runs[0].output


def test_a_migration_that_cannot_run_twice_fails_the_replay_step_with_an_annotation(project: Path,
                                                                                   pg_admin_url: str) -> None:
    (project / TAGS).write_text("-- Migration: tags\ncreate table public.tags (id bigint primary key);\n"
                                "alter table public.tags enable row level security;\n")
    runs = check_job(project, pg_admin_url)
    assert [(run.name, run.returncode) for run in runs] == [(CHECK_STEPS[0], 0), (CHECK_STEPS[1], 1)]
    assert not any(line.startswith("::error") for line in runs[0].output.splitlines())
    replay = [line for line in runs[1].output.splitlines() if line.startswith("::error ")]
    assert any(line.startswith(f"::error file={TAGS},line=2,") and "not-idempotent" in line for line in replay), \
        runs[1].output


def test_annotations_only_in_github_actions_and_never_in_the_json_document(project: Path) -> None:
    (project / DROP).write_text("alter table public.notes drop column body;\n")
    plain = invoke("lint", "--workdir", str(project), env={"GITHUB_ACTIONS": ""})  # even when CI runs this
    assert plain.exit_code == 1 and "::error" not in plain.output
    as_json = invoke("lint", "--workdir", str(project), "--json", env={"GITHUB_ACTIONS": "true"})
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["findings"], as_json.stdout
    assert "::error file=" in as_json.stderr
