"""Benchmark `supadeploy types` against postgres-meta 0.99.0 (the generator of `supabase gen types` 2.x) and
against `supabase gen types` of CLI 3.1.0 (@supabase/typegen, in process).

    python benchmarks/types_benchmark.py [--sizes 100,500,2000] [--admin-url URL] [--repeats 3]
        [--out benchmarks/results/types.md]

For each size N, one fresh database (CREATE DATABASE on the server behind --admin-url or
$SUPADEPLOY_BENCH_ADMIN_URL, prepared like a Supabase project by supadeploy.local.prepare_database) gets a
schema of N tables with N/20 enums, N/50 composite types, N/10 views and N/10 functions (scalar, SETOF a
table, RETURNS TABLE, computed fields), foreign keys between the tables. Then, interleaved, after one
unmeasured warm-up of each:

* supadeploy:    python -m supadeploy types --db-url URL --schema public      (the CLI, as a subprocess)
* postgres-meta: node dist/server/server.js with PG_META_GENERATE_TYPES=typescript (what `supabase gen types`
  2.x runs in its Docker container), PG_META_GENERATE_TYPES_DETECT_ONE_TO_ONE_RELATIONSHIPS=true as the CLI sets
* supadeploy --cli-version 3.1.0: the same command with `--cli-version 3.1.0` (CLI 3's unformatted TypeScript)
* supabase 3.1.0: `.tools/cli3/node_modules/.bin/supabase gen types typescript --db-url URL --schema public`
  (in process in the CLI, no Docker), in an empty folder

All print the types on stdout; every run's output is compared byte for byte with its reference tool's
(postgres-meta for supadeploy, CLI 3.1.0 for supadeploy --cli-version 3.1.0; a run that differs is reported
as such, never as fast). Wall time with time.perf_counter; peak RSS from `/usr/bin/time -f %M`
(the kernel's high-water RSS of the largest process of the tree; neither tool runs child processes).
supadeploy runs byte-compiled, as pip installs it (benchmarks/installed_environment.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from installed_environment import installed_environment

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ADMIN_URL = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
POSTGRES_META = ROOT / ".tools" / "node_modules" / "@supabase" / "postgres-meta" / "dist" / "server" / "server.js"
SUPABASE_CLI3 = ROOT / ".tools" / "cli3" / "node_modules" / ".bin" / "supabase"
# Each measured tool, the reference tool whose output it must equal, and the row its speed-up is computed on.
REFERENCE = {"supadeploy": "postgres-meta", "postgres-meta": "postgres-meta",
             "supadeploy --cli-version 3.1.0": "supabase 3.1.0", "supabase 3.1.0": "supabase 3.1.0"}
SPEED_UPS = (("supadeploy", "postgres-meta"), ("supadeploy --cli-version 3.1.0", "supabase 3.1.0"))
GNU_TIME = Path("/usr/bin/time")


def benchmark_schema(tables: int) -> str:
    """N tables with enums, composite types, views and functions, deterministic."""
    statements = []
    enums = max(2, tables // 20)
    for index in range(enums):
        values = ", ".join(f"'value_{index}_{value}'" for value in range(3 + index % 4))
        statements.append(f"create type public.status_{index:04d} as enum ({values});")
    for index in range(max(1, tables // 50)):
        statements.append(f"create type public.pair_{index:04d} as (label text, amount numeric, at timestamptz);")
    for index in range(tables):
        reference = f", parent_id bigint references public.table_{index - 1:04d}(id)" if index else ""
        one_to_one = f", twin_id bigint unique references public.table_{index - 2:04d}(id)" if index >= 2 else ""
        statements.append(
            f"create table public.table_{index:04d} (id bigint generated always as identity primary key, "
            f"name text not null, created_at timestamptz not null default now(), "
            f"status public.status_{index % enums:04d}, score numeric(10, 2), tags text[], meta jsonb not null "
            f"default '{{}}', owner uuid, pair public.pair_{index % max(1, tables // 50):04d}, "
            f"total int8 generated always as (length(name)) stored{reference}{one_to_one});")
        if index % 10 == 5:
            statements.append(f"create view public.view_{index:04d} as select id, name, parent_id, status "
                              f"from public.table_{index:04d};")
        if index % 10 == 7:
            kind = (index // 10) % 4
            table = f"public.table_{index:04d}"
            if kind == 0:
                statements.append(f"create function public.count_{index:04d}(min_score numeric default 0) "
                                  f"returns int8 language sql stable as "
                                  f"'select count(*) from {table} where score >= min_score';")
            elif kind == 1:
                statements.append(f"create function public.rows_{index:04d}(search text) returns setof {table} "
                                  f"language sql stable as 'select * from {table} where name like search';")
            elif kind == 2:
                statements.append(f"create function public.summary_{index:04d}() returns table (id bigint, "
                                  f"label text) language sql stable as 'select id, name from {table}';")
            else:
                statements.append(f"create function public.label_{index:04d}({table}) returns text "
                                  f"language sql stable as 'select $1.name';")
    return "\n".join(statements) + "\n"


@dataclass
class Runs:
    wall: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)
    identical: list[bool] = field(default_factory=list)


def _with_database(url: str, name: str) -> str:
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


def create_database(admin_url: str, tables: int) -> str:
    from supadeploy.local import prepare_database

    name = f"types_bench_{tables}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = _with_database(admin_url, name)
    prepare_database(url)
    statements = benchmark_schema(tables).splitlines()
    with psycopg.connect(url, autocommit=True) as connection:
        for start in range(0, len(statements), 200):  # one transaction per batch: lock table limits
            connection.execute("\n".join(statements[start:start + 200]).encode())
        connection.execute("analyze")
    return url


def drop_database(admin_url: str, url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(sql.SQL("drop database if exists {} with (force)").format(
            sql.Identifier(url.rpartition("/")[2])))


def timed(command: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in KB, stdout) of one run."""
    prefix = [str(GNU_TIME), "-f", "%M"] if GNU_TIME.exists() else []
    started = time.perf_counter()
    completed = subprocess.run([*prefix, *command], env=env, capture_output=True, text=True, timeout=1800,
                               cwd=cwd)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {completed.stderr[-2000:]}")
    rss = int(completed.stderr.strip().splitlines()[-1]) if prefix else 0
    return wall, rss, completed.stdout


