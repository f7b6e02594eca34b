"""`supadeploy promote staging production`, end to end on two real databases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests.support import databases
from tests.support.cli import invoke, write_migration
from tests.support.environments import ADD_TITLE, NOTES, URL_PASSWORD, Environments
from tests.support.inspect import history_rows, scalar, tables
from tests.test_push_after import assert_restores_to_the_state_before


@pytest.fixture
def envs(project_dir: Path, make_db: Callable[[], str]) -> Environments:
    return Environments(project_dir, make_db)


def test_promotes_exactly_what_staging_ran_and_logs_it(envs: Environments) -> None:
    write_migration(envs.project, "001_notes.sql", NOTES)
    write_migration(envs.project, "002_title.sql", ADD_TITLE)
    envs.push("staging")

    outcome = envs.promote("--yes")
    assert outcome.exit_code == 0, outcome.output
    assert "Promoting staging -> production: 2 migration(s) staging ran that production lacks" in outcome.stdout
    assert "  + 001_notes.sql\n  + 002_title.sql" in outcome.stdout
    assert "Applied 2 migration(s) to postgresql://postgres:****@" in outcome.stdout
    assert "Verified RLS: 0 errors" in outcome.stdout
    assert "Schema (public) of production matches staging: " in outcome.stdout
    # Byte for byte the rows staging holds: versions, names and the statements staging ran.
    assert history_rows(envs.production) == history_rows(envs.staging)
    assert len(history_rows(envs.production)) == 2

    (run,) = envs.history("production")
    assert (run["command"], run["environment"], run["source_environment"], run["status"]) == \
        ("promote", "production", "staging", "succeeded")
    assert run["versions_applied"] == ["001", "002"]

    again = envs.promote("--json")
    assert again.exit_code == 0, again.output
    document = again.json()
    assert document["ok"] is True and document["command"] == "promote" and document["drift"] is False
    assert document["promoted"] == [] and document["result"]["applied"] == []
    assert document["source"]["environment"] == "staging" and ":****@" in document["source"]["database"]
    assert document["schema"]["identical"] is True and document["schema"]["schemas"] == ["public"]
    assert document["schema"]["objects"] > 5


def test_a_local_file_staging_has_not_run_is_not_promoted(envs: Environments) -> None:
    write_migration(envs.project, "001_notes.sql", NOTES)
    envs.push("staging")
    write_migration(envs.project, "002_title.sql", ADD_TITLE)

    outcome = envs.promote("--no-verify", "--json")
    assert outcome.exit_code == 0, outcome.output
    document = outcome.json()
    assert [m["version"] for m in document["promoted"]] == ["001"]
    assert [m["version"] for m in document["not_promoted"]] == ["002"]
    assert [row[0] for row in history_rows(envs.production)] == ["001"]
    assert document["drift"] is False

    text = envs.promote("--no-verify", "--dry-run")
    assert text.exit_code == 0, text.output
    assert "Not promoted (staging has not run them): 002_title.sql" in text.stdout


def test_diverged_history_is_refused_naming_the_versions(envs: Environments) -> None:
    write_migration(envs.project, "001_notes.sql", NOTES)
    title = write_migration(envs.project, "002_title.sql", ADD_TITLE)
    envs.push("staging")
    title.write_text("alter table public.notes add column title varchar(80);\n")
    envs.push("production", "--no-verify")  # production ran another 002 than staging did
    write_migration(envs.project, "003_more.sql", "alter table public.notes add column more text;\n")
    envs.push("staging", "--allow-drift")
    before = history_rows(envs.production)

    outcome = envs.promote("--yes")
    assert outcome.exit_code == 1
    assert "cannot promote staging to production: production's migration history is not a prefix of staging's:\n" \
           "  002_title: recorded differently (statement 1 differs)" in outcome.stderr
    assert "supadeploy diff staging production" in outcome.stderr
    assert history_rows(envs.production) == before

    document = envs.promote("--yes", "--json").json()
    assert document["ok"] is False and "002_title: recorded differently" in document["error"]["message"]


def test_target_ahead_of_source_is_refused(envs: Environments) -> None:
    write_migration(envs.project, "001_notes.sql", NOTES)
    envs.push("staging")
    write_migration(envs.project, "002_hotfix.sql", ADD_TITLE)
    envs.push("production", "--no-verify")  # a hotfix that never went through staging

    outcome = envs.promote("--yes")
    assert outcome.exit_code == 1
    assert "  002_hotfix: only in production" in outcome.stderr
    assert [row[0] for row in history_rows(envs.production)] == ["001", "002"]
    assert envs.history("production")[0]["command"] == "push"  # no promotion was recorded


def test_a_version_the_target_skipped_is_refused_as_out_of_order(envs: Environments) -> None:
    write_migration(envs.project, "001_notes.sql", NOTES)
    write_migration(envs.project, "003_more.sql", "alter table public.notes add column more text;\n")
    envs.push("production", "--no-verify")
    write_migration(envs.project, "002_title.sql", ADD_TITLE)
    envs.push("staging")

    outcome = envs.promote("--yes")
    assert outcome.exit_code == 1
    assert "  002_title: out of order: staging ran it, production has not, but production already has the " \
           "newer 003" in outcome.stderr
    assert [row[0] for row in history_rows(envs.production)] == ["001", "003"]


def test_files_that_differ_from_what_staging_ran_are_refused(envs: Environments) -> None:
    write_migration(envs.project, "001_notes.sql", NOTES)
    title = write_migration(envs.project, "002_title.sql", ADD_TITLE)
    envs.push("staging")
    title.write_text(ADD_TITLE + "alter table public.notes add column extra text;\n")  # edited after staging ran it

    edited = envs.promote("--yes")
    assert edited.exit_code == 1
    assert "what was tested on staging is not what is in your folder:\n" \
           f"  {title}: edited after staging ran it (staging: 1 statement(s), the file: 2)" in edited.stderr
    assert history_rows(envs.production) == []

    title.rename(title.with_name("002_renamed.sql"))
    renamed = envs.promote("--yes")
    assert f"{title.with_name('002_renamed.sql')}: staging ran version 002 as 002_title" in renamed.stderr

    title.with_name("002_renamed.sql").unlink()
    missing = envs.promote("--yes")
    assert missing.exit_code == 1
    assert "  002_title: staging ran it, but there is no file for version 002" in missing.stderr
    assert history_rows(envs.production) == []


def test_destructive_change_on_protected_target_needs_the_flag_and_is_backed_up(
        project_dir: Path, make_db: Callable[[], str], pg_admin_url: str) -> None:
    envs = Environments(project_dir, make_db, protected=True)
    write_migration(envs.project, "001_t.sql", "create table public.notes (id int primary key, body text);\n"
                                               "alter table public.notes enable row level security;\n"
                                               "insert into public.notes values (1, 'kept');\n")
    envs.push("staging")
    assert envs.promote("--yes", "--no-backup", "--no-verify").exit_code == 0
    drop = write_migration(envs.project, "002_drop_body.sql", "alter table public.notes drop column body;\n")
    envs.push("staging")

    refused = envs.promote("--yes", "--no-verify")
    assert refused.exit_code == 1
    assert "environment 'production' is protected and pending migrations are destructive" in refused.stderr
    assert f"{drop.relative_to(envs.project)}:1:" in refused.stderr and "SD202" in refused.stderr
    assert [row[0] for row in history_rows(envs.production)] == ["001"]

    not_confirmed = invoke("promote", "staging", "production", "--workdir", str(envs.project), "--allow-destructive",
                           "--no-verify", env=envs.env)
    assert not_confirmed.exit_code == 1 and "pass --yes" in not_confirmed.stderr

    allowed = envs.promote("--yes", "--allow-destructive", "--no-verify", "--json")
    assert allowed.exit_code == 0, allowed.output
    document = allowed.json()
    assert document["drift"] is False
    backup_file = Path(document["backup"]["location"])
    assert backup_file.is_file() and backup_file.name.startswith("production-")
    assert history_rows(envs.production) == history_rows(envs.staging)
    scratch = databases.create_empty_database(pg_admin_url)
    try:
        assert_restores_to_the_state_before(backup_file, scratch, envs.production)
    finally:
        databases.drop_database(pg_admin_url, scratch)
    run = envs.history("production")[0]
    assert (run["command"], run["source_environment"], run["backup_location"], run["versions_applied"]) == \
        ("promote", "staging", str(backup_file), ["002"])


def test_a_hand_made_change_is_reported_as_drift(envs: Environments, tmp_path: Path) -> None:
    write_migration(envs.project, "001_notes.sql", NOTES)
    envs.push("staging")
    assert envs.promote("--yes").exit_code == 0
    with psycopg.connect(envs.production, autocommit=True) as conn:  # a "quick fix" in the dashboard
        conn.execute("alter policy notes_owner_read on public.notes using (true)")
        conn.execute("create index notes_body_idx on public.notes (body)")
    write_migration(envs.project, "002_title.sql", ADD_TITLE)
    envs.push("staging")
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    github = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs)}

    outcome = invoke("promote", "staging", "production", "--workdir", str(envs.project), "--yes",
                     "--fail-on", "none", env={**envs.env, **github})
    assert outcome.exit_code == 4, outcome.output
    assert "Applied 1 migration(s)" in outcome.stdout
    assert "DRIFT: production's schema differs from staging's.\nSchema (public): 2 difference(s)\n" \
           "  index public.notes_body_idx: only in production\n" \
           "  policy public.notes.notes_owner_read: different\n" \
           "    staging:    for SELECT PERMISSIVE to authenticated using " in outcome.stdout
    assert "    production: for SELECT PERMISSIVE to authenticated using (true)" in outcome.stdout
    assert "error: promoted, but the schemas differ: production has drifted from staging" in outcome.stderr
    assert history_rows(envs.production) == history_rows(envs.staging)
    markdown = summary.read_text()
    assert "**Promoted from `staging`:** 1 migration(s) applied to `production`." in markdown
    assert "| policy | `public.notes.notes_owner_read` | different |" in markdown
    assert URL_PASSWORD not in markdown + outputs.read_text()

    document = envs.promote("--yes", "--fail-on", "none", "--json").json()
    assert document["ok"] is False and document["drift"] is True
    index, policy = document["schema"]["differences"]
    assert (index["kind"], index["name"], index["only_in"]) == ("index", "public.notes_body_idx", "production")
    assert policy["only_in"] is None and policy["definitions"]["production"].endswith("using (true)")


def test_promote_an_environment_to_itself_or_an_unknown_one(envs: Environments) -> None:
    itself = invoke("promote", "staging", "staging", "--workdir", str(envs.project), env=envs.env)
    assert itself.exit_code == 2 and "cannot promote environment 'staging' to itself" in itself.stderr
    unknown = invoke("promote", "staging", "prod", "--workdir", str(envs.project), env=envs.env)
    assert unknown.exit_code == 1 and "unknown environment 'prod' (configured: production, staging)" in unknown.stderr
    unset = invoke("promote", "staging", "production", "--workdir", str(envs.project),
                   env={"SD_STAGING_URL": envs.staging})
    assert unset.exit_code == 1 and "$SD_PRODUCTION_URL, which is not set" in unset.stderr
    assert scalar(envs.production, "select to_regclass('supabase_migrations.schema_migrations')") is None
    assert tables(envs.production) == []
