"""Adopting supadeploy on a database migrated by hand, and comment-only edits of applied files (issue 15, §2-3).

A database where the runbook's 001-003 were applied with `psql -f` and no history exists must not get every
migration again: push and --dry-run stop before applying, naming what exists and `supadeploy baseline`. An
applied file whose edit changed only comments or whitespace is reported, not refused; a real edit is refused
with every way out.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.support.cli import Outcome, invoke, write_migration
from tests.support.environments import NOTES, Environments
from tests.support.inspect import history_rows, scalar, tables
from tests.support.psql import apply_with_psql

EXAMPLE = REPO_ROOT / "supabase" / "migrations"
BASELINE_HINT = "adopt it with `supadeploy baseline --to V` (V: the last migration you applied by hand"


def push(project: Path, url: str, *extra: str) -> Outcome:
    return invoke("push", "--workdir", str(project), "--db-url", url, *extra)


@pytest.fixture
def hand_migrated(project_dir: Path, db_url: str) -> Path:
    """The runbook team's folder (001-005) and a database where 001-003 were run with psql, without history."""
    for source in sorted(EXAMPLE.glob("*.sql")):
        shutil.copy(source, project_dir / "supabase" / "migrations" / source.name)
    for path in sorted((project_dir / "supabase" / "migrations").glob("00[123]_*.sql")):
        ran = apply_with_psql(db_url, path)
        assert ran.returncode == 0, ran.stderr
    return project_dir


def robinhood_column_exists(url: str) -> bool:
    return bool(scalar(url, "select count(*) from information_schema.columns where table_schema = 'public' "
                            "and table_name = 'users' and column_name = 'robinhood_user_id'"))


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "push"])
def test_a_hand_migrated_database_is_refused_with_the_baseline_hint(hand_migrated: Path, db_url: str,
                                                                     dry_run: bool) -> None:
    outcome = push(hand_migrated, db_url, *(["--dry-run"] if dry_run else []))
    assert outcome.exit_code == 1, outcome.output
    assert outcome.stderr.startswith(
        "error: the database has no migration history but already has 4 table(s) or view(s) in public: "
        "public.users, public.trades, public.portfolio_snapshots, public.positions; it looks migrated by hand, "
        "and this push would run every migration again\n")
    assert (f"{BASELINE_HINT}, 002 or later since the tables of 002_portfolio_analytics.sql exist; baseline "
            "records the migrations up to V only if a replay of them matches the schema), then push; or pass "
            "--allow-existing-objects to run the migrations over what exists") in outcome.stderr
    assert "Traceback" not in outcome.output
    assert history_rows(db_url) == []
    assert not robinhood_column_exists(db_url)  # 004 did not run

    document = push(hand_migrated, db_url, "--json", *(["--dry-run"] if dry_run else [])).json()
    assert document["ok"] is False and document["error"]["type"] == "PlanError"
    assert "supadeploy baseline --to V" in document["error"]["fix"]


def test_baseline_then_push_applies_only_the_rest(hand_migrated: Path, db_url: str, pg_admin_url: str) -> None:
    adopted = invoke("baseline", "--workdir", str(hand_migrated), "--db-url", db_url, "--shadow-url", pg_admin_url,
                     "--to", "003")
    assert adopted.exit_code == 0, adopted.output
    pushed = push(hand_migrated, db_url, "--json")
    assert pushed.exit_code == 0, pushed.output
    assert [a["version"] for a in pushed.json()["result"]["applied"]] == ["004", "005"]
    assert [row[0] for row in history_rows(db_url)] == ["001", "002", "003", "004", "005"]
    assert robinhood_column_exists(db_url)


def test_the_override_pushes_over_what_exists(hand_migrated: Path, db_url: str) -> None:
    """The runbook's files are idempotent: run again over the hand-applied schema, they succeed."""
    help_text = invoke("push", "--help").stdout
    assert "--allow-existing-objects" in help_text
    outcome = push(hand_migrated, db_url, "--allow-existing-objects")
    assert outcome.exit_code == 0, outcome.output
    assert [row[0] for row in history_rows(db_url)] == ["001", "002", "003", "004", "005"]
    assert robinhood_column_exists(db_url)