def commands(url: str, scratch: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    base = installed_environment(scratch, {key: value for key, value in os.environ.items()
                                           if not key.startswith(("PG_META_", "SUPADEPLOY_"))})
    meta_env = {**base, "PG_META_DB_URL": url, "PG_META_GENERATE_TYPES": "typescript",
                "PG_META_GENERATE_TYPES_INCLUDED_SCHEMAS": "public",
                "PG_META_GENERATE_TYPES_DETECT_ONE_TO_ONE_RELATIONSHIPS": "true"}
    supadeploy = [sys.executable, "-m", "supadeploy", "types", "--db-url", url, "--schema", "public"]
    separator = "&" if "?" in url else "?"
    return {
        "supadeploy": ([*supadeploy, "--cli-version", "2.117.0"], base),
        "postgres-meta": (["node", str(POSTGRES_META)], meta_env),
        "supadeploy --cli-version 3.1.0": ([*supadeploy, "--cli-version", "3.1.0"], base),
        "supabase 3.1.0": ([str(SUPABASE_CLI3), "gen", "types", "typescript", "--db-url",
                            f"{url}{separator}sslmode=disable", "--schema", "public"], base),
    }


def run_size(admin_url: str, tables: int, repeats: int) -> dict[str, Runs]:
    url = create_database(admin_url, tables)
    empty = Path(tempfile.mkdtemp(prefix="types-bench-"))  # no supabase/config.toml for the CLI to find
    scratch = Path(tempfile.mkdtemp(prefix="types-bench-cache-"))
    try:
        tools = commands(url, scratch)
        results = {name: Runs() for name in tools}
        references: dict[str, str] = {}
        for name, (command, env) in tools.items():  # warm-up, unmeasured
            _, _, output = timed(command, env, empty)
            if REFERENCE[name] == name:
                references[name] = output
        for _ in range(repeats):
            for name, (command, env) in tools.items():
                wall, rss, output = timed(command, env, empty)
                results[name].wall.append(wall)
                results[name].rss_kb.append(rss)
                results[name].identical.append(output == references[REFERENCE[name]])
        return results
    finally:
        drop_database(admin_url, url)
        shutil.rmtree(empty, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


def report(sizes: list[int], all_results: dict[int, dict[str, Runs]], repeats: int) -> str:
    lines = [
        f"{datetime.now(timezone.utc):%Y-%m-%d}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, node {_node_version()}, PostgreSQL at 127.0.0.1; "
        f"{repeats} runs each, interleaved, after a warm-up:",
        "",
        "| tables | tool | best s | median s | peak RSS MB | output |",
        "|---|---|---|---|---|---|",
    ]
    for size in sizes:
        results = all_results[size]
        for name, runs in results.items():
            same = "identical" if all(runs.identical) else f"DIFFERS in {runs.identical.count(False)} run(s)"
            lines.append(f"| {size:,} | {name} | {min(runs.wall):.2f} | {statistics.median(runs.wall):.2f} | "
                         f"{max(runs.rss_kb) / 1024:.0f} | {same} |")
        for ours, theirs in SPEED_UPS:
            ratio = statistics.median(results[theirs].wall) / statistics.median(results[ours].wall)
            lines.append(f"| {size:,} | speed-up, {ours} vs {theirs} (median) | | {ratio:.1f}x | | |")
    return "\n".join(lines) + "\n"


def _node_version() -> str:
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,500,2000")
    parser.add_argument("--admin-url", default=os.environ.get("SUPADEPLOY_BENCH_ADMIN_URL", DEFAULT_ADMIN_URL))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "types.md")
    arguments = parser.parse_args()
    if not POSTGRES_META.exists() or not SUPABASE_CLI3.exists():
        sys.exit("postgres-meta or the Supabase CLI 3.1.0 is not installed: run `make tools`")
    sizes = [int(size) for size in arguments.sizes.split(",")]
    all_results = {}
    for size in sizes:
        print(f"{size} tables ...", file=sys.stderr, flush=True)
        all_results[size] = run_size(arguments.admin_url, size, arguments.repeats)
    text = report(sizes, all_results, arguments.repeats)
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
