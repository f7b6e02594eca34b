"""What the reliability tests check after every fault: the database sits at a migration boundary.

Each logged migration creates one table and inserts its version into ``public.apply_log`` once, in the same
transaction as its history row. So after any fault, "history matches schema" is ``history == logged == tables``
(sorted versions); a migration applied twice shows up as a duplicate in ``logged``; a half-applied one as a
table without its history row (or the reverse).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.support.cli import write_migration

APPLY_LOG = "create table if not exists public.apply_log (version text not null, at timestamptz default now());\n"
FIGURES_VARIABLE = "SUPADEPLOY_RELIABILITY_FIGURES"


@dataclass(frozen=True)
class State:
    history: list[str]
    logged: list[str]
    tables: list[str]
    running_deployments: int
    rows: int  # rows read to decide (history + log + tables + deploy log)

    @property
    def at_boundary(self) -> bool:
        return self.history == self.logged == self.tables


def write_logged_migrations(project: Path, count: int, *, sleep_seconds: float = 0.0, start: int = 1) -> list[str]:
    versions = []
    for number in range(start, start + count):
        version = f"{number:03d}"
        body = APPLY_LOG if number == 1 else ""
        body += f"create table public.t_{version} (id int primary key, note text default 'v{version};');\n"
        if sleep_seconds:
            body += f"select pg_sleep({sleep_seconds});\n"
        body += f"insert into public.apply_log (version) values ('{version}');\n"
        write_migration(project, f"{version}_step_{version}.sql", body)
        versions.append(version)
    return versions


def marker(version: str) -> bytes:
    """Bytes that only the request applying ``version`` carries (its table's name)."""
    return f"public.t_{version} ".encode()


def read_state(url: str) -> State:
    with psycopg.connect(url, autocommit=True) as conn:
        (has_log,) = conn.execute("select to_regclass('public.apply_log') is not null").fetchone() or (False,)
        logged = [r[0] for r in conn.execute("select version from public.apply_log order by 1")] if has_log else []
        tables = [r[0] for r in conn.execute(
            "select substr(tablename, 3) from pg_tables where schemaname = 'public' and tablename like 't\\_%' "
            "order by 1")]
        (has_history,) = conn.execute(
            "select to_regclass('supabase_migrations.schema_migrations') is not null").fetchone() or (False,)
        history = [r[0] for r in conn.execute(
            "select version from supabase_migrations.schema_migrations order by 1")] if has_history else []
        (has_log_table,) = conn.execute(
            "select to_regclass('supabase_migrations.supadeploy_deployments') is not null").fetchone() or (False,)
        deployments = conn.execute("select status from supabase_migrations.supadeploy_deployments").fetchall() \
            if has_log_table else []
    running = sum(1 for (status,) in deployments if status == "running")
    return State(history, logged, tables, running, len(history) + len(logged) + len(tables) + len(deployments))


def reset_database(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop schema if exists supabase_migrations cascade")
        conn.execute("drop schema public cascade; create schema public; "
                     "grant usage on schema public to anon, authenticated, service_role")


def wait_for_sessions_to_end(url: str, application_like: str = "supadeploy%", timeout: float = 30.0) -> int:
    """Wait until no session of ``application_like`` is left on the database; returns how many remain."""
    dbname = url.rsplit("/", 1)[1].split("?")[0]
    deadline = time.monotonic() + timeout
    remaining = 0
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            (remaining,) = conn.execute(
                "select count(*) from pg_stat_activity where datname = %s and pid <> pg_backend_pid() "
                "and application_name like %s", (dbname, application_like)).fetchone() or (0,)
            if remaining == 0:
                return 0
            time.sleep(0.02)
    return int(remaining)


def record_figures(name: str, **figures: int | float | str) -> None:
    """Append one line of figures (trials, faults injected, rows checked...) to $SUPADEPLOY_RELIABILITY_FIGURES,
    which docs/reliability.md quotes; a no-op when the variable is not set."""
    path = os.environ.get(FIGURES_VARIABLE)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"test": name, **figures}) + "\n")
