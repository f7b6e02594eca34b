"""End-to-end deploy benchmark: supadeploy against the Supabase CLI's equivalent sequence (see benchmarks/README.md).

    python benchmarks/e2e_benchmark.py [--migrations 50] [--repeats 3] [--admin-url URL]
        [--out benchmarks/results/e2e.md] [--no-bytecode-cache]

A project of N generated migrations (generate_migrations.py) is deployed, each run on a fresh database:

* supadeploy: ``supadeploy push --db-url URL --workdir DIR --yes`` with ``[types] typescript = ...`` in
  supadeploy.toml: one command that pushes, verifies RLS (catalog lints) and regenerates the types file;
* the Supabase CLI's sequence for the same job, each step run the way the CLI runs it, without Docker:
  1. ``supabase db push --db-url URL?sslmode=disable --yes --workdir DIR``;
  2. the types: ``supabase gen types typescript --db-url`` runs the postgres-meta image with PG_META_DB_URL and
     PG_META_GENERATE_TYPES*; here the same postgres-meta (0.99.0, from .tools) runs with node: ``node
     .tools/node_modules/@supabase/postgres-meta/dist/server/server.js`` with those variables, stdout to the file;
  3. the security lints: ``supabase db advisors --db-url URL --type security`` (2.117.0 has it and runs it
     against --db-url without Docker: it sends splinter's lint query over the connection).

Wall time, client CPU and peak RSS of every command are measured as in push_benchmark.py (GNU time + /proc tree
sampling); the CLI sequence's wall time is the sum of its steps, its peak RSS the largest step's. Runs are
interleaved after one unmeasured warm-up of each side; every run is verified (exit 0, N history rows, a non-empty
types file), and whether supadeploy's types file equals postgres-meta's output is reported.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_migrations import generate
from push_benchmark import (
    DEFAULT_ADMIN_URL,
    HISTORY_COUNT,
    ROOT,
    RunFailed,
    Sample,
    child_environment,
    count,
    ensure_supabase_cli,
    environment,
    fresh_database,
    measure,
    supadeploy_argv,
)

POSTGRES_META = ROOT / ".tools" / "node_modules" / "@supabase" / "postgres-meta" / "dist" / "server" / "server.js"
TYPES_FILE = "types/database.types.ts"
CLI_STEPS = ("supabase db push", "postgres-meta types (as supabase gen types)", "supabase db advisors --type security")


@dataclass
class Run:
    steps: dict[str, Sample]

    @property
    def wall(self) -> float:
        return sum(sample.wall for sample in self.steps.values())

    @property
    def cpu(self) -> float:
        return sum(sample.cpu for sample in self.steps.values())

    @property
    def peak_mb(self) -> float:
        return max(sample.peak_kb for sample in self.steps.values()) / 1024


def prepare_project(n: int, root: Path) -> Path:
    workdir = root / f"e2e_n{n}"
    generate(n, workdir)
    # CLI 2.117.0's types (postgres-meta 0.99, the reference this benchmark compares with), not the 3.1.0 default
    (workdir / "supadeploy.toml").write_text(f'[types]\ntypescript = "{TYPES_FILE}"\ncli_version = "2.117.0"\n',
                                             encoding="utf-8")
    return workdir


def cli_url(url: str) -> str:
    return url if "sslmode=" in url else url + ("&" if "?" in url else "?") + "sslmode=disable"


def run_supadeploy(url: str, workdir: Path, env: dict[str, str]) -> Run:
    (workdir / TYPES_FILE).unlink(missing_ok=True)
    sample = measure([*supadeploy_argv(), "push", "--db-url", url, "--workdir", str(workdir), "--yes"], env)
    return Run({"supadeploy push (push + verify + types)": sample})


def run_cli_sequence(url: str, workdir: Path, env: dict[str, str], types_out: Path) -> Run:
    cli = str(ensure_supabase_cli())
    steps: dict[str, Sample] = {}
    steps[CLI_STEPS[0]] = measure([cli, "db", "push", "--db-url", cli_url(url), "--yes", "--workdir", str(workdir)],
                                  env)
    meta_env = {**env, "PG_META_DB_URL": url, "PG_META_GENERATE_TYPES": "typescript",
                "PG_META_GENERATE_TYPES_INCLUDED_SCHEMAS": "public",
                "PG_META_GENERATE_TYPES_DETECT_ONE_TO_ONE_RELATIONSHIPS": "true"}
    steps[CLI_STEPS[1]] = measure(["sh", "-c", f'exec node "{POSTGRES_META}" > "{types_out}"'], meta_env)
    steps[CLI_STEPS[2]] = measure([cli, "db", "advisors", "--db-url", cli_url(url), "--type", "security",
                                   "--workdir", str(workdir)], env)
    return Run(steps)


def check(url: str, n: int, types_file: Path, label: str) -> None:
    if count(url, HISTORY_COUNT) != n:
        raise RunFailed(f"{label}: expected {n} history rows")
    if not types_file.is_file() or types_file.stat().st_size < 100:
        raise RunFailed(f"{label}: no types file at {types_file}")


def bench(n: int, admin_url: str, repeats: int, root: Path, env: dict[str, str]) -> tuple[list[Run], list[Run], bool]:
    run_id = f"{os.getpid()}"
    workdir = prepare_project(n, root)
    meta_types = root / "postgres-meta.types.ts"
    ours, theirs = [], []
    same_types = True
    for rep in range(-1, repeats):  # rep -1: the unmeasured warm-up of both sides
        with fresh_database(admin_url, f"sdbench_e2e_{run_id}_sd_{rep + 1}") as url:
            run = run_supadeploy(url, workdir, env)
            check(url, n, workdir / TYPES_FILE, "supadeploy")
        with fresh_database(admin_url, f"sdbench_e2e_{run_id}_cli_{rep + 1}") as url:
            other = run_cli_sequence(url, workdir, env, meta_types)
            check(url, n, meta_types, "supabase CLI sequence")
        same_types = same_types and (workdir / TYPES_FILE).read_bytes() == meta_types.read_bytes()
        if rep >= 0:
            ours.append(run)
            theirs.append(other)
            print(f"  run {rep + 1}/{repeats}: supadeploy {run.wall:.3f}s {run.peak_mb:.1f} MB; CLI sequence "
                  f"{other.wall:.3f}s ({' + '.join(f'{s.wall:.2f}' for s in other.steps.values())}) "
                  f"{other.peak_mb:.1f} MB", file=sys.stderr, flush=True)
    return ours, theirs, same_types


def table(n: int, ours: list[Run], theirs: list[Run], same_types: bool) -> str:
    def stats(values: list[float]) -> tuple[float, float]:
        return min(values), statistics.median(values)

    rows = ["| tool / step | runs | wall s (best) | wall s (median) | client CPU s | peak RSS MB |",
            "|---|---|---|---|---|---|"]

    def row(label: str, walls: list[float], cpus: list[float], peaks: list[float]) -> None:
        best, median = stats(walls)
        rows.append(f"| {label} | {len(walls)} | {best:.3f} | {median:.3f} | {statistics.median(cpus):.2f} | "
                    f"{max(peaks):.1f} |")

    row("**supadeploy push** (push + verify + types, one command)", [r.wall for r in ours], [r.cpu for r in ours],
        [r.peak_mb for r in ours])
    row("**Supabase CLI sequence** (sum of the 3 steps)", [r.wall for r in theirs], [r.cpu for r in theirs],
        [r.peak_mb for r in theirs])
    for step in CLI_STEPS:
        samples = [r.steps[step] for r in theirs]
        row(f"&nbsp;&nbsp;{step}", [s.wall for s in samples], [s.cpu for s in samples],
            [s.peak_kb / 1024 for s in samples])
    best_ratio = min(r.wall for r in theirs) / min(r.wall for r in ours)
    median_ratio = statistics.median(r.wall for r in theirs) / statistics.median(r.wall for r in ours)
    memory_ratio = max(r.peak_mb for r in theirs) / max(r.peak_mb for r in ours)
    summary = (f"\nN = {n} migrations. Speed-up of supadeploy (CLI sequence / supadeploy): **{best_ratio:.1f}x** "
               f"best-of, {median_ratio:.1f}x median (target >= 3x: {'met' if best_ratio >= 3 else 'NOT met'}); "
               f"peak RSS {memory_ratio:.1f}x lower. supadeploy's types file "
               f"{'is byte-identical to' if same_types else 'DIFFERS from'} postgres-meta's output.\n")
    return "\n".join(rows) + "\n" + summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--migrations", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--admin-url", default=os.environ.get("SUPADEPLOY_BENCH_ADMIN_URL", DEFAULT_ADMIN_URL))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "e2e.md")
    parser.add_argument("--no-bytecode-cache", action="store_true")
    args = parser.parse_args()
    if not POSTGRES_META.is_file():
        print(f"postgres-meta is missing ({POSTGRES_META}): run `make tools`", file=sys.stderr)
        return 2
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sdbench-e2e-") as tmp:
        root = Path(tmp)
        env = child_environment(root, not args.no_bytecode_cache)
        ours, theirs, same_types = bench(args.migrations, args.admin_url, args.repeats, root, env)
    report = (f"# End-to-end deploy benchmark\n\n{environment(args.admin_url)}; load average "
              f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}; {platform.machine()}; "
              f"took {time.perf_counter() - started:.0f} s\n\n"
              + table(args.migrations, ours, theirs, same_types))
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
