"""Benchmark `supadeploy verify` on a large schema (see benchmarks/README.md, "verify").

    python benchmarks/verify_benchmark.py [--tables 2000] [--repeats 5] [--admin-url URL]
        [--out benchmarks/results/verify.md]

On a fresh database (CREATE DATABASE, supadeploy.local.prepare_database), loads the push benchmark's generated
migrations (benchmarks/generate_migrations.py: one table per migration with RLS and 2-4 policies, a
function and trigger every 20th) in transactions of 100, then measures, interleaved after one warm-up:

* supadeploy verify --json               the console script as a subprocess, no manifest
* supadeploy verify --json + manifest    with supabase/policies.toml (every table) and 3 probes
* floor                                  psql -X -At -c '<the same catalog query>' > /dev/null (one query)
* floor, two halves at once              two psql at once, each running one half (rls.catalog.catalog_queries),
                                         as verify reads the catalog (targets.libpq_target)
* supadeploy --help                      start-up alone

and, in-process, the round trips run_verify makes over psycopg (a Target wrapper counts query /
query_rolled_back calls) and the time of its parts (the catalog read over libpq as verify does it, the one
query over psycopg, lints, matrix). Every verify run is checked: its JSON parses and
counts the expected number of tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_migrations import generate
from installed_environment import installed_environment

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ADMIN_URL = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
SUPADEPLOY = Path(sys.executable).parent / "supadeploy"
PROBES = """
[[probes]]
name = "anon reads nothing from the first table"
role = "anon"
query = "select * from public.{table}"
expect_rows = 0

[[probes]]
name = "a user reads nothing of someone else's"
role = "authenticated"
claims = {{ sub = "00000000-0000-0000-0000-000000000001" }}
query = "select * from public.{table}"
expect_rows = 0

