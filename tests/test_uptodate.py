"""A push with nothing to do: answered by the libpq quick check (supadeploy.uptodate) without psycopg, with
the same output as the full push, deferring every other case to it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from supadeploy import uptodate
from supadeploy.errors import ConnectionFailed
from supadeploy.migrations.files import discover_migrations
from supadeploy.migrations.plan import Plan
from supadeploy.targets.libpq_reader import LibpqError, ReadOnlySession
from supadeploy.targets.postgres import DEPLOY_LOCK_ID, DEPLOY_LOCK_NAMESPACE, PostgresTarget
from tests.support.cli import Outcome, invoke, write_migration
from tests.support.inspect import history_rows

RUN_AND_REPORT_MODULES = """
import sys
from supadeploy.cli import main
sys.argv = ["supadeploy", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    code = exit.code
print("psycopg loaded:", "psycopg" in sys.modules, file=sys.stderr)
sys.exit(code)
"""


def quick_plan(url: str, project: Path) -> Plan | None:
    """What the quick check plans from the history it reads over libpq (None: the full push decides)."""
    history = uptodate.read_history(url, application_name="test")
    return uptodate.plan_from_history(history, discover_migrations(project / "supabase" / "migrations"),
                                      include_all=False, allow_drift=False)


def push(project: Path, url: str, *extra: str) -> Outcome:
    return invoke("push", "--workdir", str(project), "--db-url", url, *extra)


def push_process(project: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", RUN_AND_REPORT_MODULES, "push", "--workdir", str(project),
                           "--db-url", url, "--no-verify", "--no-types"], capture_output=True, text=True, timeout=120)


@pytest.fixture
def without_quick_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine where libpq cannot be loaded: every push runs in full."""
    def unavailable() -> None:
        raise LibpqError("libpq not found")

    monkeypatch.setattr(uptodate, "load_libpq", unavailable)


@pytest.fixture
def applied_project(project_dir: Path, db_url: str) -> Path:
    write_migration(project_dir, "001_users.sql", "create table public.users (id bigint primary key);\n")
    write_migration(project_dir, "002_posts.sql", "create table public.posts (id bigint primary key, body text);\n"
                                                  "create index posts_body on public.posts (body);\n")
    first = push(project_dir, db_url)
    assert first.exit_code == 0, first.output
    return project_dir


def test_nothing_to_do_never_loads_psycopg(applied_project: Path, db_url: str) -> None:
    completed = push_process(applied_project, db_url)
    assert completed.returncode == 0, completed.stderr
    assert "Nothing to push" in completed.stdout and "(2 migrations applied)" in completed.stdout
    assert "psycopg loaded: False" in completed.stderr
    write_migration(applied_project, "003_tags.sql", "create table public.tags (id int);\n")
    pending = push_process(applied_project, db_url)
    assert pending.returncode == 0, pending.stderr
    assert "Applied 1 migration(s)" in pending.stdout and "psycopg loaded: True" in pending.stderr


@pytest.mark.parametrize("extra", [(), ("--json",), ("--dry-run",), ("--dry-run", "--json")])
def test_the_quick_answer_reads_exactly_like_the_full_push(applied_project: Path, db_url: str, extra: tuple[str, ...],
                                                           request: pytest.FixtureRequest) -> None:
    quick = push(applied_project, db_url, *extra)
    request.getfixturevalue("without_quick_check")
    full = push(applied_project, db_url, *extra)
    assert (quick.exit_code, quick.stdout, quick.stderr) == (full.exit_code, full.stdout, full.stderr)
    assert quick.exit_code == 0


def test_the_quick_check_answers_while_another_deploy_holds_the_lock(applied_project: Path, db_url: str) -> None:
    (applied_project / "supadeploy.toml").write_text('[push]\ndeploy_lock_wait = "1s"\n', encoding="utf-8")
    with psycopg.connect(db_url, autocommit=True) as holder:
        holder.execute("select pg_advisory_lock(%s, %s)", (DEPLOY_LOCK_NAMESPACE, DEPLOY_LOCK_ID))
        idle = push(applied_project, db_url)
        assert idle.exit_code == 0 and "Nothing to push" in idle.stdout, idle.output
        write_migration(applied_project, "003_tags.sql", "create table public.tags (id int);\n")
        waiting = push(applied_project, db_url)
    assert waiting.exit_code == 1 and "deploy lock" in waiting.stderr, waiting.output
    assert [row[0] for row in history_rows(db_url)] == ["001", "002"]


def edit_applied(project: Path) -> None:
    (project / "supabase" / "migrations" / "002_posts.sql").write_text("create table public.posts (id int);\n",
                                                                      encoding="utf-8")


def add_out_of_order(project: Path) -> None:
    write_migration(project, "0015_between.sql", "create table public.between_them (id int);\n")


def remove_applied(project: Path) -> None:
    (project / "supabase" / "migrations" / "002_posts.sql").unlink()


@pytest.mark.parametrize(("change", "message"), [
    (edit_applied, "edited after they ran"),
    (add_out_of_order, "older than the newest applied one"),
    (remove_applied, "not in your migrations folder"),
])
def test_refusals_come_from_the_full_push(applied_project: Path, db_url: str, change: Callable[[Path], None],
                                          message: str, request: pytest.FixtureRequest) -> None:
    change(applied_project)
    quick = push(applied_project, db_url)
    assert quick.exit_code == 1 and message in quick.stderr, quick.output
    request.getfixturevalue("without_quick_check")
    full = push(applied_project, db_url)
    assert (full.exit_code, full.stdout, full.stderr) == (quick.exit_code, quick.stdout, quick.stderr)


def test_an_unreachable_database_is_reported_as_the_full_push_reports_it(project_dir: Path) -> None:
    write_migration(project_dir, "001_users.sql", "create table public.users (id int);\n")
    url = "postgresql://postgres:Sup3r-secret-pw@127.0.0.1:1/postgres"
    quick = push(project_dir, url)
    assert quick.exit_code == 1
    assert quick.stderr.startswith("error: cannot connect to postgresql://postgres:****@127.0.0.1:1/postgres: "
                                   "Connection refused"), quick.stderr
    assert "Sup3r-secret-pw" not in quick.output
    with pytest.raises(ConnectionFailed) as by_psycopg:
        PostgresTarget(url).query("select 1")
    with pytest.raises(ConnectionFailed) as by_libpq:
        quick_plan(url, project_dir)
    assert str(by_libpq.value) == str(by_psycopg.value)


def test_what_the_quick_check_leaves_to_the_full_push(project_dir: Path, db_url: str) -> None:
    def plan() -> Plan | None:
        return quick_plan(db_url, project_dir)

    assert plan() is None, "no history table yet: the push creates it"
    write_migration(project_dir, "001_users.sql", "create table public.users (id int);\n")
    assert push(project_dir, db_url).exit_code == 0
    up_to_date = plan()
    assert up_to_date is not None and [m.version for m in up_to_date.applied] == ["001"]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("insert into supabase_migrations.supadeploy_deployments (command) values ('push')")
        assert plan() is None, "a killed run's row: the full push marks it under the lock"
        conn.execute("update supabase_migrations.supadeploy_deployments set status = 'interrupted'")
    assert plan() is not None
    write_migration(project_dir, "002_posts.sql", "create table public.posts (id int);\n")
    assert plan() is None, "something pending"


def test_read_only_session_returns_text_and_nulls(db_url: str) -> None:
    with ReadOnlySession({"dbname": db_url, "client_encoding": "UTF8"}) as session:
        assert session.rows("select 1, null::text, 'é'") == [("1", None, "é")]
        assert session.rows("select 1 where false") == []
        with pytest.raises(LibpqError, match='relation "no_such_table" does not exist'):
            session.rows("select * from no_such_table")
        assert session.rows("select 2") == [("2",)], "the session survives a failed query"


def test_a_bad_file_is_reported_before_an_unreachable_database(project_dir: Path) -> None:
    """The history is read on a thread while the files are read; the files' errors still come first."""
    write_migration(project_dir, "001_users.sql", "create table public.users (id int);\n")
    (project_dir / "supabase" / "migrations" / "002_empty.sql").write_text("\n", encoding="utf-8")
    for url in ("postgresql://postgres:pw@127.0.0.1:1/postgres", "postgresql://postgres:p%zz@127.0.0.1:1/postgres"):
        outcome = push(project_dir, url)
        assert outcome.exit_code == 1
        assert "002_empty.sql: migration file is empty" in outcome.stderr, outcome.stderr
        assert "cannot connect" not in outcome.stderr and "%-escape" not in outcome.stderr


def test_a_bad_url_is_refused_as_the_full_push_refuses_it(project_dir: Path, request: pytest.FixtureRequest) -> None:
    write_migration(project_dir, "001_users.sql", "create table public.users (id int);\n")
    urls = ["postgresql://postgres:p%zz@127.0.0.1:1/postgres", "postgresql://postgres@127.0.0.1:6543/postgres",
            "mysql://root@127.0.0.1/db"]
    quick = [push(project_dir, url) for url in urls]
    request.getfixturevalue("without_quick_check")
    full = [push(project_dir, url) for url in urls]
    assert [(o.exit_code, o.stderr) for o in quick] == [(o.exit_code, o.stderr) for o in full]
    assert all(o.exit_code == 1 and o.stderr.startswith("error: ") for o in quick), [o.stderr for o in quick]
