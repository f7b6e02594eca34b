"""What psql would do that a migration cannot: COPY FROM STDIN with inline data, meta-commands. Refused before
anything runs, in text and in one JSON document; and a no-transaction file that ends in SET ROLE still gets its
history row written as the deploying role."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import invoke, write_migration
from tests.support.inspect import history_rows, tables

NO_TRANSACTION = "-- supadeploy:no-transaction\n"
COPY = "create table public.c (id int, v text);\nCOPY c (id, v) FROM stdin;\n1\tone\n\\.\n"


def push(project: Path, url: str, *extra: str):  # type: ignore[no-untyped-def]
    return invoke("push", "--workdir", str(project), "--db-url", url, *extra)


def deploy_log_statuses(url: str) -> list[str]:
    with psycopg.connect(url) as connection:
        exists = connection.execute("select to_regclass('supabase_migrations.supadeploy_deployments')").fetchone()
        if not exists or exists[0] is None:
            return []
        return [row[0] for row in connection.execute("select status from supabase_migrations.supadeploy_deployments")]


@pytest.mark.parametrize("prefix", ["", NO_TRANSACTION], ids=["transaction", "no-transaction"])
def test_copy_from_stdin_is_refused_before_anything_runs(project_dir: Path, db_url: str, prefix: str) -> None:
    write_migration(project_dir, "001_copy.sql", prefix + COPY)
    line = 3 if prefix else 2
    outcome = push(project_dir, db_url)
    assert outcome.exit_code == 1, outcome.output
    assert f"001_copy.sql:{line}:1: COPY … FROM STDIN / TO STDOUT" in outcome.stderr
    assert "Traceback" not in outcome.output
    assert "c" not in tables(db_url)
    assert history_rows(db_url) == []
    assert "running" not in deploy_log_statuses(db_url)
    as_json = push(project_dir, db_url, "--json")
    assert as_json.exit_code == 1
    document = json.loads(as_json.stdout)
    assert document["ok"] is False and "COPY" in document["error"]["message"]


def test_a_psql_meta_command_is_refused(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_meta.sql", "create table public.m (id int);\n\\set ON_ERROR_STOP on\n")
    outcome = push(project_dir, db_url)
    assert outcome.exit_code == 1, outcome.output
    assert "001_meta.sql:1:" in outcome.stderr or "001_meta.sql:2:" in outcome.stderr
    assert "psql meta-command" in outcome.stderr
    assert "m" not in tables(db_url)


def test_a_no_transaction_file_ending_in_set_role_records_its_history(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_role.sql", NO_TRANSACTION + "create table public.r (id int);\nset role anon;\n")
    outcome = push(project_dir, db_url)
    assert outcome.exit_code == 0, outcome.output
    assert [row[0] for row in history_rows(db_url)] == ["001"]
    write_migration(project_dir, "002_next.sql", "create table public.s (id int);\n")
    again = push(project_dir, db_url)
    assert again.exit_code == 0, again.output
    assert [row[0] for row in history_rows(db_url)] == ["001", "002"]
