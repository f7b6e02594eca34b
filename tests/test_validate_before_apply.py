"""Issue 12 §4: every flag and configuration section a push or promote will use is checked before anything
connects (nothing applied, one file:line or flag message); a failure after the apply still says what was applied.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from supadeploy.errors import SupadeployError
from tests.support.cli import Outcome, invoke, write_migration
from tests.support.environments import NOTES, Environments
from tests.support.inspect import history_rows, tables

# Nothing listens on port 1: a run that connected would fail with a connection error instead.
CLOSED_PORT_URL = "postgresql://postgres@127.0.0.1:1/postgres"
RLS_TABLE = "create table public.notes (id int primary key);\nalter table public.notes enable row level security;\n"


def push(project: Path, *args: str, env: dict[str, str] | None = None) -> Outcome:
    return invoke("push", "--workdir", str(project), *args, env=env, after_push=True)


def configure(project: Path, text: str) -> Path:
    config = project / "supadeploy.toml"
    config.write_text(text)
    return config


def assert_refused_before_connecting(project: Path, db_url: str, *args: str, exit_code: int,
                                     message: str, where: str | None) -> None:
    """The same refusal against a closed port (so nothing connected) and a real database (left untouched),
    in text and in --json."""
    write_migration(project, "001_notes.sql", RLS_TABLE)
    for url in (CLOSED_PORT_URL, db_url):
        outcome = push(project, "--db-url", url, *args)
        assert outcome.exit_code == exit_code, outcome.output
        expected = f"error: {where}: {message}" if where else f"error: {message}"
        assert expected in outcome.stderr, outcome.stderr
        assert "Traceback" not in outcome.output and "connect" not in outcome.output
    as_json = push(project, "--db-url", db_url, "--json", *args)
    assert as_json.exit_code == exit_code
    error = as_json.json()["error"]
    assert (error["where"], message in error["message"]) == (where, True)
    assert history_rows(db_url) == [] and tables(db_url) == []


def test_push_with_a_bogus_fail_on_flag_applies_nothing(project_dir: Path, db_url: str) -> None:
    assert_refused_before_connecting(project_dir, db_url, "--fail-on", "bogus", exit_code=2, where=None,
                                     message="--fail-on must be one of error, warn, none, not 'bogus'")


def test_bogus_fail_on_flag_is_refused_even_with_no_verify(project_dir: Path, db_url: str) -> None:
    assert_refused_before_connecting(project_dir, db_url, "--fail-on", "bogus", "--no-verify", exit_code=2,
                                     where=None, message="--fail-on must be one of error, warn, none, not 'bogus'")


def test_verify_fail_on_in_the_config_is_checked_first(project_dir: Path, db_url: str) -> None:
    config = configure(project_dir, '[verify]\nschemas = []\nfail_on = "bogus"\n')
    assert_refused_before_connecting(project_dir, db_url, exit_code=1, where=f"{config}:3",
                                     message="'fail_on' in [verify] must be one of error, warn, none")


def test_unknown_verify_key_is_checked_first(project_dir: Path, db_url: str) -> None:
    config = configure(project_dir, '[verify]\nfail_on = "warn"\nfail_level = "error"\n')
    assert_refused_before_connecting(project_dir, db_url, exit_code=1, where=f"{config}:3",
                                     message="unknown key 'fail_level' in [verify]")


def test_accept_entry_without_code_names_its_line_not_code_none(project_dir: Path, db_url: str) -> None:
    config = configure(project_dir, '[verify]\nfail_on = "warn"\n\n[[verify.accept]]\ncode = "rls_no_policy"\n'
                                    'object = "public.a"\nreason = "fine"\n\n'
                                    '[[verify.accept]]\nobject = "public.notes"\nreason = "read by a trigger"\n')
    assert_refused_before_connecting(project_dir, db_url, exit_code=1, where=f"{config}:9",
                                     message="[[verify.accept]] needs a code")
    assert "None" not in push(project_dir, "--db-url", CLOSED_PORT_URL).output


@pytest.mark.parametrize(("entry", "line", "message"), [
    ('code = "rls_no_policy"\nobject = "public.notes"\n', 2, "[[verify.accept]] for 'rls_no_policy' on public.notes "
                                                            "needs a reason"),
    ('code = "no_such_code"\nobject = "public.notes"\nreason = "x"\n', 3,
     "[[verify.accept]] code 'no_such_code' is not a verify finding code"),
    ('code = "rls_no_policy"\nobject = "public.notes"\nreason = "x"\npolicy = 5\n', 6,
     "'policy' in [[verify.accept]] must be a policy name"),
    ('code = "rls_no_policy"\nobject = "public.notes"\nreason = "x"\nseverity = "low"\n', 6,
     "unknown key 'severity' in [[verify.accept]]"),
])
def test_a_bad_accept_entry_is_checked_first(project_dir: Path, db_url: str, entry: str, line: int,
                                             message: str) -> None:
    config = configure(project_dir, "[verify]\n[[verify.accept]]\n" + entry)
    assert_refused_before_connecting(project_dir, db_url, exit_code=1, where=f"{config}:{line}", message=message)


def test_manifest_that_is_not_a_path_is_checked_first(project_dir: Path, db_url: str) -> None:
    config = configure(project_dir, '[verify]\nmanifest = 5\n')
    assert_refused_before_connecting(project_dir, db_url, exit_code=1, where=f"{config}:2",
                                     message="'manifest' in [verify] must be a path")


def test_a_manifest_that_is_not_valid_toml_is_read_before_the_apply(project_dir: Path, db_url: str) -> None:
    manifest = project_dir / "supabase" / "policies.toml"
    manifest.write_text("[tables.public.notes\nrls = true\n")
    write_migration(project_dir, "001_notes.sql", RLS_TABLE)
    outcome = push(project_dir, "--db-url", CLOSED_PORT_URL)
    assert outcome.exit_code == 1 and str(manifest) in outcome.stderr and "connect" not in outcome.output
    assert push(project_dir, "--db-url", db_url).exit_code == 1
    assert history_rows(db_url) == [] and tables(db_url) == []
    assert push(project_dir, "--db-url", db_url, "--no-verify", "--no-types").exit_code == 0  # verify's only


def test_a_types_path_under_a_file_cannot_be_written_and_is_checked_first(project_dir: Path, db_url: str) -> None:
    (project_dir / "notes.txt").write_text("not a folder\n")
    config = configure(project_dir, '[types]\nschemas = ["public"]\ntypescript = "notes.txt/database.types.ts"\n')
    assert_refused_before_connecting(project_dir, db_url, exit_code=1, where=f"{config}:3",
                                     message=f"cannot write {project_dir / 'notes.txt' / 'database.types.ts'}: "
                                             f"{project_dir / 'notes.txt'} is not a folder")
    assert push(project_dir, "--db-url", db_url, "--no-verify", "--no-types").exit_code == 0  # types' only


def test_a_types_output_that_is_a_folder_names_its_outputs_table(project_dir: Path, db_url: str) -> None:
    (project_dir / "src" / "types.ts").mkdir(parents=True)
    (project_dir / "backend").mkdir()
    config = configure(project_dir, '[types]\npython = "backend/models.py"\n\n[[types.outputs]]\n'
                                    'path = "src/types.ts"\nschemas = ["public"]\n')
    assert_refused_before_connecting(project_dir, db_url, "--no-verify", exit_code=1, where=f"{config}:5",
                                     message=f"cannot write {project_dir / 'src' / 'types.ts'}: it is a folder")


@pytest.mark.parametrize(("key", "value", "line"), [("lock_timeout", "100000h", 2),
                                                    ("statement_timeout", "2147484s", 3),
                                                    ("deploy_lock_wait", "600h", 4)])
def test_a_timeout_postgres_would_refuse_is_a_config_error(project_dir: Path, db_url: str, key: str, value: str,
                                                           line: int) -> None:
    settings = {"lock_timeout": "10s", "statement_timeout": "0", "deploy_lock_wait": "300s", key: value}
    config = configure(project_dir, "[push]\n" + "".join(f'{k} = "{v}"\n' for k, v in settings.items()))
    assert_refused_before_connecting(project_dir, db_url, exit_code=1, where=f"{config}:{line}",
                                     message=f"{key} = '{value}' is more than Postgres allows "
                                             "(2147483647ms, about 24 days)")


def test_a_timeout_below_a_millisecond_would_mean_no_limit(project_dir: Path, db_url: str) -> None:
    config = configure(project_dir, '[push]\nlock_timeout = "0.2ms"\n')
    assert_refused_before_connecting(project_dir, db_url, exit_code=1, where=f"{config}:2",
                                     message="lock_timeout = '0.2ms' is less than a millisecond")


@pytest.fixture
def envs(project_dir: Path, make_db: Callable[[], str]) -> Environments:
    return Environments(project_dir, make_db)


def test_promote_with_a_bogus_fail_on_promotes_nothing(envs: Environments) -> None:
    write_migration(envs.project, "001_notes.sql", NOTES)
    envs.push("staging")
    outcome = envs.promote("--fail-on", "bogus")
    assert outcome.exit_code == 2, outcome.output
    assert "error: --fail-on must be one of error, warn, none, not 'bogus'" in outcome.stderr
    assert history_rows(envs.production) == [] and tables(envs.production) == []


def test_promote_checks_the_types_outputs_before_promoting(envs: Environments) -> None:
    (envs.project / "types.ts").mkdir()
    config = envs.project / "supadeploy.toml"
    config.write_text(config.read_text() + '\n[types]\ntypescript = "types.ts"\n')
    write_migration(envs.project, "001_notes.sql", NOTES)
    envs.push("staging", "--no-types")
    outcome = envs.promote("--json")
    assert outcome.exit_code == 1, outcome.output
    error = outcome.json()["error"]
    assert error["where"] == f"{config}:8" and error["message"] == f"cannot write {envs.project / 'types.ts'}: " \
                                                                   "it is a folder"
    assert history_rows(envs.production) == []


# --- after the apply ------------------------------------------------------------------------------------------


def test_a_reporting_failure_after_the_apply_still_lists_what_was_applied(project_dir: Path, db_url: str,
                                                                          tmp_path: Path) -> None:
    write_migration(project_dir, "001_notes.sql", RLS_TABLE)
    write_migration(project_dir, "002_more.sql", "alter table public.notes add column body text;\n")
    summary = tmp_path / "summary-is-a-folder"
    summary.mkdir()
    github = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    outcome = push(project_dir, "--db-url", db_url, env=github)
    assert outcome.exit_code == 1, outcome.output
    assert "Traceback" not in outcome.output
    assert "Applied 2 migration(s)" in outcome.stdout
    assert ("error: 2 migration(s) were applied and are recorded in the history (001_notes, 002_more); "
            f"then reporting to GitHub failed: cannot write the step summary {summary}") in outcome.stderr
    assert [row[0] for row in history_rows(db_url)] == ["001", "002"]


def test_a_reporting_failure_with_json_prints_one_document_listing_the_applied(project_dir: Path, db_url: str,
                                                                               tmp_path: Path) -> None:
    write_migration(project_dir, "001_notes.sql", RLS_TABLE)
    summary = tmp_path / "summary-is-a-folder"
    summary.mkdir()
    outcome = push(project_dir, "--db-url", db_url, "--json",
                   env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert outcome.exit_code == 1, outcome.output
    document = json.loads(outcome.stdout)  # exactly one document
    assert document["ok"] is False
    assert [a["version"] for a in document["result"]["applied"]] == ["001"]
    after_apply = document["after_apply"]
    assert after_apply["applied"] == ["001_notes"]
    (failure,) = after_apply["failures"]
    assert failure["step"] == "reporting to GitHub"
    assert failure["message"] == f"cannot write the step summary {summary}: Is a directory"


def test_a_verify_failure_after_the_apply_lists_the_applied_in_text_and_json(
        project_dir: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify raising after the apply (e.g. the connection dropped): the one failure validation cannot foresee."""
    import supadeploy.deploy

    def lost_connection(*args: object, **kwargs: object) -> None:
        raise SupadeployError("lost the connection to the database", fix="check the network and rerun verify")

    monkeypatch.setattr(supadeploy.deploy, "run_verification", lost_connection)
    write_migration(project_dir, "001_notes.sql", RLS_TABLE)
    outcome = push(project_dir, "--db-url", db_url)
    assert outcome.exit_code == 1, outcome.output
    assert "Applied 1 migration(s)" in outcome.stdout
    assert ("error: 1 migration(s) were applied and are recorded in the history (001_notes); then verification "
            "failed: lost the connection to the database") in outcome.stderr
    assert "`supadeploy verify`" in outcome.stderr

    history_rows_before = history_rows(db_url)
    write_migration(project_dir, "002_more.sql", "alter table public.notes add column body text;\n")
    document = push(project_dir, "--db-url", db_url, "--json").json()
    assert document["ok"] is False and document["verify"] is None
    assert [a["version"] for a in document["result"]["applied"]] == ["002"]
    assert document["after_apply"] == {"applied": ["002_more"], "failures": [{
        "step": "verification", "type": "SupadeployError", "message": "lost the connection to the database",
        "where": None, "fix": "check the network and rerun verify"}]}
    assert len(history_rows(db_url)) == len(history_rows_before) + 1
