"""Property-based tests of statement splitting and error locations (hypothesis).

* Generated migration files (dollar quotes with random tags, nested comments, strings with semicolons, E''
  escapes, unicode identifiers, BEGIN ATOMIC bodies, CRLF) split exactly as the real Supabase CLI 2.117.0 stores
  them: each hypothesis example is a batch of files recorded by one `supabase migration repair --status applied`
  call (the CLI reads and splits them without running them).
* A failing statement placed at a random spot of a generated file, after random harmless statements, is reported
  by `push` at its exact file:line:column, on the real Postgres.
"""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supadeploy.migrations.files import discover_migrations
from supadeploy.migrations.splitter import line_and_column, split_statements
from supadeploy.pipeline import PushOptions, push
from supadeploy.targets.postgres import PostgresTarget
from tests.reliability.state import record_figures
from tests.support.databases import cli_url

FIXTURE_REUSE = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]

# --- generated SQL ---------------------------------------------------------------------------------------------

TAG_CHARS = "abcXYZ_019éßΩж名"
WORDS = ["select", "create", "table", "begin", "atomic", "end", "backend", "do", "language", "plpgsql", "as",
         "returns", "int", "from", "where", "values", "insert", "into", "policy", "on", "for", "using"]
UNICODE_NAMES = ["données", "名前", "ünïcødé", "Ελληνικά", "русский", "עברית", "\U0001f600", "x\u0131y"]
BODY_TEXT = st.lists(st.sampled_from([*"ab ;'\"\n\t$-/*()\\é", "--", "/*", "*/", "$$", "\r\n", "名"]),
                     max_size=20).map("".join)

tags = st.text(alphabet=TAG_CHARS, max_size=5).filter(lambda tag: not tag[:1].isdigit())


@st.composite
def dollar_quoted(draw: st.DrawFn) -> str:
    tag = draw(tags)
    body = draw(BODY_TEXT).replace(f"${tag}$", "")
    return f"${tag}${body}${tag}$"


@st.composite
def nested_comment(draw: st.DrawFn, depth: int = 0) -> str:
    inner = draw(st.lists(st.one_of(BODY_TEXT.map(lambda t: t.replace("*/", "").replace("/*", "")),
                                    st.just(";"),
                                    st.deferred(lambda: nested_comment(depth + 1)) if depth < 2 else st.just("x")),
                          max_size=3))
    return "/*" + "".join(inner) + "*/"


line_comment = BODY_TEXT.map(lambda text: "--" + text.replace("\n", " ").replace("\r", " ") + "\n")
string_literal = BODY_TEXT.map(lambda text: "'" + text.replace("'", "''") + "'")
escape_string = st.lists(st.sampled_from(["a", ";", "\\'", "\\\\", "\\n", "''", " ", "é", "--"]), max_size=8).map(
    lambda parts: "E'" + "".join(parts) + "'")
quoted_identifier = st.sampled_from([*UNICODE_NAMES, "we;ird", 'a""b', "semi;colon"]).map(lambda n: f'"{n}"')
bare_unicode_identifier = st.sampled_from(UNICODE_NAMES[:4])
atomic_body = st.lists(st.sampled_from(["select 1;", " select (a end);", " select 'end;';", "\n", " x "]),
                       max_size=4).map(lambda parts: "begin atomic " + "".join(parts) + " end")
token = st.one_of(
    st.sampled_from(WORDS), dollar_quoted(), nested_comment(), line_comment, string_literal, escape_string,
    quoted_identifier, bare_unicode_identifier, atomic_body, st.sampled_from(["(", ")", ",", "1", "$1", "a$b", "\\"]),
)
separator = st.sampled_from([" ", "\n", "\r\n", ";", ";\n", ";\r\n", "", "\t", " ;; "])


@st.composite
def migration_file(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.tuples(token, separator), min_size=1, max_size=25))
    return "".join(piece + sep for piece, sep in parts)


# --- against the real CLI ----------------------------------------------------------------------------------------

BATCH = 40
_batches = itertools.count(1)
_compared: list[int] = []


