"""Bad input, fuzzed (hypothesis): migration file names, header comments, supadeploy.toml (wrong types, unknown keys,
missing environment variables, broken syntax) and command-line values.

Whatever the input: never a traceback (the CLI runs in process with exceptions propagating: a bug fails the test),
either success or one clear message and a non-zero exit, and never a partial apply (a run that fails before or
while applying leaves exactly the migrations it reported applied, each whole).
Every database URL used here points at a closed port of 127.0.0.1 (or is refused before connecting), so a fuzzed
value never reaches a real database; the test database is only reached through the URLs the tests set.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.state import record_figures, reset_database
from tests.support.cli import Outcome, invoke

# Where the `local` environment points when supadeploy.toml does not say: a closed port here, never a local
# Supabase database someone may be running on 54322.
CLOSED_LOCAL_URL = "postgresql://postgres:postgres@127.0.0.1:1/fuzz_nodb"
NO_SECRETS_IN_ENV = {"SUPADEPLOY_DB_URL": None, "SUPABASE_DB_PASSWORD": None, "SUPABASE_ACCESS_TOKEN": None,
                     "FUZZ_UNSET_VAR": None}
FIXTURE_REUSE = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]
FUZZ = settings(max_examples=50, deadline=None, derandomize=True, database=None, suppress_health_check=FIXTURE_REUSE)
TABLE_SQL = "create table public.{name} (id int primary key);\n"
_examples: dict[str, int] = {}


def applied_tables(url: str) -> tuple[list[str], list[str]]:
    """(history versions, public tables) of the database."""
    with psycopg.connect(url, autocommit=True) as conn:
        (has_history,) = conn.execute(
            "select to_regclass('supabase_migrations.schema_migrations') is not null").fetchone() or (False,)
        history = [r[0] for r in conn.execute("select version from supabase_migrations.schema_migrations "
                                              "order by 1")] if has_history else []
        tables = [r[0] for r in conn.execute("select tablename from pg_tables where schemaname = 'public' "
                                             "order by 1")]
    return history, tables


def assert_one_clear_message(outcome: Outcome) -> None:
    assert "Traceback" not in outcome.output
    if outcome.exit_code == 2 and "Usage:" in outcome.stderr:  # Click's usage error: one "Error:" line
        assert outcome.stderr.count("Error: ") == 1, outcome.stderr
        return
    assert outcome.stderr.count("error: ") == 1, outcome.stderr
    message = outcome.stderr[outcome.stderr.index("error: "):].rstrip("\n")
    assert 1 <= len(message.splitlines()) <= 12, message  # what happened (+ where), then what to do
    assert len(message.splitlines()[0]) > len("error: ") + 10


def fresh(project: Path, url: str) -> Path:
    reset_database(url)
    migrations = project / "supabase" / "migrations"
    for path in migrations.iterdir():
        path.unlink()
    for name in ("supadeploy.toml",):
        (project / name).unlink(missing_ok=True)
    return migrations


@pytest.fixture
def closed_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("supadeploy.config.LOCAL_DB_URL", CLOSED_LOCAL_URL)


def count(name: str, outcome: Outcome) -> None:
    key = f"{name}_exit_{outcome.exit_code}"
    _examples[key] = _examples.get(key, 0) + 1


def teardown_module() -> None:
    record_figures("bad input: hypothesis", **_examples)


# --- file names -------------------------------------------------------------------------------------------------

name_characters = st.sampled_from([*string.ascii_letters, *string.digits, "_", "-", ".", " ", "é", "名", "$", "'",
                                   "%", "~", "+", "(", "\t"])
version = st.one_of(st.sampled_from(["0", "1", "01", "001", "2", "20240101000000"]),
                    st.text(alphabet="0123456789", min_size=1, max_size=14))
file_name = st.one_of(
    st.tuples(version, st.text(name_characters, max_size=12)).map(lambda parts: f"{parts[0]}_{parts[1]}.sql"),
    st.text(name_characters, min_size=1, max_size=16).map(lambda stem: f"{stem}.sql"),
    st.text(name_characters, min_size=1, max_size=16),
    st.sampled_from(["001_a.down.sql", "1_x.SQL", ".sql", "_a.sql", "001_.sql", "0001.sql", "001_a.sql.bak"]),
).filter(lambda name: name not in (".", "..") and "/" not in name and "\0" not in name)


CONTENTS = {"sql": None, "empty": b"", "blank": b"  \n\t\n", "comment only": b"-- nothing here\n",
            "latin-1": b"comment on schema public is 'caf\xe9';\n", "bom": b"\xef\xbb\xbfselect 1;\n"}


@FUZZ
@given(files=st.lists(st.tuples(file_name, st.sampled_from(["sql", "sql", "sql", *CONTENTS])), min_size=1,
                      max_size=4, unique_by=lambda file: file[0]),
       duplicate=st.booleans())
def test_file_names(files: list[tuple[str, str]], duplicate: bool, project_dir: Path, db_url: str) -> None:
    migrations = fresh(project_dir, db_url)
    versioned = [name for name, _ in files if re.match(r"^[0-9]+_", name)]
    if duplicate and versioned:  # another file with the version of the first versioned one
        twin = versioned[0].split("_", 1)[0] + "_twin.sql"
        files = files if twin in dict(files) else [*files, (twin, "sql")]
    for index, (name, content) in enumerate(files):
        data = CONTENTS[content]
        (migrations / name).write_bytes(TABLE_SQL.format(name=f"t{index}").encode() if data is None else data)
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url", db_url)
    history, tables = applied_tables(db_url)
    names = [name for name, _ in files]
    matching = [name for name in names if re.match(r"^([0-9]+)_(.*)\.sql$", name) and not name.endswith(".down.sql")]
    if outcome.exit_code == 0:
        assert sorted(history) == sorted(re.match(r"^[0-9]+", name).group(0) for name in matching)  # type: ignore
        assert len(tables) == sum(1 for name, content in files if name in matching and content == "sql")
        for name in names:
            if name.endswith(".sql") and name not in matching and not name.endswith(".down.sql"):
                assert f"warning: {migrations / name}: skipped" in outcome.stderr
    else:
        assert outcome.exit_code == 1
        assert_one_clear_message(outcome)
        assert (history, tables) == ([], []), "refused before anything is applied"
    count("file_names", outcome)


# --- header comments --------------------------------------------------------------------------------------------

header_line = st.one_of(
    st.tuples(st.sampled_from(["Migration", "Purpose", "Date", "Author", "Breaking Changes", "Rollback", "Unknown"]),
              st.text(name_characters, max_size=20)).map(lambda field: f"-- {field[0]}: {field[1]}"),
    st.sampled_from(["no-transaction", "ignore", "ignore SD101", "ignore SD999 reason", "no-transactions",
                     "unknown", "NO-TRANSACTION", "ignore SD101 because; reasons", "ignore-all"]).map(
        lambda directive: f"-- supadeploy:{directive}"),
    st.text(name_characters, max_size=30).map(lambda text: f"--{text}"),
    st.sampled_from(["/* block header; */", "--", "-- ", "\ufeff-- bom", "-- supadeploy:",
                     "--supadeploy:no-transaction"]),
)


@FUZZ
@given(header=st.lists(header_line, max_size=6), blank_line=st.booleans())
def test_header_comments(header: list[str], blank_line: bool, project_dir: Path, db_url: str) -> None:
    migrations = fresh(project_dir, db_url)
    body = TABLE_SQL.format(name="a") + "insert into public.a values (1);\n"
    (migrations / "001_headed.sql").write_text("\n".join(header) + ("\n\n" if blank_line else "\n") + body,
                                               encoding="utf-8")
    (migrations / "002_plain.sql").write_text(TABLE_SQL.format(name="b"), encoding="utf-8")
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url", db_url)
    history, tables = applied_tables(db_url)
    if outcome.exit_code == 0:
        assert (history, tables) == (["001", "002"], ["a", "b"])
    else:
        assert outcome.exit_code == 1
        assert_one_clear_message(outcome)
        assert "001_headed.sql" in outcome.stderr
        assert (history, tables) == ([], [])
    count("header_comments", outcome)


# --- supadeploy.toml --------------------------------------------------------------------------------------------

SECTIONS = ["project", "push", "environments.local", "environments.staging", "environments.prod-1", "api", "verify",
            "types", "lint", "pushh", "environments", "environments.bad name"]
KEYS = ["default_environment", "lock_timeout", "statement_timeout", "deploy_lock_wait", "backup_dir",
        "require_clean_git", "db_url", "db_url_env", "project_ref", "protected", "api_url", "timeout", "fail_on",
        "schemas", "typescript", "python", "outputs", "postgrest_version", "manifest", "unknown_key", "Lock_Timeout"]
safe_text = st.text(alphabet=string.ascii_letters + string.digits + "_-. ", max_size=12)
toml_value = st.one_of(
    safe_text.map(lambda text: f'"{text}"'),
    st.sampled_from(['"10s"', '"500ms"', '"5min"', '"0"', '"-1s"', '"1e9h"', '"ten seconds"', '""', '"FUZZ_UNSET_VAR"',
                     '"postgresql://postgres:s3cret-fuzz-pw@127.0.0.1:1/fuzz_nodb"',
                     '"postgresql://postgres:s3cret-fuzz-pw@db.example.invalid:5432/postgres"',
                     '"abcdefghijklmnopqrst"', '"http://127.0.0.1:1"', '"ftp://x"', '"local"', '"staging"',
                     '"public"', '["public", 1]', '["public"]', '[]', '{ path = "t.ts" }', '[{ path = "t.ts" }]',
                     '"error"', '"warn"', '"sometimes"']),
    st.integers(-3, 10 ** 12).map(str),
    st.booleans().map(lambda b: str(b).lower()),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.just("1979-05-27T07:32:00Z"),
)
toml_line = st.tuples(st.sampled_from(KEYS), toml_value).map(lambda kv: f"{kv[0]} = {kv[1]}")
toml_section = st.tuples(st.sampled_from(SECTIONS), st.lists(toml_line, max_size=4)).map(
    lambda section: "\n".join([f"[{section[0]}]", *section[1]]))
broken_toml = st.sampled_from(["[push", "lock_timeout = ", "= 1", "[push]\n[push]", "x = 'unterminated",
                               "[environments.local]\ndb_url = 1\ndb_url = 2", "\x00", "[[push]]\na = 1"])



@st.composite
def mutated_valid_document(draw: st.DrawFn) -> list[tuple[str, str, str]]:
    """(section, key, value) lines of a valid supadeploy.toml, with 0-2 keys dropped, retyped or unknown.
    '{db_url}' stands for the test database's URL."""
    lines = [("project", "default_environment", '"local"'), ("push", "lock_timeout", '"10s"'),
             ("push", "statement_timeout", '"0"'), ("push", "deploy_lock_wait", '"30s"'),
             ("environments.local", "db_url", '"{db_url}"'), ("environments.staging", "db_url_env", '"FUZZ_UNSET_VAR"'),
             ("environments.prod-1", "db_url_env", '"FUZZ_UNSET_VAR"'), ("environments.prod-1", "protected", "true"),
             ("verify", "fail_on", '"error"'), ("types", "schemas", '["public"]')]
    for _ in range(draw(st.integers(0, 2))):
        index = draw(st.integers(0, len(lines) - 1))
        section, key, _value = lines[index]
        mutation = draw(st.sampled_from(["drop", "retype", "unknown key"]))
        if mutation == "drop":
            del lines[index]
        elif mutation == "retype":
            lines[index] = (section, key, draw(toml_value))
        else:
            lines.append((section, draw(st.sampled_from(KEYS)), draw(toml_value)))
    return lines


