"""`supadeploy diff ENV_A ENV_B`: migration histories and schema fingerprints of two real databases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg

from supadeploy.environment_diff import compare_histories
from supadeploy.migrations.history import HistoryRow
from tests.support.cli import Outcome, invoke, write_migration
from tests.support.environments import ADD_TITLE, NOTES, URL_PASSWORD, Environments


def diff(envs: Environments, *args: str) -> Outcome:
    outcome = invoke("diff", "staging", "production", "--workdir", str(envs.project), *args, env=envs.env)
    assert URL_PASSWORD not in outcome.output
    return outcome


def test_identical_environments(project_dir: Path, make_db: Callable[[], str]) -> None:
    envs = Environments(project_dir, make_db)
    write_migration(envs.project, "001_notes.sql", NOTES)
    envs.push("staging")
    envs.push("production")

    outcome = diff(envs)
    assert outcome.exit_code == 0, outcome.output
    assert outcome.stdout.startswith("staging     postgresql://postgres:****@127.0.0.1:")
    assert "History: identical (1 migrations: same versions, names and statements)." in outcome.stdout
    assert "Schema (public): identical (" in outcome.stdout
    document = diff(envs, "--json").json()
    assert document["ok"] is True and document["identical"] is True
    assert document["history"]["counts"] == {"staging": 1, "production": 1}
    assert document["schema"]["digests"]["staging"] == document["schema"]["digests"]["production"]
    assert document["databases"]["production"].startswith("postgresql://postgres:****@")


def test_different_environments(project_dir: Path, make_db: Callable[[], str]) -> None:
    envs = Environments(project_dir, make_db)
    write_migration(envs.project, "001_notes.sql", NOTES)
    envs.push("production")
    write_migration(envs.project, "002_title.sql", ADD_TITLE)
    envs.push("staging")
    with psycopg.connect(envs.production, autocommit=True) as conn:
        conn.execute("create index notes_body_idx on public.notes (body)")
        conn.execute("create schema api")
        conn.execute("create view api.notes as select id, body from public.notes")

    outcome = diff(envs)
    assert outcome.exit_code == 4, outcome.output
    assert "History: 1 difference(s) (staging: 2 migrations, production: 1)\n" \
           "  only in staging     002_title\n" in outcome.stdout
    assert "Schema (public): 2 difference(s)\n" \
           "  column public.notes.title: only in staging\n" \
           "  index public.notes_body_idx: only in production\n" in outcome.stdout
    assert "api.notes" not in outcome.stdout  # api is not exposed: not compared by default

    document = diff(envs, "--json", "--schema", "public,api").json()
    assert document["ok"] is False
    assert document["history"]["only_in"] == {"staging": [{"version": "002", "name": "title"}], "production": []}
    assert document["schema"]["schemas"] == ["public", "api"]
    assert [(d["kind"], d["name"], d["only_in"]) for d in document["schema"]["differences"]] == [
        ("column", "public.notes.title", "staging"),
        ("index", "public.notes_body_idx", "production"),
        ("schema", "api", "production"),
        ("view", "api.notes", "production"),
    ]

    # [verify] schemas are the exposed ones: diff compares them without --schema.
    (envs.project / "supadeploy.toml").write_text(
        (envs.project / "supadeploy.toml").read_text() + '\n[verify]\nschemas = ["api"]\n')
    assert "  view api.notes: only in production" in diff(envs).stdout


def test_same_environment_twice_is_a_usage_error(project_dir: Path, make_db: Callable[[], str]) -> None:
    envs = Environments(project_dir, make_db)
    outcome = invoke("diff", "staging", "staging", "--workdir", str(envs.project), env=envs.env)
    assert outcome.exit_code == 2 and "cannot compare environment 'staging' with itself" in outcome.stderr


def test_history_comparison_names_every_kind_of_difference() -> None:
    def row(version: str, name: str, *statements: str) -> HistoryRow:
        return HistoryRow(version=version, name=name, statements=statements)

    source = [row("001", "a", "create table a ()"), row("002", "b", "select 1"), row("003", "c", "select 3"),
              row("005", "e", "select 5")]
    target = [row("001", "a", "create table a ()"), row("002", "b", "select 2"), row("004", "d", "select 4"),
              HistoryRow(version="005", name="e", statements=None)]
    history = compare_histories(source, target)
    assert [r.version for r in history.only_in_first] == ["003"]
    assert [r.version for r in history.only_in_second] == ["004"]
    assert [(m.version, m.reasons("staging", "production")) for m in history.mismatched] == [
        ("002", ["statement 1 differs"]), ("005", ["no statements recorded in production"])]
    assert [r.version for r in history.missing_from_second_out_of_order] == ["003"]
    assert not history.second_is_prefix and not history.identical
    assert compare_histories(source[:2], source).second_is_prefix is False  # the target is ahead
    assert compare_histories(source, source[:2]).second_is_prefix is True
