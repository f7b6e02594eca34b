"""Benchmark `supadeploy fleet push` on many members, beside `supabase db push` 3.1.0 (see benchmarks/README.md).

    python benchmarks/fleet_benchmark.py [--admin-url URL] [--plan-members 1000] [--deploy-members 100]
        [--cli-members 16] [--parallel 8] [--migrations 5] [--wave-size 25] [--plan-repeats 3] [--cli PATH]
        [--out benchmarks/results/fleet.md]

Every member is its own database on the server behind --admin-url (or $SUPADEPLOY_BENCH_ADMIN_URL), cloned
with ``CREATE DATABASE ... TEMPLATE`` from a template prepared like a Supabase project
(supadeploy.local.prepare_database: roles, auth.users, auth.uid()). The project is a fresh folder with
``generate_migrations.py``'s migrations and a ``[fleets.bench]`` whose ``members_file`` is a CSV (name,
db_url_env, tags, wave, protected), one row and one environment variable per member. In one run:

1. plan: ``supadeploy fleet push bench --dry-run --json --parallel P`` over --plan-members members (read-only,
   repeated --plan-repeats times on the same databases); the JSON must list every member as planned with
   every migration pending;
2. deploy: ``supadeploy fleet push bench --parallel P --yes --json`` over --deploy-members fresh members (canary 1,
   then waves of --wave-size); the JSON must say every member applied every migration, every member's
   supabase_migrations.schema_migrations must hold them all, and its deploy log
   (supabase_migrations.supadeploy_deployments, the row of this rollout) gives the member's started_at and
   finished_at: median and p95 duration, and the most members running at once (asserted <= P);
3. the anchor: the Supabase CLI 3.1.0, ``supabase db push --remote=URL?sslmode=disable --yes --workdir DIR``
   (3.x deprecates ``--db-url`` for ``--remote``), on --cli-members fresh databases one after the other, then
   on as many again P at once (a thread pool of subprocesses); every push verified by its history;
4. an estimate of a 10,000-member rollout on GitHub Actions from the measured per-member median (the formula
   is printed with its inputs).

One unmeasured warm-up of each tool (a 2-member fleet planned and pushed, one CLI push) comes first.
supadeploy runs as ``python -m supadeploy`` of this interpreter (PYTHONPATH is passed on), byte-compiled as an
installed package is (benchmarks/installed_environment.py). Peak RSS as in push_benchmark.py: each measured
command runs under ``/usr/bin/time -f "%M %U %S"`` while a thread samples the RSS of its whole process tree
from /proc; the larger is reported. The CLI's concurrent runs use only %M (the Go binary, the largest
process), so that 8 sampler threads do not compete with the 8 pushes for the CPU. Databases are named
``sdbench_fleet_<pid>_...`` and dropped at the end, also after a failure or Ctrl-C (SIGTERM too).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_migrations import generate
from installed_environment import installed_environment
from push_benchmark import DEFAULT_ADMIN_URL, GNU_TIME, ROOT, RunFailed, Sample, TreeSampler

FLEET = "bench"
SUPABASE_CLI3 = ROOT / ".tools" / "cli3" / "node_modules" / ".bin" / "supabase"
DEPLOY_LOG = (
    "SELECT status, started_at, finished_at, versions_applied FROM supabase_migrations.supadeploy_deployments "
    "WHERE command = 'fleet push' AND fleet_run = %s")
HISTORY = "SELECT version FROM supabase_migrations.schema_migrations ORDER BY version"

# The GitHub Actions rollout the estimate is for (README: "Fleet benchmark").
ESTIMATE_MEMBERS = 10_000
ESTIMATE_SHARD = 25  # members per matrix job (`fleet matrix --shard-size 25`)
ESTIMATE_JOBS = 20  # concurrent jobs (max-parallel)
ESTIMATE_JOB_OVERHEAD = 60.0  # s per job: runner start, checkout, install


# ----------------------------------------------------------------------------------------------
# Measuring one command (push_benchmark's approach, with stdout kept apart for the JSON)
# ----------------------------------------------------------------------------------------------


def measure_output(argv: Sequence[str], env: dict[str, str], *, sample_tree: bool = True) -> tuple[Sample, str]:
    """Run ``argv``; its Sample and stdout. Raises RunFailed on a non-zero exit (a failed run is never timed)."""
    with tempfile.TemporaryDirectory(prefix="sdbench-fleet-run-") as tmp:
        rss_file = Path(tmp) / "rss"
        use_time = GNU_TIME.exists()
        command = [str(GNU_TIME), "-f", "%M %U %S", "-o", str(rss_file), *argv] if use_time else list(argv)
        with open(Path(tmp) / "out", "w+b") as out, open(Path(tmp) / "err", "w+b") as err:
            started = time.perf_counter()
            process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
            sampler = TreeSampler(process.pid, include_root=not use_time) if sample_tree else None
            if sampler:
                sampler.start()
            returncode = process.wait()
            wall = time.perf_counter() - started
            if sampler:
                sampler.stop()
            out.seek(0)
            stdout = out.read().decode(errors="replace")
            if returncode != 0:
                err.seek(0)
                tail = (stdout[-1000:] + err.read().decode(errors="replace"))[-3000:]
                raise RunFailed(f"{' '.join(argv[:6])} ... exited {returncode}:\n{tail}")
        fields = rss_file.read_text().split()[-3:] if use_time else ["0", "0", "0"]
    largest, cpu = int(fields[0]), float(fields[1]) + float(fields[2])
    tree = sampler.peak_kb if sampler else 0
    return Sample(wall=wall, peak_kb=max(largest, tree), largest_kb=largest, tree_kb=tree, cpu=cpu,
                  by_name_kb=sampler.by_name if sampler else {}), stdout


# ----------------------------------------------------------------------------------------------
# Databases: a prepared template, cloned; every name recorded before it is created, all dropped at the end
# ----------------------------------------------------------------------------------------------


def database_url(admin_url: str, database: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, ""))


class Databases:
    """The benchmark's databases, ``sdbench_fleet_<pid>_...``: made from one template, ``workers`` at once."""

    def __init__(self, admin_url: str, workers: int = 8) -> None:
        self.admin_url, self.workers = admin_url, workers
        self.prefix = f"sdbench_fleet_{os.getpid()}"
        self.template = f"{self.prefix}_template"
        self.names: list[str] = []

    def prepare_template(self) -> None:
        from supadeploy.local import prepare_database

        self.names.append(self.template)
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.template)))
        prepare_database(database_url(self.admin_url, self.template))

    def create(self, label: str, count: int) -> list[str]:
        """``count`` fresh members' databases; their URLs."""
        names = [f"{self.prefix}_{label}{index:05d}" for index in range(1, count + 1)]
        self.names += names
        # FILE_COPY (PostgreSQL 15+): copies the template's files, ~45 ms a database here with 8 at once and
        # nothing left to flush; the default WAL_LOG writes the 8 MB of each through WAL and shared buffers,
        # so that the CHECKPOINT after 200 of them took 18 s.
        strategy = " STRATEGY FILE_COPY" if self._server_version() >= 150000 else ""
        self._each(names, "CREATE DATABASE {} TEMPLATE {}" + strategy)
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute("CHECKPOINT")  # no dirty buffers of the cloning left for the timed runs
        return [database_url(self.admin_url, name) for name in names]

    def _server_version(self) -> int:
        with psycopg.connect(self.admin_url) as admin:
            row = admin.execute("SELECT current_setting('server_version_num')::int").fetchone()
        return int(row[0]) if row else 0

    def drop(self, urls: Sequence[str]) -> None:
        names = {urlsplit(url).path.lstrip("/") for url in urls}
        self._each(sorted(names), "DROP DATABASE IF EXISTS {} WITH (FORCE)")
        self.names = [name for name in self.names if name not in names]

    def drop_all(self) -> None:
        """Every database of this run, including any whose creation was interrupted."""
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            found = {row[0] for row in admin.execute(
                "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (self.prefix + "_",))}
        self._each(sorted(found - {self.template}), "DROP DATABASE IF EXISTS {} WITH (FORCE)")
        self._each([self.template], "DROP DATABASE IF EXISTS {} WITH (FORCE)")  # last: nothing clones it now
        self.names = []

    def _each(self, names: Sequence[str], statement: str) -> None:
        chunks = [names[start::self.workers] for start in range(self.workers)]

        def run(chunk: Sequence[str]) -> None:
            if not chunk:
                return
            with psycopg.connect(self.admin_url, autocommit=True) as admin:
                for name in chunk:
                    names = [sql.Identifier(name), sql.Identifier(self.template)][:statement.count("{}")]
                    admin.execute(sql.SQL(statement).format(*names))

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            list(pool.map(run, chunks))


def history(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        try:
            return [row[0] for row in conn.execute(HISTORY)]
        except psycopg.errors.UndefinedTable:
            return []


# ----------------------------------------------------------------------------------------------
# The project: migrations + supadeploy.toml + members.csv
# ----------------------------------------------------------------------------------------------


def member_name(index: int) -> str:
    return f"m{index:05d}"


def write_project(workdir: Path, urls: Sequence[str], migrations: int,
                  wave_size: int) -> tuple[list[str], dict[str, str]]:
    """A project folder with a members_file fleet of ``urls``; the migrations' versions and the variables."""
    paths = generate(migrations, workdir)
    versions = sorted(path.name.split("_", 1)[0] for path in paths)
    variables: dict[str, str] = {}
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["name", "db_url_env", "tags", "wave", "protected"])
    for index, url in enumerate(urls, start=1):
        variable = f"SDBENCH_{member_name(index).upper()}_DB_URL"
        variables[variable] = url
        writer.writerow([member_name(index), variable, "bench;eu" if index % 2 else "bench;us", "", "false"])
    (workdir / "members.csv").write_text(text.getvalue(), encoding="utf-8")
    (workdir / "supadeploy.toml").write_text(
        f'[fleets.{FLEET}]\nmembers_file = "members.csv"\ncanary = 1\nwave_size = {wave_size}\n', encoding="utf-8")
    return versions, variables


def supadeploy_argv() -> list[str]:
    return [sys.executable, "-m", "supadeploy"]


def fleet_push(workdir: Path, parallel: int, *, dry_run: bool) -> list[str]:
    argv = [*supadeploy_argv(), "fleet", "push", FLEET, "--workdir", str(workdir), "--json",
            "--parallel", str(parallel)]
    return [*argv, "--dry-run"] if dry_run else [*argv, "--yes"]


def cli_push(cli: Path, url: str, workdir: Path) -> list[str]:
    remote = url + ("&" if "?" in url else "?") + "sslmode=disable"
    return [str(cli), "db", "push", f"--remote={remote}", "--yes", "--workdir", str(workdir), "--agent", "no"]


# ----------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------


@dataclass
class Row:
    phase: str
    members: int
    walls: list[float]
    peak_kb: int
    member_times: list[float] = field(default_factory=list)
    """Per-member durations, s (deploy log for the fleet deploy, process wall time for the CLI)."""
    overlap: int | None = None
    note: str = ""

    @property
    def best(self) -> float:
        return min(self.walls)

    def markdown(self) -> str:
        median = f"{statistics.median(self.walls):.2f}" if len(self.walls) > 1 else "-"
        per_member = f"{statistics.median(self.member_times):.3f}" if self.member_times else "-"
        p95 = f"{percentile(self.member_times, 95):.3f}" if self.member_times else "-"
        overlap = "-" if self.overlap is None else str(self.overlap)
        return (f"| {self.phase} | {self.members:,} | {len(self.walls)} | {self.best:.2f} | {median} | "
                f"{self.members / self.best:.1f} | {per_member} | {p95} | {overlap} | {self.peak_kb / 1024:.0f} | "
                f"{self.note} |")


HEADER = ("| phase | members | runs | wall s (best) | wall s (median) | members/s (best) | per-member median s "
          "| per-member p95 s | most at once | peak RSS MB | notes |\n|---|---|---|---|---|---|---|---|---|---|---|")


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def max_overlap(intervals: Sequence[tuple[float, float]]) -> int:
    """The most intervals open at one moment (one that ends when another starts does not overlap it)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = most = 0
    for _, step in events:  # at equal times -1 sorts before +1
        running += step
        most = max(most, running)
    return most


def rss_note(samples: Sequence[Sample]) -> str:
    names: dict[str, int] = {}
    for sample in samples:
        for name, kb in sample.by_name_kb.items():
            names[name] = max(names.get(name, 0), kb)
    names = {name: kb for name, kb in names.items() if kb >= 4096}
    return " + ".join(f"{name} {kb / 1024:.0f} MB" for name, kb in sorted(names.items())) if len(names) > 1 else ""


@dataclass(frozen=True)
class Estimate:
    member_s: float
    parallel: int
    shards: int
    rounds: int
    per_job: float
    canary: float

    @property
    def total(self) -> float:
        return self.canary + self.rounds * self.per_job

    def text(self, label: str) -> str:
        batches = math.ceil(ESTIMATE_SHARD / self.parallel)
        return (f"{label}: m = {self.member_s:.3f} s; shards = ceil({ESTIMATE_MEMBERS} / {ESTIMATE_SHARD}) = "
                f"{self.shards}; rounds = ceil({self.shards} / {ESTIMATE_JOBS}) = {self.rounds}; per job = "
                f"{ESTIMATE_JOB_OVERHEAD:.0f} + ceil({ESTIMATE_SHARD} / {self.parallel}) x m = "
                f"{ESTIMATE_JOB_OVERHEAD:.0f} + {batches} x {self.member_s:.3f} = {self.per_job:.1f} s; canary job = "
                f"{ESTIMATE_JOB_OVERHEAD:.0f} + m = {self.canary:.1f} s; total = canary + rounds x per job = "
                f"{self.canary:.1f} + {self.rounds} x {self.per_job:.1f} = **{self.total:.0f} s "
                f"({self.total / 60:.1f} min)**")


def estimate(member_s: float, parallel: int) -> Estimate:
    shards = math.ceil(ESTIMATE_MEMBERS / ESTIMATE_SHARD)
    rounds = math.ceil(shards / ESTIMATE_JOBS)
    per_job = ESTIMATE_JOB_OVERHEAD + math.ceil(ESTIMATE_SHARD / parallel) * member_s
    canary = ESTIMATE_JOB_OVERHEAD + math.ceil(1 / parallel) * member_s
    return Estimate(member_s, parallel, shards, rounds, per_job, canary)


# ----------------------------------------------------------------------------------------------
# The phases
# ----------------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def check_plan(document: Any, count: int, versions: list[str]) -> None:
    members = document.get("members", []) if isinstance(document, dict) else []
    if len(members) != count:
        raise RunFailed(f"fleet push --dry-run: {len(members)} members in the JSON, expected {count}")
    wrong = [m for m in members if m.get("status") != "planned" or m.get("pending") != versions]
    if wrong:
        raise RunFailed(f"fleet push --dry-run: {len(wrong)} member(s) not planned with {versions} pending, "
                        f"e.g. {json.dumps(wrong[0])[:300]}")


def bench_plan(databases: Databases, root: Path, env: dict[str, str], count: int, parallel: int, migrations: int,
               wave_size: int, repeats: int) -> Row:
    log(f"plan: creating {count} databases ...")
    started = time.perf_counter()
    urls = databases.create("p", count)
    log(f"plan: {count} databases in {time.perf_counter() - started:.1f} s")
    try:
        workdir = root / "plan"
        versions, variables = write_project(workdir, urls, migrations, wave_size)
        walls, peak = [], 0
        for run in range(1, repeats + 1):
            sample, stdout = measure_output(fleet_push(workdir, parallel, dry_run=True), {**env, **variables})
            check_plan(json.loads(stdout), count, versions)
            walls.append(sample.wall)
            peak = max(peak, sample.peak_kb)
            log(f"plan {run}/{repeats}: {count} members in {sample.wall:.2f} s ({count / sample.wall:.0f}/s), "
                f"{sample.peak_kb / 1024:.0f} MB")
        return Row(f"`fleet push --dry-run` (plan), --parallel {parallel}", count, walls, peak,
                   note=f"{migrations} migrations pending on each")
    finally:
        log(f"plan: dropping {count} databases ...")
        databases.drop(urls)


@dataclass
class Deployed:
    row: Row
    client_times: list[float]
    """Each member's push as the fleet run timed it (--json started_at to finished_at), s."""
    waves: int


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def bench_deploy(databases: Databases, root: Path, env: dict[str, str], count: int, parallel: int,
                 migrations: int, wave_size: int) -> Deployed:
    urls = databases.create("d", count)
    try:
        workdir = root / "deploy"
        versions, variables = write_project(workdir, urls, migrations, wave_size)
        sample, stdout = measure_output(fleet_push(workdir, parallel, dry_run=False), {**env, **variables})
        document = json.loads(stdout)
        members = document["members"]
        if not document.get("ok") or document["counts"]["applied"] != count or len(members) != count:
            raise RunFailed(f"fleet push: not every member applied: {json.dumps(document['counts'])}")
        wrong = [m["name"] for m in members if m["status"] != "applied" or m["applied"] != versions]
        if wrong:
            raise RunFailed(f"fleet push: {', '.join(wrong[:5])} did not apply {versions}")
        run_id = document["run_id"]
        intervals: list[tuple[float, float]] = []
        for index, url in enumerate(urls, start=1):
            if history(url) != versions:
                raise RunFailed(f"fleet push: {member_name(index)}'s history is {history(url)}, expected {versions}")
            with psycopg.connect(url) as conn:
                rows = conn.execute(DEPLOY_LOG, (run_id,)).fetchall()
            if len(rows) != 1 or rows[0][0] != "succeeded" or rows[0][2] is None or sorted(rows[0][3]) != versions:
                raise RunFailed(f"fleet push: {member_name(index)}'s deploy log for run {run_id}: {rows}")
            intervals.append((rows[0][1].timestamp(), rows[0][2].timestamp()))
        overlap = max_overlap(intervals)
        if overlap > parallel:
            raise RunFailed(f"fleet push --parallel {parallel}: {overlap} members were deploying at once")
        client = [_seconds(m["finished_at"]) - _seconds(m["started_at"]) for m in members]
        log(f"deploy: {count} members in {sample.wall:.2f} s ({count / sample.wall:.1f}/s), "
            f"{sample.peak_kb / 1024:.0f} MB, at most {overlap} at once")
        row = Row(f"`fleet push --yes` (deploy), --parallel {parallel}", count, [sample.wall], sample.peak_kb,
                  member_times=[end - start for start, end in intervals], overlap=overlap,
                  note=f"canary 1 + waves of {wave_size} ({document['waves']} waves); per-member times from the "
                  f"deploy log; verify on")
        return Deployed(row, client, int(document["waves"]))
    finally:
        databases.drop(urls)


def bench_cli(databases: Databases, root: Path, env: dict[str, str], cli: Path, count: int, parallel: int,
              migrations: int) -> list[Row]:
    workdir = root / "cli"
    versions = sorted(path.name.split("_", 1)[0] for path in generate(migrations, workdir))
    rows = []
    for label, workers in (("one after the other", 1), (f"{parallel} at once", parallel)):
        urls = databases.create("s" if workers == 1 else "c", count)
        try:
            def push(url: str, sample_tree: bool = workers == 1) -> Sample:
                sample, _ = measure_output(cli_push(cli, url, workdir), env, sample_tree=sample_tree)
                if history(url) != versions:
                    raise RunFailed(f"supabase db push: history {history(url)}, expected {versions}")
                return sample

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=workers) as pool:
                samples = list(pool.map(push, urls))
            wall = time.perf_counter() - started
        finally:
            databases.drop(urls)
        log(f"cli {label}: {count} members in {wall:.2f} s ({count / wall:.1f}/s)")
        rss = "%M only (Go binary)" if workers > 1 else rss_note(samples)
        rows.append(Row(f"`supabase db push` 3.1.0, {label}", count, [wall], max(s.peak_kb for s in samples),
                        member_times=[s.wall for s in samples], note=f"per-member times: each process; RSS {rss}"))
    return rows


def warm_up(databases: Databases, root: Path, env: dict[str, str], cli: Path, parallel: int, migrations: int) -> None:
    """Unmeasured: fills the bytecode cache, the page cache (node, the CLI's Go binary) and the server's caches."""
    urls = databases.create("w", 3)
    try:
        workdir = root / "warmup"
        _, variables = write_project(workdir, urls[:2], migrations, 1)
        measure_output(fleet_push(workdir, parallel, dry_run=True), {**env, **variables})
        measure_output(fleet_push(workdir, parallel, dry_run=False), {**env, **variables})
        measure_output(cli_push(cli, urls[2], workdir), env)
    finally:
        databases.drop(urls)


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def describe(admin_url: str, cli: Path, env: dict[str, str]) -> str:
    with psycopg.connect(admin_url) as conn:
        row = conn.execute("SELECT current_setting('server_version'), current_setting('fsync'), "
                           "current_setting('shared_buffers'), current_setting('max_connections')").fetchone()
    server = f"PostgreSQL {row[0]} (fsync={row[1]}, shared_buffers={row[2]}, max_connections={row[3]})" if row else "?"
    version = subprocess.run([str(cli), "--version"], capture_output=True, text=True).stdout.strip()
    package = subprocess.run([sys.executable, "-c", "import supadeploy; print(supadeploy.__file__)"],
                             capture_output=True, text=True, env=env).stdout.strip()
    return (f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.platform()}; {os.cpu_count()} CPUs; "
            f"Python {platform.python_version()}; {server}; supabase CLI {version}; supadeploy from {package}")