def cli_statements(cli: str, project: Path, db_url: str, files: list[str]) -> dict[str, list[str]]:
    """Let the CLI record ``files`` (as versions of one batch); version -> the statements it stored."""
    migrations = project / "supabase" / "migrations"
    for old in migrations.glob("*.sql"):
        old.unlink()
    batch = next(_batches)
    versions = [f"2025{batch:04d}{index:06d}" for index in range(len(files))]
    for version, sql in zip(versions, files, strict=True):
        (migrations / f"{version}_fuzz.sql").write_bytes(sql.encode("utf-8"))
    done = subprocess.run([cli, "migration", "repair", *versions, "--status", "applied", "--db-url", cli_url(db_url)],
                          cwd=project, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("select version, statements from supabase_migrations.schema_migrations "
                            "where version = any(%s)", (versions,)).fetchall()
    return {version: list(statements or []) for version, statements in rows}


@pytest.mark.cli
@settings(max_examples=5, deadline=None, derandomize=True, database=None, suppress_health_check=FIXTURE_REUSE)
@given(files=st.lists(migration_file(), min_size=BATCH, max_size=BATCH))
def test_generated_files_split_like_the_cli(files: list[str], supabase_cli: str, project_dir: Path,
                                            db_url: str) -> None:
    stored = cli_statements(supabase_cli, project_dir, db_url, files)
    versions = sorted(stored)
    assert len(versions) == len(files)
    for version, sql in zip(versions, files, strict=True):
        ours = split_statements(sql)
        assert [statement.text for statement in ours] == stored[version], sql
        for statement in ours:
            assert sql[statement.offset:statement.offset + len(statement.text)] == statement.text
    _compared.append(len(files))


@settings(max_examples=300, deadline=None, database=None)
@given(sql=migration_file())
def test_statement_offsets_and_line_columns_are_consistent(sql: str) -> None:
    previous_end = 0
    for statement in split_statements(sql):
        assert statement.offset >= previous_end
        assert sql[statement.offset:statement.offset + len(statement.text)] == statement.text
        line, column = line_and_column(sql, statement.offset)
        before = sql[:statement.offset]
        assert line == before.count("\n") + 1
        assert column == len(before) - (before.rfind("\n") + 1) + 1
        previous_end = statement.offset + len(statement.text)


# --- error locations on the real Postgres ------------------------------------------------------------------------

harmless = st.one_of(
    string_literal.map(lambda s: f"select {s}"),
    st.tuples(tags, BODY_TEXT.map(lambda body: body.replace("$", ""))).map(   # no "$" that Postgres reads apart
        lambda tag_body: f"select ${tag_body[0]}${tag_body[1]}${tag_body[0]}$"),
    st.lists(st.sampled_from(["a", ";", "\\\\", "\\n", "''", " ", "é", "--", "\\t"]), max_size=6).map(
        lambda parts: "select E'" + "".join(parts) + "'"),
    quoted_identifier.map(lambda name: f"select 1 as {name}"),
    st.just("do $body$ begin perform 1; end $body$"),
    st.sampled_from(UNICODE_NAMES).map(lambda name: f"select 1 /* {name}; /* nested; */ */"),
    tags.map(lambda tag: f"do ${tag}x$\nbegin\n  perform ';';\nend\n${tag}x$"),
)
# Comments Postgres reads the way the CLI does ("/*/" alone is a whole comment to the CLI, not to Postgres).
comment_words = st.lists(st.sampled_from(["a", ";", " ", "é", "名", "'", '"', "$$", "--"]), max_size=6).map("".join)
plain_nested_comment = st.tuples(comment_words, comment_words, comment_words).map(
    lambda words: f"/* {words[0]} /* {words[1]} */ {words[2]} */ ")
gap = st.lists(st.one_of(st.sampled_from([" ", "\n", "\r\n", "\t"]), line_comment, plain_nested_comment),
               max_size=3).map("".join)
failing = st.sampled_from([
    ("select * from\n  public.{marker}", "public.{marker}", "42P01"),   # the error's position is the table
    ("select 1 +\n  {marker}", "{marker}", "42703"),                       # an unknown column
    ("selec {marker}", "selec", "42601"),                                  # a syntax error at the first word
    ("create table public.{marker} (id int);\nalter table public.{marker}\n  add column id int",
     "alter table", "42701"),                                              # runtime error: no position
])


@st.composite
def file_with_error(draw: st.DrawFn) -> tuple[str, int, str]:
    before = draw(st.lists(st.tuples(gap, harmless), max_size=6))
    template, located, sqlstate = draw(failing)
    marker = "no_such_" + draw(st.sampled_from(["thing", "ünï", "名前"])).replace("名前", "x名前")
    marker = f'"{marker}"' if not marker.isascii() else marker
    failing_sql = template.format(marker=marker)
    prefix = "".join(f"{space}{statement};\n" for space, statement in before) + draw(gap)
    sql = prefix + failing_sql + ";\n" + "".join(f"{statement};\n" for _, statement in
                                                  draw(st.lists(st.tuples(gap, harmless), max_size=2)))
    return sql, len(prefix) + failing_sql.index(located.format(marker=marker)), sqlstate


_located: list[int] = []


@pytest.fixture(scope="module", autouse=True)
def figures() -> Iterator[None]:
    yield
    record_figures("splitter: hypothesis", files_compared_with_cli=sum(_compared), error_locations=len(_located))


@settings(max_examples=100, deadline=None, derandomize=True, database=None, suppress_health_check=FIXTURE_REUSE)
@given(case=file_with_error())
def test_errors_point_at_the_failing_token(case: tuple[str, int, str], project_dir: Path, db_url: str) -> None:
    sql, offset, sqlstate = case
    path = project_dir / "supabase" / "migrations" / "001_fuzz.sql"
    path.write_bytes(sql.encode("utf-8"))
    target = PostgresTarget(db_url)
    try:
        result = push(target, discover_migrations(path.parent), PushOptions())
    finally:
        target.close()
    failure = result.failed
    assert failure is not None, sql
    assert (failure.sqlstate, failure.line, failure.column) == (sqlstate, *line_and_column(sql, offset)), sql
    assert result.applied == []
    with psycopg.connect(db_url) as conn:
        assert conn.execute("select count(*) from supabase_migrations.schema_migrations").fetchone() == (0,)
    _located.append(1)