def test_history_that_stops_before_existing_tables_is_refused(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_users.sql", "create table public.users (id int primary key);\n")
    write_migration(project_dir, "002_posts.sql", "create table public.posts (id int primary key);\n")
    assert push(project_dir, db_url).exit_code == 0
    widgets = write_migration(project_dir, "003_widgets.sql",
                              "-- Rollback: drop table public.widgets;\n"
                              "create table public.widgets (id int primary key);\n"
                              "create table audit_log (id int);\n")
    write_migration(project_dir, "004_recreate.sql", "drop table public.posts;\ncreate table public.posts (n int);\n")
    apply_with_psql(db_url, widgets)  # run by hand, never recorded

    refused = push(project_dir, db_url)
    assert refused.exit_code == 1, refused.output
    assert refused.stderr.startswith(
        "error: the database already has tables that pending migrations create: public.widgets (003_widgets.sql), "
        "audit_log (003_widgets.sql); the history ends at 002, so these migrations look applied by hand\n")
    assert f"{BASELINE_HINT}, 003 or later since the tables of 003_widgets.sql exist;" in refused.stderr
    assert [row[0] for row in history_rows(db_url)] == ["001", "002"]
    assert scalar(db_url, "select count(*) from information_schema.columns where table_name = 'posts' "
                          "and column_name = 'n'") == 0  # 004 (which drops and creates posts again) did not run

    dry = push(project_dir, db_url, "--dry-run")
    assert dry.exit_code == 1 and "look applied by hand" in dry.stderr


def test_pending_tables_that_do_not_exist_push_as_usual(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_users.sql", "create table public.users (id int primary key);\n")
    assert push(project_dir, db_url).exit_code == 0
    write_migration(project_dir, "002_posts.sql", "drop table public.users;\ncreate table public.users (n int);\n"
                                                  "create table public.posts (id int);\n")
    outcome = push(project_dir, db_url)
    assert outcome.exit_code == 0, outcome.output
    assert tables(db_url) == ["posts", "users"]


APPLIED_WITH_HEADER = ("-- Migration: 001_users\n-- Rollback:\n--   DROP TABLE public.user;\n\n"
                       "create table public.users (id int primary key);\n")
FIXED_HEADER = ("-- Migration: 001_users\n-- Rollback:\n--   DROP TABLE IF EXISTS public.users;\n\n"
                "create   table public.users (\n  id int primary key  -- the user's id\n);\n")


def test_a_comment_only_edit_of_an_applied_file_pushes_with_a_note(project_dir: Path, db_url: str) -> None:
    path = write_migration(project_dir, "001_users.sql", APPLIED_WITH_HEADER)
    assert push(project_dir, db_url).exit_code == 0
    before = history_rows(db_url)
    path.write_text(FIXED_HEADER, encoding="utf-8")  # the Rollback header fixed, as `check` asked
    write_migration(project_dir, "002_posts.sql", "create table public.posts (id int);\n")

    outcome = push(project_dir, db_url)
    assert outcome.exit_code == 0, outcome.output
    assert ("note: 001_users.sql changed only in comments/whitespace since it ran; not drift (the history keeps "
            "the text that ran: `supadeploy repair 001 --status applied` records the new text)") in outcome.stdout
    assert "posts" in tables(db_url)
    assert history_rows(db_url)[0] == before[0]  # the history keeps what ran

    again = push(project_dir, db_url, "--json")  # the quick check hands it to the full push, which goes on
    assert again.exit_code == 0, again.output
    document = again.json()
    assert document["plan"]["comment_only"] == [{"version": "001", "name": "users", "file": str(path)}]
    assert document["plan"]["drifted"] == []


def test_a_real_edit_is_refused_naming_every_way_out(project_dir: Path, db_url: str) -> None:
    path = write_migration(project_dir, "001_users.sql", APPLIED_WITH_HEADER)
    assert push(project_dir, db_url).exit_code == 0
    path.write_text(FIXED_HEADER.replace("id int", "id bigint"), encoding="utf-8")
    refused = push(project_dir, db_url)
    assert refused.exit_code == 1
    assert (f"error: applied migrations were edited after they ran (local statements differ from the history): "
            f"{path}\n  revert the edits (git checkout) and put the change in a new migration (`supadeploy migration "
            "new`); or pass --allow-drift to push anyway; or, if the database really holds the edited statements, "
            "record them with `supadeploy repair 001 --status applied`") in refused.stderr


def test_promote_after_a_comment_only_edit(project_dir: Path, make_db: Callable[[], str]) -> None:
    envs = Environments(project_dir, make_db)
    notes = write_migration(envs.project, "001_notes.sql", NOTES)
    envs.push("staging", "--no-verify")
    assert envs.promote("--yes", "--no-verify").exit_code == 0
    notes.write_text("-- Rollback: drop table public.notes;\n" + NOTES, encoding="utf-8")
    write_migration(envs.project, "002_title.sql", "alter table public.notes add column title text;\n")

    pushed = envs.push("staging", "--no-verify")
    assert "note: 001_notes.sql changed only in comments/whitespace" in pushed.stdout
    promoted = envs.promote("--yes", "--no-verify")
    assert promoted.exit_code == 0, promoted.output
    assert "note: 001_notes.sql changed only in comments/whitespace" in promoted.stdout
    assert history_rows(envs.production) == history_rows(envs.staging)


def test_promote_of_a_version_edited_only_in_comments_names_the_repair(project_dir: Path,
                                                                       make_db: Callable[[], str]) -> None:
    envs = Environments(project_dir, make_db)
    notes = write_migration(envs.project, "001_notes.sql", NOTES)
    envs.push("staging", "--no-verify")
    notes.write_text("-- Rollback: drop table public.notes;\n" + NOTES, encoding="utf-8")
    refused = envs.promote("--yes", "--no-verify")
    assert refused.exit_code == 1
    assert (f"{notes}: changed only in comments/whitespace since staging ran it, and the target would record the "
            "new text; record it on staging first with `supadeploy repair 001 --status applied --env staging`"
            ) in refused.stderr
    assert history_rows(envs.production) == []
    repaired = invoke("repair", "001", "--status", "applied", "--env", "staging", "--workdir", str(project_dir),
                      env=envs.env)
    assert repaired.exit_code == 0, repaired.output
    promoted = envs.promote("--yes", "--no-verify")
    assert promoted.exit_code == 0, promoted.output
    assert history_rows(envs.production) == history_rows(envs.staging)


def test_promote_to_a_hand_migrated_production_points_at_baseline(project_dir: Path, make_db: Callable[[], str],
                                                                   pg_admin_url: str) -> None:
    envs = Environments(project_dir, make_db)
    notes = write_migration(envs.project, "001_notes.sql", NOTES)
    envs.push("staging", "--no-verify")
    assert apply_with_psql(envs.production, notes).returncode == 0  # production got 001 by hand
    write_migration(envs.project, "002_title.sql", "alter table public.notes add column title text;\n")
    envs.push("staging", "--no-verify")

    refused = envs.promote("--yes", "--no-verify")
    assert refused.exit_code == 1
    assert ("error: the database has no migration history but already has 1 table(s) or view(s) in public: "
            "public.notes; it looks migrated by hand") in refused.stderr
    assert "001 or later since the tables of 001_notes.sql exist" in refused.stderr
    assert history_rows(envs.production) == []
    assert "--allow-existing-objects" in invoke("promote", "--help").stdout

    adopted = invoke("baseline", "--to", "001", "--env", "production", "--workdir", str(project_dir),
                     "--shadow-url", pg_admin_url, env=envs.env)
    assert adopted.exit_code == 0, adopted.output
    promoted = envs.promote("--yes", "--no-verify", "--json")
    assert promoted.exit_code == 0, promoted.output
    assert [m["version"] for m in promoted.json()["promoted"]] == ["002"]
    assert history_rows(envs.production) == history_rows(envs.staging)


def test_version_lists_that_show_the_newest_five_say_that_there_are_more(project_dir: Path, db_url: str) -> None:
    for number in range(1, 7):
        write_migration(project_dir, f"00{number}_t{number}.sql", f"create table public.t{number} (id int);\n")
    wrong_baseline = invoke("baseline", "--to", "009", "--workdir", str(project_dir), "--db-url", db_url)
    assert wrong_baseline.exit_code == 1
    assert "pass the version of a file in supabase/migrations/ (…, 002, 003, 004, 005, 006)" in wrong_baseline.stderr
    assert push(project_dir, db_url).exit_code == 0
    wrong_rollback = invoke("rollback", "--to", "009", "--workdir", str(project_dir), "--db-url", db_url)
    assert wrong_rollback.exit_code == 1
    assert "pass one of the applied versions (…, 002, 003, 004, 005, 006), or 0" in wrong_rollback.stderr