def render_toml(lines: list[tuple[str, str, str]]) -> str:
    sections: dict[str, list[str]] = {}
    for section, key, value in lines:
        sections.setdefault(section, []).append(f"{key} = {value}")
    return "\n\n".join(f"[{section}]\n" + "\n".join(entries) for section, entries in sections.items())


toml_document = st.one_of(
    mutated_valid_document().map(render_toml),
    mutated_valid_document().map(render_toml),
    mutated_valid_document().map(render_toml),
    st.lists(toml_section, max_size=4).map("\n\n".join),
    st.tuples(st.lists(toml_section, max_size=2).map("\n".join), broken_toml).map("\n".join),
)


@FUZZ
@given(document=toml_document, env=st.sampled_from([None, "local", None, "local", "staging", "prod-1", "missing"]),
       with_db_url=st.booleans())
def test_configuration_files(document: str, env: str | None, with_db_url: bool, project_dir: Path, db_url: str,
                             closed_local: None) -> None:
    migrations = fresh(project_dir, db_url)
    (migrations / "001_a.sql").write_text(TABLE_SQL.format(name="a"), encoding="utf-8")
    (project_dir / "supadeploy.toml").write_text(document.replace("{db_url}", db_url), encoding="utf-8")
    args = ["push", "--workdir", str(project_dir), "--yes"]
    args += ["--env", env] if env else []
    args += ["--db-url", db_url] if with_db_url else []
    outcome = invoke(*args, env=NO_SECRETS_IN_ENV)  # type: ignore[arg-type]
    history, tables = applied_tables(db_url)
    assert "s3cret-fuzz-pw" not in outcome.output
    if outcome.exit_code == 0:
        assert (history, tables) == (["001"], ["a"])
    else:
        assert outcome.exit_code in (1, 2)
        assert_one_clear_message(outcome)
        assert (history, tables) == ([], [])
    count("configuration_files", outcome)


