r"""Property (hypothesis): `supadeploy push` of a file leaves what `psql -X -1 -v ON_ERROR_STOP=1 -f` of it leaves.

What is generated: files of 1-4 statements, each one of

* ``insert into public.samples (v) values (<literal>);``
* ``insert into public.samples (v) select <literal>;`` (no parentheses: the Supabase CLI splits at a ``;`` there)
* ``comment on table public.samples is <literal>;``

separated by a newline, a space, a nested block comment ``/* a /* b; */ c; */`` or a ``--`` comment holding ``;``
and quotes (and sometimes such a comment before the first statement), where ``<literal>`` is one of

* ``E'...'`` holding letters, spaces, ``;``, ``\'``, ``\\``, ``\n``, ``''`` and ``é``;
* ``'...'`` holding letters, ``;``, ``''``, a lone ``\``, ``\\`` and ``\'``;
* ``U&'...'`` with ``\0061`` and ``\+000061`` escapes, or with ``!0061`` escapes and ``UESCAPE '!'``;
* ``$tag$...$tag$`` with the tags ``""``, ``_``, ``é1``, ``ß_2``, ``tag``, ``€`` and a body holding ``;``, ``'``,
  ``\`` and ``$``;
* a string continued on the next line (``'a'\n'b'``, ``E'a'\n'b'``).

Each run uses two fresh databases, A (pushed by supadeploy) and B (applied by psql), with
``standard_conforming_strings`` on, and again with it off on both (``ALTER DATABASE ... SET``: plain ``''`` strings
then read a backslash as an escape, ``E''`` strings are unchanged). Between examples both are emptied.

The property: either the push exits 0 and A's rows (in insertion order) and table comment equal B's, with the
history row holding the Supabase CLI's statements; or it exits 1 with a FILE:LINE message, having applied nothing
(no row, no comment, no history row). Where psql rejects the file, the push must reject it too, and both leave
nothing. Fixed seed (``derandomize``) and a bounded number of examples, so that it runs the same way in CI.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from psycopg import sql

from supadeploy.migrations.splitter import split_statements
from tests.support.cli import invoke, write_migration
from tests.support.inspect import history_rows
from tests.support.psql import apply_with_psql

FILE_NAME = "001_generated.sql"
SAMPLES = "create table public.samples (id bigint generated always as identity primary key, v text)"
EMPTY: tuple[list[str | None], str | None] = ([], None)


def quoted(opening: str, pieces: st.SearchStrategy[str], closing: str = "'") -> st.SearchStrategy[str]:
    return st.lists(pieces, min_size=1, max_size=5).map(lambda chosen: opening + "".join(chosen) + closing)


escape_string = quoted("E'", st.sampled_from(["a", " ", ";", "\\'", "\\';", "\\\\", "\\n", "''", "é", "x; y"]))
plain_string = quoted("'", st.sampled_from(["a", ";", "''", "'';", "\\", "\\\\", "\\'", "\\';", " "]))
unicode_string = st.one_of(
    quoted("U&'", st.sampled_from(["d", "t", ";", "\\0061", "\\+000061", "''", " "])),
    quoted("U&'", st.sampled_from(["d", "t", ";", "!0061", "!+000061", "''", "!!"]), closing="' UESCAPE '!'"),
)


@st.composite
def dollar_string(draw: st.DrawFn) -> str:
    tag = draw(st.sampled_from(["", "_", "é1", "ß_2", "tag", "€"]))
    body = draw(st.lists(st.sampled_from(["a", ";", "'", "\\", " ", "$", "b;c"]), min_size=1, max_size=5))
    return f"${tag}${''.join(body)}${tag}$"


continued_string = st.tuples(st.one_of(plain_string, escape_string), plain_string).map("\n".join)
literal = st.one_of(escape_string, plain_string, unicode_string, dollar_string(), continued_string)

statement = st.builds(str.format, st.sampled_from([
    "insert into public.samples (v) values ({});",
    "insert into public.samples (v) select {};",
    "insert into public.samples (v) select {} as v;",
    "comment on table public.samples is {};",
]), literal)
separator = st.sampled_from(["\n", " ", "\n/* a /* b; */ c; */\n", "\n-- it's; a \"comment\" $x$\n"])


@st.composite
def migration_file(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(["", "-- generated; 'quoted'\n", "/* lead /* nested; */ */\n"]))
    statements = draw(st.lists(statement, min_size=1, max_size=4))
    for index, chosen in enumerate(statements):
        text += chosen + (draw(separator) if index < len(statements) - 1 else "\n")
    return text


def database_state(url: str) -> tuple[list[str | None], str | None]:
    """The rows of public.samples in insertion order, and its table comment."""
    with psycopg.connect(url) as conn:
        rows = [row[0] for row in conn.execute("select v from public.samples order by id").fetchall()]
        comment = conn.execute("select obj_description('public.samples'::regclass, 'pg_class')").fetchone()
    return rows, comment[0] if comment else None


def empty(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("truncate public.samples restart identity")
        conn.execute("comment on table public.samples is null")
        if conn.execute("select to_regclass('supabase_migrations.schema_migrations')").fetchone() != (None,):
            conn.execute("delete from supabase_migrations.schema_migrations")


@pytest.fixture(params=["on", "off"], ids=["standard_conforming_strings_on", "standard_conforming_strings_off"])
def two_databases(request: pytest.FixtureRequest, make_db: Callable[[], str],
                  pg_admin_url: str) -> tuple[str, str]:
    """(pushed by supadeploy, applied by psql), created once for all the examples of one setting."""
    pushed, by_psql = make_db(), make_db()
    for url in (pushed, by_psql):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SAMPLES)
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("alter database {} set standard_conforming_strings = {}").format(
                sql.Identifier(urlsplit(url).path.lstrip("/")), sql.SQL(request.param)))
        with psycopg.connect(url) as conn:
            assert conn.execute("show standard_conforming_strings").fetchone() == (request.param,)
    return pushed, by_psql


def assert_nothing_applied(url: str, exit_code: int, output: str) -> None:
    assert exit_code == 1, output
    assert re.search(rf"{re.escape(FILE_NAME)}:\d+", output), output
    assert "Traceback" not in output
    assert database_state(url) == EMPTY
    assert history_rows(url) == []


@settings(derandomize=True, database=None, max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(file_text=migration_file())
def test_a_push_leaves_what_psql_leaves(project_dir: Path, two_databases: tuple[str, str], file_text: str) -> None:
    pushed, by_psql = two_databases
    empty(pushed)
    empty(by_psql)
    note(f"file:\n{file_text}")
    path = write_migration(project_dir, FILE_NAME, file_text)
    # public.samples is the fixture's table, not a schema migrated by hand (supadeploy.hand_migrated)
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url", pushed, "--allow-existing-objects")
    completed = apply_with_psql(by_psql, path)
    note(f"push exit {outcome.exit_code}: {outcome.output}\npsql exit {completed.returncode}: {completed.stderr}")
    if completed.returncode != 0:
        assert database_state(by_psql) == EMPTY
        assert_nothing_applied(pushed, outcome.exit_code, outcome.output)
    elif outcome.exit_code == 0:
        assert database_state(pushed) == database_state(by_psql)
        assert history_rows(pushed) == [("001", "generated", [s.text for s in split_statements(file_text)])]
    else:
        assert_nothing_applied(pushed, outcome.exit_code, outcome.output)


def test_the_generated_files_cover_what_the_module_docstring_promises() -> None:
    """The generator reaches each construct, so that the property is not vacuous."""
    found: set[str] = set()
    markers = {"E'": "escape", "U&'": "unicode", "UESCAPE": "uescape", "$é1$": "non-ascii tag", "$€$": "symbol tag",
               "/* b;": "nested comment", "'\n'": "continuation", "\\'": "backslash quote"}

    @settings(derandomize=True, database=None, max_examples=300, deadline=None)
    @given(file_text=migration_file())
    def collect(file_text: str) -> None:
        found.update(name for marker, name in markers.items() if marker in file_text)

    collect()
    assert found == set(markers.values())
