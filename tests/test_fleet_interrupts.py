"""SIGTERM to `fleet push` (what GitHub sends a matrix job that fail-fast cancels): the members running on worker
threads are cancelled at once, their migration in flight rolled back (or, outside a transaction, what stays
said), their deploy-log rows `interrupted`; nothing more starts; the report still prints; a rerun finishes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import invoke, write_migration
from tests.support.inspect import history_rows, tables

MEMBERS = ["a", "b", "c", "d"]
SLEEP = "select pg_sleep(60);\n"


def fleet_repository(project_dir: Path, make_db: Callable[[], str]) -> tuple[dict[str, str], dict[str, str]]:
    urls = {member: make_db() for member in MEMBERS}
    environments = "".join(f'[environments.{m}]\ndb_url_env = "STOP_{m.upper()}_URL"\n\n' for m in MEMBERS)
    (project_dir / "supadeploy.toml").write_text(
        f'{environments}[fleets.tenants]\nmembers = ["a", "b", "c", "d"]\ncanary = 2\nparallel = 2\n')
    write_migration(project_dir, "001_first.sql", "create table public.first (id int);\n"
                    "alter table public.first enable row level security;\n")
    return urls, {f"STOP_{member.upper()}_URL": url for member, url in urls.items()}


def sleeping(urls: dict[str, str], members: list[str]) -> None:
    """Wait until each member's push is inside pg_sleep."""
    deadline = time.monotonic() + 60
    with psycopg.connect(urls[members[0]], autocommit=True) as connection:
        while time.monotonic() < deadline:
            row = connection.execute(
                "select count(distinct datname) from pg_stat_activity where query like '%%pg_sleep(60)%%' "
                "and application_name like 'supadeploy%%' and datname = any(%s)",
                ([urls[m].rsplit("/", 1)[1] for m in members],)).fetchone()
            if row and row[0] == len(members):
                return
            time.sleep(0.05)
    pytest.fail(f"{members} never reached pg_sleep")


def terminated_push(project_dir: Path, urls: dict[str, str], env: dict[str, str]) -> tuple[int, dict[str, object],
                                                                                          str, float]:
    process = subprocess.Popen([sys.executable, "-m", "supadeploy", "fleet", "push", "tenants", "--no-verify",
                                "--json", "--workdir", str(project_dir)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
    sleeping(urls, ["a", "b"])
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    return process.returncode, json.loads(stdout), stderr, time.monotonic() - sent


def deploy_log(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as connection:
        return connection.execute("select status, versions_applied from supabase_migrations.supadeploy_deployments"
                                  " order by id").fetchall()


def test_sigterm_cancels_the_running_members_and_starts_nothing_more(project_dir: Path,
                                                                     make_db: Callable[[], str]) -> None:
    urls, env = fleet_repository(project_dir, make_db)
    write_migration(project_dir, "002_slow.sql", "create table public.slow (id int);\n" + SLEEP)
    exit_code, document, stderr, seconds = terminated_push(project_dir, urls, env)
    assert exit_code == 130, stderr
    assert seconds < 30  # cancelled, not waited out (the migration sleeps 60 s)
    assert "Traceback" not in stderr
    statuses = {member["name"]: member["status"] for member in document["members"]}  # type: ignore[attr-defined]
    assert statuses == {"a": "interrupted", "b": "interrupted", "c": "not started", "d": "not started"}
    assert str(document["halted"]).startswith("interrupted: nothing more was started")
    errors = {member["name"]: member["error"] for member in document["members"]}  # type: ignore[attr-defined]
    assert "interrupted while applying 002_slow.sql: it was rolled back" in errors["a"]
    assert "applied before it in this run, and kept: 001_first" in errors["a"]
    for member in ("a", "b"):
        assert [row[0] for row in history_rows(urls[member])] == ["001"]
        assert "first" in tables(urls[member]) and "slow" not in tables(urls[member])
        assert deploy_log(urls[member]) == [("interrupted", ["001"])]
    for member in ("c", "d"):
        assert "first" not in tables(urls[member])

    (project_dir / "supabase" / "migrations" / "002_slow.sql").write_text("create table public.slow (id int);\n")
    rerun = invoke("fleet", "push", "tenants", "--no-verify", "--json", "--workdir", str(project_dir), env=env)
    assert rerun.exit_code == 0, rerun.output
    assert all("slow" in tables(urls[member]) for member in MEMBERS)


def test_sigterm_in_a_no_transaction_migration_says_what_stays_on_each_member(project_dir: Path,
                                                                             make_db: Callable[[], str]) -> None:
    urls, env = fleet_repository(project_dir, make_db)
    write_migration(project_dir, "002_loose.sql", "-- supadeploy:no-transaction\n"
                    "create table public.kept (id int);\n" + SLEEP + "create table public.never (id int);\n")
    exit_code, document, stderr, _ = terminated_push(project_dir, urls, env)
    assert exit_code == 130, stderr
    members = {member["name"]: member for member in document["members"]}  # type: ignore[attr-defined]
    for member in ("a", "b"):
        assert members[member]["status"] == "interrupted"
        assert "1 of its 3 statements had completed and stay applied (statement 2 was cancelled)" in \
            members[member]["error"]
        assert "kept" in tables(urls[member]) and "never" not in tables(urls[member])
        assert deploy_log(urls[member]) == [("interrupted", ["001"])]