# --- command-line values ----------------------------------------------------------------------------------------

password = st.text(alphabet=string.ascii_letters + string.digits + "@:/#%?&=+ !$'", min_size=6, max_size=16).map(
    lambda text: "pw" + text)
fuzz_url = st.builds(
    lambda scheme, user, secret, host, port, db: f"{scheme}{user}:{secret}@{host}{port}/{db}",
    st.sampled_from(["postgresql://", "postgres://", "mysql://", "http://", "", "postgresql:/"]),
    st.sampled_from(["postgres", "fuzz_user", "", "us er"]),
    password,
    st.sampled_from(["127.0.0.1", "localhost", "[::1]"]),
    st.sampled_from([":1", ":abc", ":99999", ":2"]),   # never the server's port (an empty one means 5432)
    st.sampled_from(["fuzz_nodb", "fuzz nodb", "fuzz_nodb?sslmode=bogus", "fuzz_nodb?connect_timeout=x"]),
)
option_value = st.one_of(safe_text, st.sampled_from(["", "-", "--", "none", "error", "warn", "api", "cli", "nátive",
                                                     "staging", "local", "http://127.0.0.1:1", "ftp://x"]))
missing_dir = st.sampled_from(["/nonexistent/dir", "/nonexistent/dir/../..x", "/nonexistent/名前", "/proc/nonexistent"])
cli_args = st.lists(st.one_of(
    st.tuples(st.sampled_from(["--env", "--fail-on", "--engine", "--api-url", "-e"]), option_value),
    st.tuples(st.just("--workdir"), missing_dir),
    st.tuples(st.just("--db-url"), fuzz_url),
    st.tuples(st.sampled_from(["--json", "--dry-run", "--yes", "--include-all", "--allow-drift", "--bogus-flag",
                               "extra-argument"]), st.none()),
), min_size=1, max_size=4)


@settings(FUZZ, max_examples=150)
@given(args=cli_args)
def test_command_line_values(args: list[tuple[str, str | None]], project_dir: Path, db_url: str,
                             closed_local: None) -> None:
    migrations = fresh(project_dir, db_url)
    (migrations / "001_a.sql").write_text(TABLE_SQL.format(name="a"), encoding="utf-8")
    argv = ["push"]
    for flag, value in args:
        argv += [flag] if value is None else [flag, value]
    if "--workdir" not in argv:
        argv += ["--workdir", str(project_dir)]
    outcome = invoke(*argv, env=NO_SECRETS_IN_ENV)  # type: ignore[arg-type]
    for flag, value in args:
        if flag == "--db-url" and value:
            secret = value[value.index(":pw") + 1:value.rindex("@")]
            assert secret not in outcome.output, "a password from --db-url was printed"
    assert outcome.exit_code != 0, "no fuzzed command line reaches a database"
    assert_one_clear_message(outcome)
    assert applied_tables(db_url) == ([], [])
    count("command_lines", outcome)
