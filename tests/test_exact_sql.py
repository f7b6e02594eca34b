"""The SQL Postgres executes is the SQL in the file (issue 12 §3): a push leaves what `psql -1 -f` of the same file
leaves, while the history row keeps the Supabase CLI's statements. Each case is applied twice, by supadeploy to one
fresh database and by psql to another, and the values are compared."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from supadeploy.migrations.splitter import split_statements
from tests.support.cli import invoke, write_migration
from tests.support.inspect import history_rows, scalar
from tests.support.psql import apply_with_psql

SETUP = """\
create table public.settings (key text primary key, message text);
insert into public.settings values ('x', 'old');
create table public.msgs (id int, greeting text);
create table public.notes (id int primary key, body text);
insert into public.notes values (1, 'old');
create table public.samples (id int generated always as identity, v text);
"""

QUOTED = """\
update public.settings set message = E'Don\\'t panic; we\\'re fine' where key = 'x';
comment on table public.settings is E'User\\'s settings; do not edit by hand';
alter table public.msgs alter column greeting set default E'it\\'s here; welcome';
update public.notes set body = $€$first; second$€$ where id = 1;
"""

STORED_VALUES = {
    "message": "select message from public.settings where key = 'x'",
    "comment": "select obj_description('public.settings'::regclass, 'pg_class')",
    "default": "select column_default from information_schema.columns "
               "where table_schema = 'public' and table_name = 'msgs' and column_name = 'greeting'",
    "body": "select body from public.notes where id = 1",
    "samples": "select coalesce(array_agg(v order by id), '{}') from public.samples",
}


def stored_values(url: str) -> dict[str, Any]:
    return {name: scalar(url, query) for name, query in STORED_VALUES.items()}


def push(project: Path, url: str) -> tuple[int, str]:
    outcome = invoke("push", "--workdir", str(project), "--db-url", url)
    return outcome.exit_code, outcome.output


@pytest.fixture
def two_databases(project_dir: Path, make_db: Callable[[], str]) -> tuple[str, str]:
    """(pushed by supadeploy, applied by psql), both with the setup migration already in place."""
    pushed, by_psql = make_db(), make_db()
    setup = write_migration(project_dir, "001_setup.sql", SETUP)
    exit_code, output = push(project_dir, pushed)
    assert exit_code == 0, output
    completed = apply_with_psql(by_psql, setup)
    assert completed.returncode == 0, completed.stderr
    return pushed, by_psql


@pytest.mark.parametrize("directive", ["", "-- supadeploy:no-transaction\n"], ids=["transaction", "no_transaction"])
def test_quoted_semicolons_reach_postgres_unchanged(project_dir: Path, two_databases: tuple[str, str],
                                                    directive: str) -> None:
    pushed, by_psql = two_databases
    sql = directive + QUOTED
    path = write_migration(project_dir, "002_quoted.sql", sql)
    exit_code, output = push(project_dir, pushed)
    assert exit_code == 0, output
    completed = apply_with_psql(by_psql, path)
    assert completed.returncode == 0, completed.stderr
    assert stored_values(pushed) == stored_values(by_psql)
    assert stored_values(pushed) == {
        "message": "Don't panic; we're fine", "comment": "User's settings; do not edit by hand",
        "default": "'it''s here; welcome'::text", "body": "first; second", "samples": [],
    }
    assert history_rows(pushed)[-1] == ("002", "quoted", [s.text for s in split_statements(sql)])


# Files where the Supabase CLI's split and PostgreSQL's lexer disagree on where statements end.
DISAGREEING = {
    "dollar_pair_inside_an_identifier": "create table public.ab$$c (v text);\n"
                                        "insert into public.ab$$c values ('1;2');\n"
                                        "insert into public.samples (v) select v from public.ab$$c;\n",
    "two_statements_the_cli_reads_as_one": "insert into public.samples (v) values (E'it\\'s'), (';');\n"
                                           "insert into public.samples (v) values ('after');\n",
    "dollar_tag_with_a_symbol": "insert into public.samples (v) select $€1$a; b$€1$;\n",
    "escaped_quote_then_a_semicolon_in_the_next_string": "insert into public.samples (v) select E'q\\'s' || ';t';\n",
    "standard_conforming_strings_off_in_the_file": "set standard_conforming_strings = off;\n"
                                                   "insert into public.samples (v) select 'it\\'s; fine';\n",
}


@pytest.mark.parametrize("sql", DISAGREEING.values(), ids=DISAGREEING.keys())
def test_where_the_cli_split_is_wrong_the_text_is_never_altered(project_dir: Path, two_databases: tuple[str, str],
                                                                sql: str) -> None:
    pushed, by_psql = two_databases
    path = write_migration(project_dir, "002_edge.sql", sql)
    before = stored_values(pushed)
    exit_code, output = push(project_dir, pushed)
    completed = apply_with_psql(by_psql, path)
    assert completed.returncode == 0, completed.stderr
    if exit_code == 0:
        assert stored_values(pushed) == stored_values(by_psql)
        assert history_rows(pushed)[-1] == ("002", "edge", [s.text for s in split_statements(sql)])
    else:
        assert exit_code == 1, output
        assert re.search(r"002_edge\.sql:\d+", output), output
        assert stored_values(pushed) == before
        assert [row[0] for row in history_rows(pushed)] == ["001"]


def test_down_sql_reaches_postgres_unchanged(project_dir: Path, two_databases: tuple[str, str]) -> None:
    """rollback runs a down file by the same lexer: its quoted semicolons are not split either."""
    pushed, by_psql = two_databases
    write_migration(project_dir, "002_quoted.sql", "select 1;\n")
    exit_code, output = push(project_dir, pushed)
    assert exit_code == 0, output
    down = write_migration(project_dir, "002_quoted.down.sql", QUOTED)
    outcome = invoke("rollback", "--to", "001", "--workdir", str(project_dir), "--db-url", pushed)
    assert outcome.exit_code == 0, outcome.output
    completed = apply_with_psql(by_psql, down)
    assert completed.returncode == 0, completed.stderr
    assert stored_values(pushed) == stored_values(by_psql)
    assert stored_values(pushed)["message"] == "Don't panic; we're fine"
    assert [row[0] for row in history_rows(pushed)] == ["001"]
