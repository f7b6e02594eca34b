"""The deploy log says whether the work tree held uncommitted changes: the commit it names is then not all
that ran (a new migration not committed yet, an edited file)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import psycopg

from tests.support.cli import invoke, write_migration


def git(project: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(project), *args], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin"})


def last_run(project: Path, url: str) -> dict[str, object]:
    document = json.loads(invoke("history", "--workdir", str(project), "--db-url", url, "--json").stdout)
    deployments: list[dict[str, object]] = document["deployments"]
    return deployments[0]


def test_a_push_from_a_clean_and_from_a_dirty_tree(project_dir: Path, db_url: str) -> None:
    git(project_dir, "init", "-q")
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    git(project_dir, "add", "-A")
    git(project_dir, "commit", "-q", "-m", "001")
    assert invoke("push", "--workdir", str(project_dir), "--db-url", db_url).exit_code == 0
    clean = last_run(project_dir, db_url)
    assert clean["git_dirty"] is False and clean["git_commit"]

    write_migration(project_dir, "002_b.sql", "create table public.b (id int);\n")  # not committed
    assert invoke("push", "--workdir", str(project_dir), "--db-url", db_url).exit_code == 0
    dirty = last_run(project_dir, db_url)
    assert dirty["git_dirty"] is True and dirty["git_commit"] == clean["git_commit"]
    text = invoke("history", "--workdir", str(project_dir), "--db-url", db_url).stdout
    assert "(uncommitted changes)" in text


def test_a_deploy_log_made_before_the_marker_gets_it(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    assert invoke("push", "--workdir", str(project_dir), "--db-url", db_url).exit_code == 0
    with psycopg.connect(db_url, autocommit=True) as connection:  # the table as releases before these made it
        connection.execute("alter table supabase_migrations.supadeploy_deployments drop column git_dirty, "
                           "drop column fleet_run, drop column fleet_wave")
    listed = invoke("history", "--workdir", str(project_dir), "--db-url", db_url, "--json")
    assert listed.exit_code == 0
    first = json.loads(listed.stdout)["deployments"][0]
    assert (first["git_dirty"], first["fleet_run"], first["fleet_wave"]) == (None, None, None)
    write_migration(project_dir, "002_b.sql", "create table public.b (id int);\n")
    assert invoke("push", "--workdir", str(project_dir), "--db-url", db_url).exit_code == 0
    assert last_run(project_dir, db_url)["git_dirty"] is None  # not a git work tree
    with psycopg.connect(db_url) as connection:
        columns = {row[0] for row in connection.execute(
            "select attname from pg_attribute where attrelid = 'supabase_migrations.supadeploy_deployments'::regclass "
            "and attnum > 0 and not attisdropped")}
    assert {"git_dirty", "fleet_run", "fleet_wave"} <= columns
