"""`supadeploy status`: the truth about an environment in one screen and in --json, exit 1 when something needs
action, 0 when nothing does; every environment with --all, an unreachable one reported, not raised."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from tests.support.cli import invoke, write_migration


def status(project: Path, *args: str):  # type: ignore[no-untyped-def]
    return invoke("status", "--workdir", str(project), "--no-verify", *args)


def test_status_follows_a_push(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    write_migration(project_dir, "002_b.sql", "create table public.b (id int);\n")
    before = status(project_dir, "--db-url", db_url, "--json")
    assert before.exit_code == 1, before.output
    document = json.loads(before.stdout)
    [environment] = document["environments"]
    assert document["ok"] is False and environment["reachable"] is True
    assert environment["pending"] == ["001", "002"] and environment["applied"] == []
    assert environment["lock_holder"] is None and environment["last_deploy"] is None
    assert any("2 migration(s) to push" in action for action in environment["actions"])

    assert invoke("push", "--workdir", str(project_dir), "--db-url", db_url).exit_code == 0
    after = status(project_dir, "--db-url", db_url)
    assert after.exit_code == 0, after.output
    assert "migrations: 2 applied, 0 pending" in after.stdout
    assert "last deploy: #1 push succeeded" in after.stdout
    assert "deploy lock: free" in after.stdout and "nothing to do" in after.stdout

    (project_dir / "supabase" / "migrations" / "002_b.sql").write_text("create table public.c (id int);\n")
    edited = status(project_dir, "--db-url", db_url)
    assert edited.exit_code == 1
    assert "1 edited since they ran" in edited.stdout and "002_b.sql" in edited.stdout


def test_status_names_the_deploy_lock_holder(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    assert invoke("push", "--workdir", str(project_dir), "--db-url", db_url).exit_code == 0
    with psycopg.connect(db_url, autocommit=True, application_name="another deploy") as holder:
        holder.execute("select pg_advisory_lock(%s, 1)", (0x73757061,))
        outcome = status(project_dir, "--db-url", db_url)
    assert outcome.exit_code == 0, outcome.output
    assert "deploy lock: 'another deploy'" in outcome.stdout


def test_status_of_every_environment_reports_the_unreachable_one(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    (project_dir / "supadeploy.toml").write_text(
        f'[environments.local]\ndb_url = "{db_url}"\n\n[environments.staging]\ndb_url_env = "NOT_SET_DB_URL"\n',
        encoding="utf-8")
    assert invoke("push", "--workdir", str(project_dir)).exit_code == 0
    outcome = status(project_dir, "--all", "--json")
    assert outcome.exit_code == 1
    by_name = {environment["environment"]: environment for environment in json.loads(outcome.stdout)["environments"]}
    assert by_name["local"]["reachable"] is True and by_name["local"]["actions"] == []
    assert by_name["staging"]["reachable"] is False and "NOT_SET_DB_URL" in by_name["staging"]["error"]