def find_cli(given: Path | None) -> Path:
    for candidate in (given, os.environ.get("SUPABASE_CLI3"), SUPABASE_CLI3):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    raise SystemExit(f"the Supabase CLI 3.1.0 is not at {SUPABASE_CLI3}: run `make tools`, or pass --cli PATH "
                     "(or set $SUPABASE_CLI3)")


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def cleaned_up(databases: Databases) -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        log("dropping the benchmark's databases ...")
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave databases behind
        try:
            databases.drop_all()
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--admin-url", default=os.environ.get("SUPADEPLOY_BENCH_ADMIN_URL", DEFAULT_ADMIN_URL),
                        help="superuser URL of a server where databases can be created "
                        "(env SUPADEPLOY_BENCH_ADMIN_URL)")
    parser.add_argument("--plan-members", type=int, default=1000, help="members planned (default: 1000)")
    parser.add_argument("--deploy-members", type=int, default=100, help="members deployed (default: 100)")
    parser.add_argument("--cli-members", type=int, default=16,
                        help="databases the CLI pushes to, sequentially and again --parallel at once (default: 16)")
    parser.add_argument("--parallel", type=int, default=8, help="members at once (default: 8)")
    parser.add_argument("--migrations", type=int, default=5, help="migrations in the project (default: 5)")
    parser.add_argument("--wave-size", type=int, default=25, help="members per wave after the canary (default: 25)")
    parser.add_argument("--plan-repeats", type=int, default=3, help="runs of the (read-only) plan (default: 3)")
    parser.add_argument("--cli", type=Path, default=None,
                        help="the Supabase CLI 3.1.0 (default: $SUPABASE_CLI3, else "
                        f"{SUPABASE_CLI3.relative_to(ROOT)})")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "fleet.md")
    args = parser.parse_args(argv)
    if min(args.plan_members, args.deploy_members, args.cli_members, args.parallel, args.migrations,
           args.wave_size, args.plan_repeats) < 1:
        parser.error("every count must be at least 1")
    cli = find_cli(args.cli)
    databases = Databases(args.admin_url)
    started, load_at_start = time.perf_counter(), _loadavg()
    with tempfile.TemporaryDirectory(prefix="sdbench-fleet-") as tmp, cleaned_up(databases):
        root = Path(tmp)
        env = installed_environment(root, dict(os.environ))
        env["SUPADEPLOY_CACHE_DIR"] = str(root / "digest-cache")
        machine = describe(args.admin_url, cli, env)
        databases.prepare_template()
        warm_up(databases, root, env, cli, args.parallel, args.migrations)
        rows = [bench_plan(databases, root, env, args.plan_members, args.parallel, args.migrations, args.wave_size,
                           args.plan_repeats)]
        deployed = bench_deploy(databases, root, env, args.deploy_members, args.parallel, args.migrations,
                                args.wave_size)
        rows.append(deployed.row)
        cli_rows = bench_cli(databases, root, env, cli, args.cli_members, args.parallel, args.migrations)
        rows += cli_rows
    client_median = statistics.median(deployed.client_times)
    ours = estimate(client_median, args.parallel)
    theirs = estimate(statistics.median(cli_rows[-1].member_times), args.parallel)
    total = time.perf_counter() - started
    command = (f"python benchmarks/fleet_benchmark.py --plan-members {args.plan_members} --deploy-members "
               f"{args.deploy_members} --cli-members {args.cli_members} --parallel {args.parallel} --migrations "
               f"{args.migrations} --wave-size {args.wave_size} --plan-repeats {args.plan_repeats}")
    report = "\n".join([
        "# fleet benchmark", "",
        f"{machine}; load average {load_at_start} at start, {_loadavg()} at end; total {total:.0f} s", "",
        f"Command: `{command}`", "",
        HEADER, *(row.markdown() for row in rows), "",
        f"Deploy, each member's push as `fleet push` timed it (--json started_at to finished_at, connection and "
        f"verify included): median {client_median:.3f} s, p95 {percentile(deployed.client_times, 95):.3f} s.", "",
        f"Estimate, {ESTIMATE_MEMBERS:,} members on GitHub Actions ({ESTIMATE_JOBS} concurrent jobs, "
        f"{ESTIMATE_SHARD} members per job, {args.parallel} at once in a job, {ESTIMATE_JOB_OVERHEAD:.0f} s per job "
        "for runner start, checkout and install), m = the measured per-member median at "
        f"{args.parallel} at once:", "",
        f"* {ours.text('supadeploy fleet push (m from its --json)')}",
        f"* {theirs.text(f'the same jobs running supabase db push 3.1.0 (m from its {args.parallel}-at-once run)')}",
        "",
    ])
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    log(f"written to {args.out}")


if __name__ == "__main__":
    try:
        main()
    except RunFailed as failure:
        print(f"benchmark failed: {failure}", file=sys.stderr)
        sys.exit(1)
