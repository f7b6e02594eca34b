"""Every database error is mapped where it enters: one clear message, exit 1, and one JSON document with --json.

A role without privileges, a table missing a column supadeploy reads, a connection lost mid-command, and a bug
(an exception nobody expected) under --json.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.reliability.proxy import FaultProxy
from tests.support.cli import Outcome, invoke, write_migration
from tests.support.inspect import history_rows

READING_COMMANDS = (("verify",), ("migration", "list"), ("history",))
ALL_COMMANDS = (*READING_COMMANDS, ("push", "--yes"))


def as_role(url: str, role: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, f"{role}@{parts.hostname}:{parts.port}", parts.path, parts.query, ""))


def run(project: Path, url: str, *command: str, json_output: bool) -> Outcome:
    flags = ["--json"] if json_output else []
    return invoke(*command, "--db-url", url, "--workdir", str(project), *flags)


def assert_one_clear_error(outcome: Outcome, json_output: bool) -> str:
    """Exit 1, no traceback, one `error:` message (what, then what to do); with --json one document on stdout."""
    assert outcome.exit_code == 1, outcome.output
    assert "Traceback" not in outcome.output
    assert outcome.stderr.startswith("error: ") and len(outcome.stderr.strip().splitlines()) == 2, outcome.stderr
    if json_output:
        document = json.loads(outcome.stdout)
        assert document["ok"] is False
        assert document["error"]["message"] in outcome.stderr
        assert document["error"]["fix"]
    return outcome.stderr


@pytest.fixture
def pushed_project(project_dir: Path, db_url: str) -> Path:
    write_migration(project_dir, "20240101000000_init.sql",
                    "create table public.notes (id int primary key);\n"
                    "alter table public.notes enable row level security;\n")
    assert invoke("push", "--yes", "--db-url", db_url, "--workdir", str(project_dir)).exit_code == 0
    write_migration(project_dir, "20240102000000_more.sql", "create table public.more (id int primary key);\n")
    return project_dir


@pytest.fixture
def unprivileged_url(db_url: str) -> Iterator[str]:
    """A role that may log in and nothing else (what `create role r login` gives)."""
    role = f"sd_noprivs_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db_url, autocommit=True) as connection:
        connection.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        yield as_role(db_url, role)
    finally:
        with psycopg.connect(db_url, autocommit=True) as connection:
            connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
            connection.execute(f'DROP ROLE "{role}"')


@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("command", ALL_COMMANDS, ids=" ".join)
def test_a_role_without_privileges_gets_one_line_naming_the_role(
        pushed_project: Path, db_url: str, unprivileged_url: str, command: tuple[str, ...], json_output: bool) -> None:
    role = urlsplit(unprivileged_url).username
    outcome = run(pushed_project, unprivileged_url, *command, json_output=json_output)
    message = assert_one_clear_error(outcome, json_output)
    assert f"the role {role} lacks privileges on postgresql://{role}@" in message
    assert "permission denied for schema" in message and "[SQLSTATE 42501]" in message
    assert "connect as the project's postgres role" in message
    if json_output:
        assert outcome.json()["error"]["type"] == "DatabaseError"
        assert outcome.json()["error"]["sqlstate"] == "42501"
    assert [row[0] for row in history_rows(db_url)] == ["20240101000000"]


@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("command", [("history",), ("push", "--yes")], ids=" ".join)
def test_a_deploy_log_missing_a_column_is_one_clear_error(
        pushed_project: Path, db_url: str, command: tuple[str, ...], json_output: bool) -> None:
    with psycopg.connect(db_url, autocommit=True) as connection:
        connection.execute("ALTER TABLE supabase_migrations.supadeploy_deployments DROP COLUMN actor")
    outcome = run(pushed_project, db_url, *command, json_output=json_output)
    message = assert_one_clear_error(outcome, json_output)
    assert 'column "actor"' in message and "does not exist [SQLSTATE 42703]" in message
    assert "lacks an object supadeploy uses" in message
    if json_output:
        assert outcome.json()["error"]["sqlstate"] == "42703"
    assert [row[0] for row in history_rows(db_url)] == ["20240101000000"]


@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
@pytest.mark.parametrize(("command", "query_marker"), [
    (("verify",), b"pg_policy"),
    (("migration", "list"), b"schema_migrations"),
    (("history",), b"supadeploy_deployments"),
], ids=["verify", "migration list", "history"])
def test_a_connection_lost_mid_command_is_one_clear_error(
        pushed_project: Path, db_url: str, command: tuple[str, ...], query_marker: bytes, json_output: bool) -> None:
    with FaultProxy.for_url(db_url) as proxy:
        proxy.drop("up", before=query_marker)
        outcome = run(pushed_project, proxy.url(db_url), *command, json_output=json_output)
        assert proxy.pending_faults() == 0
    message = assert_one_clear_error(outcome, json_output)
    assert "lost the connection to postgresql://" in message
    if json_output:
        assert outcome.json()["error"]["type"] == "ConnectionFailed"


def boom(*_: object, **__: object) -> None:
    raise RuntimeError("unexpected failure with password hunter2")


def test_a_bug_under_json_still_prints_one_document(
        pushed_project: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("supadeploy.config.load_project", boom)
    outcome = run(pushed_project, db_url, "migration", "list", json_output=True)
    assert outcome.exit_code == 1
    assert outcome.json() == {"ok": False, "error": {
        "type": "InternalError", "where": None, "fix": None,
        "message": "internal error (RuntimeError): this is a supadeploy bug; rerun with SUPADEPLOY_DEBUG=1 for the "
                   "traceback and report it"}}
    assert outcome.stderr.strip().splitlines() == [f"error: {outcome.json()['error']['message']}"]
    assert "hunter2" not in outcome.output


def test_a_bug_without_json_is_one_line_and_no_traceback(
        pushed_project: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("supadeploy.config.load_project", boom)
    outcome = run(pushed_project, db_url, "verify", json_output=False)
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert outcome.stderr.strip().splitlines() == [
        "error: internal error (RuntimeError): this is a supadeploy bug; rerun with SUPADEPLOY_DEBUG=1 for the "
        "traceback and report it"]
    assert "Traceback" not in outcome.output and "hunter2" not in outcome.output


def test_supadeploy_debug_shows_the_traceback_of_a_bug(
        pushed_project: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("supadeploy.config.load_project", boom)
    monkeypatch.setenv("SUPADEPLOY_DEBUG", "1")
    outcome = run(pushed_project, db_url, "history", json_output=True)
    assert outcome.exit_code == 1
    assert outcome.json()["error"]["type"] == "InternalError"
    assert "Traceback" in outcome.stderr and "RuntimeError: unexpected failure" in outcome.stderr


@pytest.mark.parametrize("command", READING_COMMANDS, ids=" ".join)
def test_every_command_redacts_the_secret_variables_from_a_database_error(
        pushed_project: Path, unprivileged_url: str, command: tuple[str, ...]) -> None:
    """The role's name stands in for a password that a database's message happens to contain."""
    role = str(urlsplit(unprivileged_url).username)
    outcome = invoke(*command, "--db-url", unprivileged_url, "--workdir", str(pushed_project), "--json",
                     env={"SUPABASE_DB_PASSWORD": role})
    assert outcome.exit_code == 1
    assert "lacks privileges on postgresql://****@" in outcome.json()["error"]["message"]
    assert role not in outcome.output