[[probes]]
name = "anon cannot insert"
role = "anon"
query = "insert into public.{table} default values"
expect_error = "42501"
"""


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def create_database(admin_url: str, tables: int, workdir: Path) -> str:
    from supadeploy.local import prepare_database

    name = f"sdbench_verify_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(admin_url, name)
    prepare_database(url)
    paths = generate(tables, workdir)
    with psycopg.connect(url) as conn:
        for index, path in enumerate(paths, start=1):
            conn.execute(path.read_text(encoding="utf-8"))
            if index % 100 == 0:  # one transaction for all would exhaust max_locks_per_transaction
                conn.commit()
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
        conn.execute("CHECKPOINT")
    return url


def drop_database(admin_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def timed(command: Sequence[str], env: dict[str, str], *, stdout: int | None = subprocess.PIPE
          ) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    completed = subprocess.run(list(command), env=env, stdout=stdout, stderr=subprocess.PIPE, text=True,
                               check=False)
    return time.perf_counter() - started, completed


def check_verify(completed: subprocess.CompletedProcess[str], tables: int, probes: int) -> dict[str, Any]:
    if completed.returncode not in (0, 1):
        raise SystemExit(f"verify failed ({completed.returncode}): {completed.stderr[-2000:]}")
    document: dict[str, Any] = json.loads(completed.stdout)
    if document["counts"]["tables"] != tables or len(document["probes"]) != probes:
        raise SystemExit(f"verify read {document['counts']} and {len(document['probes'])} probes, "
                         f"expected {tables} tables and {probes} probes")
    return document


def round_trips(url: str, workdir: Path, manifest: Path | None) -> tuple[int, int, dict[str, float]]:
    """(query calls, query_rolled_back calls, seconds per part) of one in-process run_verify."""
    from supadeploy.rls import catalog as catalog_module
    from supadeploy.rls.lints import lint_catalog
    from supadeploy.rls.matrix import build_matrix
    from supadeploy.rls.verify import VerifyOptions, run_verify
    from supadeploy.targets.libpq_target import LibpqReadTarget
    from supadeploy.targets.postgres import PostgresTarget

    class Counting(PostgresTarget):
        queries = 0
        rolled_back = 0

        def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
            Counting.queries += 1
            return super().query(sql, params)

        def query_rolled_back(self, script: str) -> list[tuple[Any, ...]]:
            Counting.rolled_back += 1
            return super().query_rolled_back(script)

    target = Counting(url)
    try:
        target.query("SELECT 1")  # connect outside the measurement
        Counting.queries = 0
        run_verify(target, VerifyOptions(schemas=("public",), manifest_path=manifest))
        counts = Counting.queries, Counting.rolled_back
        parts: dict[str, float] = {}
        started = time.perf_counter()
        catalog_module.read_catalog(LibpqReadTarget(url), ("public",))
        parts["catalog read (two halves at once over libpq, fresh sessions) + parse"] = time.perf_counter() - started
        started = time.perf_counter()
        catalog = catalog_module.read_catalog(target, ("public",))
        parts["catalog one query over psycopg (warm session) + parse"] = time.perf_counter() - started
        started = time.perf_counter()
        lint_catalog(catalog)
        parts["lints"] = time.perf_counter() - started
        started = time.perf_counter()
        build_matrix(catalog)
        parts["matrix"] = time.perf_counter() - started
    finally:
        target.close()
    return counts[0], counts[1], parts


def summarize(samples: list[float]) -> tuple[float, float]:
    return min(samples), statistics.median(samples)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--admin-url", default=os.environ.get("SUPADEPLOY_BENCH_ADMIN_URL", DEFAULT_ADMIN_URL))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "verify.md")
    args = parser.parse_args(argv)

    from supadeploy.rls.catalog import catalog_queries, catalog_query

    scratch = Path(tempfile.mkdtemp(prefix="sdbench-verify-"))
    env = installed_environment(scratch)
    plain = scratch / "plain"
    (plain / "supabase" / "migrations").mkdir(parents=True)
    print(f"loading {args.tables} tables ...", file=sys.stderr)
    started = time.perf_counter()
    url = create_database(args.admin_url, args.tables, scratch / "generated")
    print(f"loaded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    try:
        with_manifest = scratch / "with_manifest"
        (with_manifest / "supabase" / "migrations").mkdir(parents=True)
        written = subprocess.run([str(SUPADEPLOY), "verify", "--write-manifest", "--db-url", url, "--workdir",
                                  str(with_manifest)], env=env, capture_output=True, text=True, check=True)
        print(written.stdout.strip(), file=sys.stderr)
        manifest = with_manifest / "supabase" / "policies.toml"
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT min(tablename) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        first_table = row[0] if row else "t"
        manifest.write_text(manifest.read_text() + PROBES.format(table=first_table))

        verify = [str(SUPADEPLOY), "verify", "--json", "--db-url", url, "--workdir"]
        floor = ["psql", "-X", "-At", "-d", url, "-c", catalog_query(("public",))]
        halves = " & ".join(f"psql -X -At -d {shlex.quote(url)} -c {shlex.quote(half)} > /dev/null"
                            for half in catalog_queries(("public",)))
        floor_halves = ["bash", "-c", f"{halves}; wait"]
        help_command = [str(SUPADEPLOY), "--help"]
        runs: dict[str, list[float]] = {"verify": [], "verify + manifest, 3 probes": [], "floor": [],
                                        "floor halves": [], "help": []}
        document: dict[str, Any] = {}
        timed([*verify, str(plain)], env)  # warm-up (bytecode cache, server caches)
        timed([*verify, str(with_manifest)], env)
        for _ in range(args.repeats):
            seconds, completed = timed([*verify, str(plain)], env)
            document = check_verify(completed, args.tables, 0)
            runs["verify"].append(seconds)
            seconds, completed = timed([*verify, str(with_manifest)], env)
            manifest_document = check_verify(completed, args.tables, 3)
            runs["verify + manifest, 3 probes"].append(seconds)
            seconds, completed = timed(floor, env, stdout=subprocess.DEVNULL)
            if completed.returncode != 0:
                raise SystemExit(f"psql failed: {completed.stderr}")
            runs["floor"].append(seconds)
            seconds, completed = timed(floor_halves, env, stdout=subprocess.DEVNULL)
            if completed.returncode != 0:
                raise SystemExit(f"psql failed: {completed.stderr}")
            runs["floor halves"].append(seconds)
            runs["help"].append(timed(help_command, env)[0])
        queries, rolled_back, parts = round_trips(url, plain, None)
        queries_m, rolled_back_m, _ = round_trips(url, with_manifest, manifest)
    finally:
        drop_database(args.admin_url, url)
        shutil.rmtree(scratch, ignore_errors=True)

    counts = document["counts"]
    summary = document["summary"]
    lines = [
        f"verify benchmark: {counts['tables']} tables, {counts['policies']} policies, {counts['functions']} "
        f"functions in public ({platform.machine()}, Python {platform.python_version()}, "
        f"{args.repeats} runs, best / median)",
        "",
        "| command | best s | median s | round trips |",
        "|---|---|---|---|",
    ]
    trips = {"verify": "2 at once (libpq, no psycopg)", "verify + manifest, 3 probes": f"2 at once + {rolled_back_m} "
             "rolled-back script (psycopg)", "floor": "1", "floor halves": "2 at once", "help": "0"}
    labels = {"verify": "`supadeploy verify --json`", "verify + manifest, 3 probes":
              "`supadeploy verify --json` with policies.toml (drift) and 3 probes",
              "floor": "floor: `psql -X -At -c '<catalog query>'`",
              "floor halves": "floor, as verify reads: two `psql` at once, one half each",
              "help": "`supadeploy --help`"}
    for key, samples in runs.items():
        best, median = summarize(samples)
        lines.append(f"| {labels[key]} | {best:.3f} | {median:.3f} | {trips[key]} |")
    lines += ["", "In-process parts of one run: " + ", ".join(f"{name} {seconds * 1000:.0f} ms"
                                                          for name, seconds in parts.items()) + ".",
              f"Findings on this schema: {summary['error']} errors, {summary['warn']} warnings, {summary['info']} "
              f"info; probes with the manifest: {manifest_document['summary']['probes_passed']} passed, "
              f"{manifest_document['summary']['probes_failed']} failed.", "",
              f"(over psycopg, run_verify makes {queries} query and {rolled_back} rolled-back script without a "
              f"manifest, {queries_m} and {rolled_back_m} with it)"]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
