"""Soak: 500 consecutive `supadeploy push` runs (each one push + verify + types, as a deploy runs them) against one
local database, each with a new small random migration, plus a standalone `verify` and `types --check` every 10th
run, all in process through the CLI runner.

Asserted, as growth between a warm-up point and the end (never absolute times): no server connection left open
after any run (pg_stat_activity), no file descriptors or threads left behind, no growth in live Python objects
or resident memory beyond a small bound, and no run slower than a generous multiple of the early runs' median
(the schema grows from 0 to ~500 objects, so some growth is expected and reported).
"""

from __future__ import annotations

import gc
import importlib
import os
import random
import statistics
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from tests.reliability.state import record_figures
from tests.support.cli import invoke, write_migration

pytestmark = pytest.mark.slow

RUNS = 500
WARM_UP = 50          # measurements from here on are compared with the end
CHECK_EVERY = 10
MAX_OBJECT_GROWTH = 1_000      # live Python objects, run WARM_UP -> RUNS (~2 per run; one leaked result is more)
MAX_RSS_GROWTH_MB = 15.0
MAX_SLOWDOWN = 5.0             # median of the last 50 runs vs the median of runs 50-100


@dataclass
class Sample:
    run: int
    seconds: float
    objects: int
    rss_mb: float
    fds: int
    threads: int


@dataclass
class Soak:
    samples: list[Sample] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    views: int = 0
    functions: int = 0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def random_migration(rng: random.Random, soak: Soak, run: int) -> str:
    """A small migration that keeps verify clean: tables get RLS and a policy, views run as the invoker,
    functions pin their search_path."""
    kind = rng.choice(["table", "table", "column", "index", "view", "function", "comment"]) if soak.tables else "table"
    if kind == "table":
        name = f"soak_{run:04d}"
        soak.tables.append(name)
        return (f"create table public.{name} (\n  id bigint generated always as identity primary key,\n"
                f"  owner uuid not null default auth.uid() references auth.users (id),\n  body text default 'a;b'\n);\n"
                f"alter table public.{name} enable row level security;\n"
                f"create policy \"owners read {name}\" on public.{name} for select to authenticated\n"
                f"  using ((select auth.uid()) = owner);\n")
    table = rng.choice(soak.tables)
    if kind == "column":
        return f"alter table public.{table} add column if not exists c_{run:04d} text default 'x';\n"
    if kind == "index":
        return f"create index if not exists {table}_body_{run:04d} on public.{table} (body);\n"
    if kind == "view":
        soak.views += 1
        return (f"create view public.v_{run:04d} with (security_invoker = true) as\n"
                f"  select id, body from public.{table};\n")
    if kind == "function":
        soak.functions += 1
        return (f"create function public.f_{run:04d}(a integer) returns integer\n"
                f"language sql immutable set search_path = '' as $fn$ select a + {run} $fn$;\n")
    return f"comment on table public.{table} is 'run {run}; soak';\n"


def forget_click_stream_caches() -> None:
    """Click caches one text wrapper per stream it has seen, in WeakKeyDictionaries whose values are the keys
    themselves, so an entry never goes. A real `supadeploy` process has one stdout; CliRunner makes new streams
    for every run, so each in-process run would leave 7 objects there. Cleared between runs, so that what is
    measured is supadeploy's own growth."""
    for name in ("click._compat", "typer._click._compat"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for value in vars(module).values():
            for cell in getattr(value, "__closure__", None) or ():
                if isinstance(cell.cell_contents, weakref.WeakKeyDictionary):
                    cell.cell_contents.clear()


def server_sessions(monitor: psycopg.Connection[tuple[object, ...]], settle_seconds: float = 5.0) -> list[str]:
    """Sessions other than the monitor's still on the database once closing ones had time to go (a backend
    leaves pg_stat_activity a moment after its client closed the connection)."""
    deadline = time.monotonic() + settle_seconds
    while True:
        names = [str(name) for (name,) in monitor.execute(
            "select application_name from pg_stat_activity where datname = current_database() "
            "and pid <> pg_backend_pid()")]
        if not names or time.monotonic() > deadline:
            return names
        time.sleep(0.005)


def test_500_runs_leak_nothing(project_dir: Path, db_url: str) -> None:
    (project_dir / "supadeploy.toml").write_text(
        '[types]\ntypescript = "types/database.types.ts"\npython = "types/models.py"\n', encoding="utf-8")
    (project_dir / "types").mkdir()  # push never creates the folder of a types file
    rng = random.Random(500)
    soak = Soak()
    common = ("--workdir", str(project_dir), "--db-url", db_url)
    with psycopg.connect(db_url, autocommit=True) as monitor:
        for run in range(1, RUNS + 1):
            write_migration(project_dir, f"{run:04d}_soak.sql", random_migration(rng, soak, run))
            started = time.perf_counter()
            outcome = invoke("push", *common, after_push=True)
            seconds = time.perf_counter() - started
            assert outcome.exit_code == 0, f"run {run}: {outcome.output}"
            if run % CHECK_EVERY == 0:
                assert invoke("verify", *common).exit_code == 0
                checked = invoke("types", *common, "--all", "--check")
                assert checked.exit_code == 0, checked.output
            assert server_sessions(monitor) == [], f"run {run} left a server connection open"
            forget_click_stream_caches()
            if run % 25 == 0 or run == WARM_UP:
                gc.collect()
                soak.samples.append(Sample(run, seconds, len(gc.get_objects()), rss_mb(), open_fds(),
                                           threading.active_count()))
            else:
                soak.samples.append(Sample(run, seconds, 0, 0.0, 0, 0))
        (history,) = monitor.execute("select count(*) from supabase_migrations.schema_migrations").fetchone() or (0,)
    assert history == RUNS

    measured = [s for s in soak.samples if s.objects]
    start = next(s for s in measured if s.run == WARM_UP)
    end = measured[-1]
    early = statistics.median(s.seconds for s in soak.samples[WARM_UP:WARM_UP + 50])
    late = statistics.median(s.seconds for s in soak.samples[-50:])
    figures = {"runs": RUNS, "standalone_verify_and_types_check_runs": RUNS // CHECK_EVERY,
               "tables": len(soak.tables), "views": soak.views, "functions": soak.functions,
               "objects_start": start.objects, "objects_end": end.objects,
               "rss_mb_start": round(start.rss_mb, 1), "rss_mb_end": round(end.rss_mb, 1),
               "fds_start": start.fds, "fds_end": end.fds, "threads_end": end.threads,
               "median_s_runs_50_100": round(early, 4), "median_s_last_50": round(late, 4)}
    record_figures("soak", **figures)
    print(figures)
    assert end.fds <= start.fds, figures
    assert end.threads <= start.threads, figures
    assert end.objects - start.objects < MAX_OBJECT_GROWTH, figures
    assert end.rss_mb - start.rss_mb < MAX_RSS_GROWTH_MB, figures
    assert late < MAX_SLOWDOWN * early, figures
