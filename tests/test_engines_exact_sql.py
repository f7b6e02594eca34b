"""The same promises through the other engines: the Management API target runs each file's text exactly, each
statement once, and refuses transaction control; the Supabase CLI engine refuses a file it would alter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import Outcome, invoke, write_migration
from tests.support.databases import cli_url
from tests.support.inspect import history_rows, scalar
from tests.support.management_api_server import TEST_TOKEN, ManagementApiServer, Project, make_ref

REF = make_ref("exact")
QUOTED = ("update public.settings set message = E'Don\\'t panic; we\\'re fine' where key = 'x';\n"
          "comment on table public.settings is E'User\\'s settings; do not edit by hand';\n")
SETUP = ("create table public.settings (key text primary key, message text);\n"
         "insert into public.settings values ('x', '');\ncreate sequence public.counter;\n")


@pytest.fixture
def api_server(db_url: str) -> Iterator[ManagementApiServer]:
    with ManagementApiServer([Project(ref=REF, name="exact-sql", db_url=db_url)]) as running:
        yield running
        assert running.violations == []


def push_api(project: Path, server: ManagementApiServer) -> Outcome:
    (project / "supadeploy.toml").write_text(f'[environments.staging]\nproject_ref = "{REF}"\n', encoding="utf-8")
    return invoke("push", "--workdir", str(project), "--env", "staging", "--engine", "api",
                  env={"SUPABASE_ACCESS_TOKEN": TEST_TOKEN, "SUPADEPLOY_API_URL": server.url})


def counter(url: str) -> int:
    with psycopg.connect(url) as connection:
        row = connection.execute("select case when is_called then last_value else 0 end from public.counter"
                                 ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("no_transaction", [False, True], ids=["transaction", "no-transaction"])
def test_api_engine_sends_the_text_of_the_file(project_dir: Path, db_url: str, api_server: ManagementApiServer,
                                               no_transaction: bool) -> None:
    write_migration(project_dir, "001_setup.sql", SETUP)
    write_migration(project_dir, "002_quoted.sql", ("-- supadeploy:no-transaction\n" if no_transaction else "")
                    + QUOTED)
    outcome = push_api(project_dir, api_server)
    assert outcome.exit_code == 0, outcome.output
    assert scalar(db_url, "select message from public.settings") == "Don't panic; we're fine"
    assert scalar(db_url, "select obj_description('public.settings'::regclass)") == \
        "User's settings; do not edit by hand"


def test_api_engine_locates_a_runtime_error_without_running_anything_twice(
        project_dir: Path, db_url: str, api_server: ManagementApiServer) -> None:
    write_migration(project_dir, "001_setup.sql", SETUP)
    write_migration(project_dir, "002_fails.sql", "create table public.a (id int);\nselect nextval('public.counter');\n"
                    "select 1;\nselect 1/0;\nselect 2;\n")
    outcome = push_api(project_dir, api_server)
    assert outcome.exit_code == 1, outcome.output
    assert "002_fails.sql:4:" in outcome.output and "division by zero" in outcome.output
    assert counter(db_url) == 1
    assert [row[0] for row in history_rows(db_url)] == ["001"]


def test_api_engine_refuses_transaction_control_before_anything(project_dir: Path, db_url: str,
                                                                api_server: ManagementApiServer) -> None:
    write_migration(project_dir, "001_setup.sql", SETUP)
    assert push_api(project_dir, api_server).exit_code == 0
    write_migration(project_dir, "002_txn.sql", "select nextval('public.counter');\ncommit;\nselect 1/0;\n")
    outcome = push_api(project_dir, api_server)
    assert outcome.exit_code == 1, outcome.output
    assert "002_txn.sql:2:1" in outcome.output and "transaction control" in outcome.output
    assert counter(db_url) == 0


@pytest.mark.cli
def test_cli_engine_refuses_a_file_the_supabase_cli_would_alter(project_dir: Path, db_url: str,
                                                                supabase_cli: str) -> None:
    write_migration(project_dir, "001_setup.sql", SETUP)
    write_migration(project_dir, "002_quoted.sql", QUOTED)
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url", cli_url(db_url), "--engine", "cli",
                     env={"SUPABASE_CLI": supabase_cli})
    assert outcome.exit_code == 1, outcome.output
    assert "002_quoted.sql:1:" in outcome.output and "`supabase db push` would send altered SQL" in outcome.output
    assert "--engine native" in outcome.output
    assert history_rows(db_url) == []
    assert scalar(db_url, "select to_regclass('public.settings') is null") is True
