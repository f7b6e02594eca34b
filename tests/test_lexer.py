"""The lexer behind what push executes: psql's boundaries on PostgreSQL's tokens, and its fast path (libpg_query's
scanner split, taken only where the CLI's split agrees) giving exactly what the token-by-token path gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

from supadeploy.migrations.lexer import lex_statements
from supadeploy.migrations.splitter import split_statements
from tests.conftest import REPO_ROOT
from tests.test_fuzz_splitter import migration_file

SQL_FILES = sorted([*REPO_ROOT.joinpath("supabase", "migrations").glob("*.sql"),
                    *REPO_ROOT.joinpath("tests", "corpus").rglob("*.sql")])


def both_ways(source: str) -> tuple[list[tuple[int, str, tuple[str, ...]]], list[tuple[int, str, tuple[str, ...]]]]:
    cli = [(statement.offset, statement.offset + len(statement.text)) for statement in split_statements(source)]
    fast = lex_statements(source, cli_statements=cli)
    slow = lex_statements(source)
    return ([(s.offset, s.text, s.words) for s in fast], [(s.offset, s.text, s.words) for s in slow])


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda path: path.name)
def test_the_fast_path_gives_what_the_token_path_gives_on_the_corpus(path: Path) -> None:
    fast, slow = both_ways(path.read_text(encoding="utf-8"))
    assert fast == slow


@settings(derandomize=True, max_examples=300, deadline=None)
@given(source=migration_file())
def test_the_fast_path_gives_what_the_token_path_gives_on_generated_files(source: str) -> None:
    try:
        fast, slow = both_ways(source)
    except Exception as error:  # the lexer refuses the text: both paths must refuse it alike
        with pytest.raises(type(error)):
            lex_statements(source)
        return
    assert fast == slow


@pytest.mark.parametrize(("source", "texts"), [
    ("update t set m = E'Don\\'t panic; we\\'re fine' where k = 'x';",
     ["update t set m = E'Don\\'t panic; we\\'re fine' where k = 'x';"]),
    ("select $€$first; second$€$;", ["select $€$first; second$€$;"]),
    ("select $1abc$ ; select 2;", ["select $1abc$ ;", "select 2;"]),  # a tag cannot start with a digit
    ("select a$$b; select 2;", ["select a$$b;", "select 2;"]),  # '$' inside a word opens no quote
    ("create function f() returns int language sql begin atomic select 1; select case when true then 1 end; end;"
     " select 2", ["create function f() returns int language sql begin atomic select 1; select case when true then "
                   "1 end; end;", "select 2"]),
    ("select (1; 2); select 3", ["select (1; 2);", "select 3"]),  # psql: no statement ends inside parentheses
    ("-- header\n/* c; */ select 1 -- done;\n;\n-- trailing", ["/* c; */ select 1 -- done;\n;"]),
    ("select 'a'\n'b;c'; select 2", ["select 'a'\n'b;c';", "select 2"]),  # string continuation
    ("\ufeffselect 1;", ["select 1;"]),
    ("select 1;;;", ["select 1;"]),
])
def test_statements_end_where_psql_ends_them(source: str, texts: list[str]) -> None:
    assert [statement.text for statement in lex_statements(source)] == texts
    for statement in lex_statements(source):
        assert source[statement.offset:statement.offset + len(statement.text)] == statement.text


def test_standard_conforming_strings_off_lexes_backslashes_in_plain_strings() -> None:
    source = "select 'a\\'; b'; select 2;"
    assert [s.text for s in lex_statements(source)] == ["select 'a\\';", "b'; select 2;"]  # an open quote to the end
    assert [s.text for s in lex_statements(source, standard_conforming_strings=False)] == [
        "select 'a\\'; b';", "select 2;"]


def test_a_set_in_the_file_switches_the_mode_for_what_follows() -> None:
    source = ("set standard_conforming_strings = off;\nselect 'a\\'; b';\n"
              "reset standard_conforming_strings;\nselect 'c\\';\nselect 2;\n")
    assert [s.text for s in lex_statements(source)] == [
        "set standard_conforming_strings = off;", "select 'a\\'; b';", "reset standard_conforming_strings;",
        "select 'c\\';", "select 2;"]
