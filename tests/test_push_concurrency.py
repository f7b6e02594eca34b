"""Concurrent pushes and pushes killed at random moments never half-apply or double-apply a migration."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import run_process, write_migration
from tests.support.inspect import history_rows

pytestmark = pytest.mark.slow

APPLY_LOG = "create table if not exists public.apply_log (version text not null, at timestamptz default now());\n"


def write_logged_migrations(project: Path, count: int, sleep_seconds: float = 0.0) -> list[str]:
    """Each migration creates a table and logs itself once in public.apply_log."""
    versions = []
    for number in range(1, count + 1):
        version = f"{number:03d}"
        body = APPLY_LOG if number == 1 else ""
        body += f"create table public.t_{version} (id int primary key, note text default 'v{version};');\n"
        if sleep_seconds:
            body += f"select pg_sleep({sleep_seconds});\n"
        body += f"insert into public.apply_log (version) values ('{version}');\n"
        write_migration(project, f"{version}_step_{version}.sql", body)
        versions.append(version)
    return versions


def database_state(url: str) -> tuple[list[str], list[str], list[str]]:
    """(history versions, logged versions, t_* tables), each sorted."""
    with psycopg.connect(url) as conn:
        has_log = conn.execute("select to_regclass('public.apply_log') is not null").fetchone()
        logged = [r[0] for r in conn.execute("select version from public.apply_log order by 1")] \
            if has_log and has_log[0] else []
        tables = [r[0] for r in conn.execute(
            "select substr(tablename, 3) from pg_tables where schemaname = 'public' and tablename like 't\\_%' "
            "order by 1")]
    history = sorted(row[0] for row in history_rows(url))
    return history, logged, tables


def start_push(project: Path, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "supadeploy", "push", "--no-verify", "--workdir", str(project), "--db-url", url,
         "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )


def test_eight_concurrent_pushes_apply_every_migration_exactly_once(project_dir: Path, db_url: str) -> None:
    versions = write_logged_migrations(project_dir, 30, sleep_seconds=0.01)
    processes = [start_push(project_dir, db_url) for _ in range(8)]
    outputs = [process.communicate(timeout=300) for process in processes]
    assert [process.returncode for process in processes] == [0] * 8, [err for _, err in outputs]
    history, logged, tables = database_state(db_url)
    assert history == versions
    assert logged == versions  # every migration ran exactly once
    assert tables == versions
    import json

    applied_per_process = [len(json.loads(out)["result"]["applied"]) for out, _ in outputs]
    assert sum(applied_per_process) == 30


def test_sigkill_at_random_moments_never_half_applies(project_dir: Path, db_url: str) -> None:
    versions = write_logged_migrations(project_dir, 25, sleep_seconds=0.02)
    rng = random.Random(20261125)
    completed_before_kill = 0
    for _trial in range(20):
        with psycopg.connect(db_url, autocommit=True) as conn:  # start each trial from scratch
            conn.execute("drop schema if exists supabase_migrations cascade")
            conn.execute("drop schema public cascade; create schema public; "
                         "grant usage on schema public to anon, authenticated, service_role")
        process = start_push(project_dir, db_url)
        time.sleep(rng.uniform(0.05, 1.5))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        else:
            completed_before_kill += 1
        process.communicate(timeout=60)

        wait_for_backends_to_finish(db_url)
        history, logged, tables = database_state(db_url)
        assert history == logged == tables, "history must match the schema after a kill"
        assert history == versions[: len(history)], "migrations are applied in order"

        rerun = run_process("push", "--workdir", str(project_dir), "--db-url", db_url, "--json")
        assert rerun.exit_code == 0, rerun.output
        assert database_state(db_url) == (versions, versions, versions)
    assert completed_before_kill < 20, "the kills must interrupt pushes"


def wait_for_backends_to_finish(url: str, timeout: float = 10.0) -> None:
    """A killed client's server session ends when Postgres next talks to it; wait until it has."""
    dbname = url.rsplit("/", 1)[1].split("?")[0]
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            (others,) = conn.execute(
                "select count(*) from pg_stat_activity where datname = %s and pid <> pg_backend_pid() "
                "and application_name like 'supadeploy%%'", (dbname,)).fetchone() or (0,)
            if others == 0:
                return
            time.sleep(0.05)
