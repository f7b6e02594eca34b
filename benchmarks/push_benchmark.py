"""Benchmark `supadeploy push` against `supabase db push` and a psql floor (see benchmarks/README.md).

    python benchmarks/push_benchmark.py [--sizes 50,200,1000] [--admin-url URL] [--repeats 3] [--noop-repeats 1]
        [--out benchmarks/results/push.md] [--tools floor,floor-tx,supadeploy,cli] [--no-bytecode-cache]

For each size N, on fresh databases (CREATE DATABASE on the server behind --admin-url or
$SUPADEPLOY_BENCH_ADMIN_URL, then supadeploy.local.prepare_database), measures wall time, client CPU and
peak RSS of:

* floor:    psql -X -q -1 -v ON_ERROR_STOP=1 -f ALL.sql     (every migration concatenated, one transaction)
* floor-tx: the same with BEGIN/COMMIT around each migration (the tools' transaction shape)
* supadeploy push --db-url URL --workdir DIR --yes         (the console script, as a subprocess)
* supabase db push --db-url URL?sslmode=disable --yes --workdir DIR   (the real CLI: node wrapper + Go binary)
* a second, no-op run of supadeploy and of the CLI (nothing pending), and a third of supadeploy without its
  statement-digest cache (as on a fresh CI runner; $SUPADEPLOY_CACHE_DIR points into the run's temp folder)

and `supadeploy --help` / `supabase --help`. Runs are interleaved (floor, floor-tx, supadeploy, cli, repeat)
after one unmeasured warm-up of every tool. Every run is verified (exit code 0 and N rows in
supabase_migrations.schema_migrations, or N tables in public for the floors), so a failed run is never
reported as fast.

Peak RSS: every child runs under `/usr/bin/time -f "%M %U %S"`, whose %M is the kernel's high-water RSS of
the largest single process of the tree (ru_maxrss of the waited child includes its reaped descendants).
A sampler thread also polls /proc every 20 ms and sums the RSS of all live processes of the tree (the CLI's
node wrapper and Go binary are alive at the same time). The table reports the larger of the two.
`os.wait4` on a child spawned directly by this Python process is NOT used: Linux copies the parent's RSS
high-water mark into the child's ru_maxrss at exec, so every number would read as this process's size.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_migrations import generate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ADMIN_URL = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
SUPABASE_CLI = ROOT / ".tools" / "node_modules" / ".bin" / "supabase"
GNU_TIME = Path("/usr/bin/time")
DIGEST_CACHE_VARIABLE = "SUPADEPLOY_CACHE_DIR"
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
HISTORY_COUNT = "SELECT count(*) FROM supabase_migrations.schema_migrations"
TABLE_COUNT = "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = 'public'"


# ----------------------------------------------------------------------------------------------
# Measuring one process tree
# ----------------------------------------------------------------------------------------------


@dataclass
class Sample:
    wall: float
    peak_kb: int  # max(largest process high-water, sampled tree sum)
    largest_kb: int  # kernel high-water RSS of the largest single process (/usr/bin/time %M)
    tree_kb: int  # max over samples of the summed RSS of all live processes in the tree
    cpu: float  # user + system CPU seconds of the tree (/usr/bin/time %U + %S; 0 without it)
    by_name_kb: dict[str, int] = field(default_factory=dict)  # sampled peak per executable name


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split(maxsplit=2)[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _rss_kb(pid: int) -> tuple[str, int] | None:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            resident = int(fh.read().split()[1])
        with open(f"/proc/{pid}/comm", "rb") as fh:
            name = fh.read().decode(errors="replace").strip()
    except (OSError, IndexError, ValueError):
        return None
    return name, resident * PAGE_KB


class TreeSampler(threading.Thread):
    """Polls /proc: max over time of the summed RSS of ``root``'s descendants (``root`` itself excluded
    when it is /usr/bin/time, whose ~1 MB is not the measured program's)."""

    def __init__(self, root: int, *, include_root: bool, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.root, self.include_root, self.interval = root, include_root, interval
        self.peak_kb = 0
        self.by_name: dict[str, int] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            children = _children_map()
            pids, stack = [], [self.root]
            while stack:
                pid = stack.pop()
                if pid != self.root or self.include_root:
                    pids.append(pid)
                stack.extend(children.get(pid, ()))
            total = 0
            for pid in pids:
                found = _rss_kb(pid)
                if found:
                    name, kb = found
                    total += kb
                    self.by_name[name] = max(self.by_name.get(name, 0), kb)
            self.peak_kb = max(self.peak_kb, total)
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


class RunFailed(RuntimeError):
    pass


def measure(argv: Sequence[str], env: dict[str, str] | None = None) -> Sample:
    """Run ``argv`` to completion; its wall time and peak RSS. Raises RunFailed on a non-zero exit."""
    with tempfile.TemporaryDirectory(prefix="sdbench-run-") as tmp:
        rss_file = Path(tmp) / "rss"
        use_time = GNU_TIME.exists()
        command = [str(GNU_TIME), "-f", "%M %U %S", "-o", str(rss_file), *argv] if use_time else list(argv)
        with open(Path(tmp) / "out", "w+b") as out:
            started = time.perf_counter()
            process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
            sampler = TreeSampler(process.pid, include_root=not use_time)
            sampler.start()
            returncode = process.wait()
            wall = time.perf_counter() - started
            sampler.stop()
            if returncode != 0:
                out.seek(0)
                tail = out.read().decode(errors="replace")[-2000:]
                raise RunFailed(f"{' '.join(argv)} exited {returncode}:\n{tail}")
        fields = rss_file.read_text().split()[-3:] if use_time else ["0", "0", "0"]
    largest, cpu = int(fields[0]), float(fields[1]) + float(fields[2])
    return Sample(wall=wall, peak_kb=max(largest, sampler.peak_kb), largest_kb=largest,
                  tree_kb=sampler.peak_kb, cpu=cpu, by_name_kb=sampler.by_name)


# ----------------------------------------------------------------------------------------------
# Databases
# ----------------------------------------------------------------------------------------------


def database_url(admin_url: str, database: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, ""))


@contextlib.contextmanager
def fresh_database(admin_url: str, name: str) -> Iterator[str]:
    from supadeploy.local import prepare_database

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = database_url(admin_url, name)
    try:
        prepare_database(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")  # start every timed run with no dirty buffers left by the setup
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def count(url: str, query: str) -> int:
    with psycopg.connect(url) as conn:
        try:
            row = conn.execute(query).fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
    return int(row[0]) if row else 0


# ----------------------------------------------------------------------------------------------
# Tools
# ----------------------------------------------------------------------------------------------


def supadeploy_argv() -> list[str]:
    script = Path(sys.executable).parent / "supadeploy"
    if script.exists():
        return [str(script)]
    found = shutil.which("supadeploy")
    return [found] if found else [sys.executable, "-m", "supadeploy"]


def ensure_supabase_cli() -> Path:
    if not SUPABASE_CLI.exists():
        print("installing supabase@2.117.0 into .tools/ ...", file=sys.stderr)
        subprocess.run(["npm", "i", "-E", "supabase@2.117.0"], cwd=SUPABASE_CLI.parents[2], check=True)
    return SUPABASE_CLI


@dataclass
class Tool:
    key: str  # for --tools
    label: str
    kind: str  # "floor" | "push"

    def argv(self, url: str, workdir: Path) -> list[str]:
        raise NotImplementedError


class Supadeploy(Tool):
    def argv(self, url: str, workdir: Path) -> list[str]:
        return [*supadeploy_argv(), "push", "--db-url", url, "--workdir", str(workdir), "--yes",
                "--no-verify", "--no-types"]  # the same job as `supabase db push`


class SupabaseCli(Tool):
    def argv(self, url: str, workdir: Path) -> list[str]:
        if "sslmode=" not in url:
            url += ("&" if "?" in url else "?") + "sslmode=disable"
        return [str(ensure_supabase_cli()), "db", "push", "--db-url", url, "--yes", "--workdir", str(workdir)]


class PsqlFloor(Tool):
    def argv(self, url: str, workdir: Path) -> list[str]:
        return ["psql", "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-f", str(workdir / "ALL.sql"), "-d", url]


class PsqlFloorPerMigration(Tool):
    """The same SQL with the tools' transaction shape: BEGIN; <migration>; COMMIT; per file."""

    def argv(self, url: str, workdir: Path) -> list[str]:
        return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(workdir / "ALL_tx.sql"), "-d", url]


TOOLS: tuple[Tool, ...] = (
    PsqlFloor("floor", "floor (psql -1 -f ALL.sql)", "floor"),
    PsqlFloorPerMigration("floor-tx", "floor-tx (psql, BEGIN/COMMIT per migration)", "floor"),
    Supadeploy("supadeploy", "supadeploy push", "push"),
    SupabaseCli("cli", "supabase db push", "push"),
)


# ----------------------------------------------------------------------------------------------
# The benchmark
# ----------------------------------------------------------------------------------------------


@dataclass
class Row:
    n: int | str
    tool: str
    samples: list[Sample]
    floor_best: float | None = None
    floor_tx_best: float | None = None
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def best(self) -> float:
        return min(s.wall for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def peak_mb(self) -> float:
        return max(s.peak_kb for s in self.samples) / 1024

    def markdown(self) -> str:
        ratio = f"{self.best / self.floor_best:.2f}x" if self.floor_best else "-"
        ratio_tx = f"{self.best / self.floor_tx_best:.2f}x" if self.floor_tx_best else "-"
        return (f"| {self.n} | {self.tool} | {len(self.samples)} | {self.best:.3f} | {self.median:.3f} | "
                f"{ratio} | {ratio_tx} | {self.cpu:.2f} | {self.peak_mb:.1f} | {self.note} |")


def child_environment(root: Path, bytecode_cache: bool) -> dict[str, str]:
    """The environment of every measured command.

    With ``bytecode_cache`` (the default) supadeploy's modules are byte-compiled once into a cache
    outside src/ (PYTHONPYCACHEPREFIX), as a pip-installed package is at install time; without it the
    caller's environment is used as is (e.g. PYTHONDONTWRITEBYTECODE=1 recompiles src/ on every run).
    """
    env = dict(os.environ)
    env[DIGEST_CACHE_VARIABLE] = str(root / "digest-cache")  # supadeploy's statement-digest cache, per run
    if bytecode_cache:
        from installed_environment import installed_environment

        return installed_environment(root, env)
    return env


def prepare_workdir(n: int, root: Path) -> Path:
    workdir = root / f"n{n}"
    paths = generate(n, workdir)
    texts = [path.read_text(encoding="utf-8") for path in paths]
    (workdir / "ALL.sql").write_text("\n".join(texts), encoding="utf-8")
    (workdir / "ALL_tx.sql").write_text("".join(f"BEGIN;\n{text}\nCOMMIT;\n" for text in texts), encoding="utf-8")
    return workdir


def warm_up(admin_url: str, root: Path, run_id: str, tools: Sequence[Tool], env: dict[str, str]) -> None:
    """One unmeasured run of every tool (and no-op) on 3 migrations: fills the bytecode cache, the page
    cache (the CLI's 95 MB Go binary) and the server's caches, so the first measured run is not special."""
    workdir = prepare_workdir(3, root / "warmup")
    for tool in tools:
        with fresh_database(admin_url, f"sdbench_{run_id}_warmup_{tool.key}") as url:
            measure(tool.argv(url, workdir), env)
            if tool.kind == "push":
                measure(tool.argv(url, workdir), env)
    measure([*supadeploy_argv(), "--help"], env)


def measure_noops(tool: Tool, url: str, workdir: Path, env: dict[str, str], n: int, times: int, *,
                  cold: bool) -> list[Sample]:
    """``times`` runs of ``tool`` with nothing left to push; ``cold``: supadeploy without its digest cache."""
    label = f"{tool.label} no-op" + (", cold digest cache" if cold else "")
    samples: list[Sample] = []
    for _ in range(times):
        if cold:
            shutil.rmtree(env[DIGEST_CACHE_VARIABLE], ignore_errors=True)
        sample = measure(tool.argv(url, workdir), env)
        if count(url, HISTORY_COUNT) != n:
            raise RunFailed(f"{label} N={n}: history changed")
        samples.append(sample)
        print(f"  N={n} {label}: {sample.wall:.3f}s {sample.peak_kb / 1024:.1f} MB", file=sys.stderr, flush=True)
    return samples


def bench_size(n: int, admin_url: str, repeats: int, root: Path, run_id: str,
               tools: Sequence[Tool], env: dict[str, str], noop_repeats: int = 1) -> list[Row]:
    workdir = prepare_workdir(n, root)
    samples: dict[str, list[Sample]] = {tool.label: [] for tool in tools}
    noop: dict[str, list[Sample]] = {tool.label: [] for tool in tools if tool.kind == "push"}
    noop_cold: list[Sample] = []  # supadeploy without its digest cache, as on a fresh CI runner
    for rep in range(repeats):
        for tool in tools:  # interleaved, so drift on the machine hits every tool alike
            name = f"sdbench_{run_id}_{n}_{tool.key}_{rep}"
            with fresh_database(admin_url, name) as url:
                sample = measure(tool.argv(url, workdir), env)
                verify = TABLE_COUNT if tool.kind == "floor" else HISTORY_COUNT
                got = count(url, verify)
                if got != n:
                    raise RunFailed(f"{tool.label} N={n}: expected {n} rows/tables, found {got}")
                samples[tool.label].append(sample)
                print(f"  N={n} {tool.label} run {rep + 1}/{repeats}: {sample.wall:.3f}s "
                      f"{sample.peak_kb / 1024:.1f} MB", file=sys.stderr, flush=True)
                if tool.kind == "push":
                    noop[tool.label] += measure_noops(tool, url, workdir, env, n, noop_repeats, cold=False)
                if tool.key == "supadeploy":
                    noop_cold += measure_noops(tool, url, workdir, env, n, noop_repeats, cold=True)
    floor = _best_of(samples, tools, "floor")
    floor_tx = _best_of(samples, tools, "floor-tx")
    rows = [Row(n, label, runs, floor_best=floor, floor_tx_best=floor_tx, note=_rss_note(runs))
            for label, runs in samples.items()]
    rows += [Row(n, f"{label}, no-op", runs, note=_rss_note(runs)) for label, runs in noop.items()]
    if noop_cold:
        rows.append(Row(n, "supadeploy push, no-op, cold digest cache", noop_cold, note=_rss_note(noop_cold)))
    return rows


def _best_of(samples: dict[str, list[Sample]], tools: Sequence[Tool], key: str) -> float | None:
    for tool in tools:
        if tool.key == key:
            return min(s.wall for s in samples[tool.label])
    return None


def _rss_note(samples: list[Sample]) -> str:
    """For multi-process tools: the sampled peak of each executable, e.g. node + supabase."""
    names: dict[str, int] = {}
    for sample in samples:
        for name, kb in sample.by_name_kb.items():
            names[name] = max(names.get(name, 0), kb)
    names = {name: kb for name, kb in names.items() if kb >= 1024}  # drop the pre-exec fork of `time`
    if len(names) < 2:
        return ""
    return " + ".join(f"{name} {kb / 1024:.0f} MB" for name, kb in sorted(names.items()))


def bench_help(repeats: int, env: dict[str, str]) -> list[Row]:
    runs = [measure([*supadeploy_argv(), "--help"], env) for _ in range(repeats)]
    rows = [Row("-", "supadeploy --help", runs, note=_rss_note(runs))]
    runs = [measure([str(ensure_supabase_cli()), "--help"], env) for _ in range(repeats)]
    rows.append(Row("-", "supabase --help", runs, note=_rss_note(runs)))
    return rows


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def environment(admin_url: str) -> str:
    server = "?"
    with contextlib.suppress(Exception), psycopg.connect(admin_url) as conn:
        row = conn.execute("SELECT current_setting('server_version'), current_setting('fsync'),"
                           " current_setting('shared_buffers')").fetchone()
        if row:
            server = f"PostgreSQL {row[0]} (fsync={row[1]}, shared_buffers={row[2]})"
    cli = subprocess.run([str(ensure_supabase_cli()), "--version"], capture_output=True, text=True)
    return (f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.platform()}; {os.cpu_count()} CPUs; "
            f"Python {platform.python_version()}; {server}; supabase CLI {cli.stdout.strip()}; "
            f"RSS via {'/usr/bin/time %M + /proc tree sampling' if GNU_TIME.exists() else '/proc sampling'}")


HEADER = ("| N | tool | runs | wall s (best) | wall s (median) | best vs floor | best vs floor-tx "
          "| client CPU s | peak RSS MB | RSS by process |\n|---|---|---|---|---|---|---|---|---|---|")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50,200,1000", help="comma-separated migration counts")
    admin_default = os.environ.get("SUPADEPLOY_BENCH_ADMIN_URL", DEFAULT_ADMIN_URL)
    parser.add_argument("--admin-url", default=admin_default,
                        help="superuser URL of a server where databases can be created "
                        "(env SUPADEPLOY_BENCH_ADMIN_URL)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "push.md")
    parser.add_argument("--repeats", type=int, default=3, help="runs per tool and size (default: 3)")
    parser.add_argument("--noop-repeats", type=int, default=1,
                        help="no-op runs after each push run (default: 1)")
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="run supadeploy with the environment as is (no PYTHONPYCACHEPREFIX warm cache)")
    parser.add_argument("--tools", default="floor,floor-tx,supadeploy,cli",
                        help="which of floor,floor-tx,supadeploy,cli to run (default: all)")
    args = parser.parse_args(argv)
    keys = {key.strip() for key in args.tools.split(",") if key.strip()}
    if unknown := keys - {tool.key for tool in TOOLS}:
        parser.error(f"unknown --tools: {', '.join(sorted(unknown))}")
    tools = [tool for tool in TOOLS if tool.key in keys]
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    ensure_supabase_cli()
    run_id = f"{os.getpid()}"
    started = time.perf_counter()
    load_at_start = _loadavg()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sdbench-") as tmp:
        env = child_environment(Path(tmp), bytecode_cache=not args.no_bytecode_cache)
        warm_up(args.admin_url, Path(tmp), run_id, tools, env)
        for n in sizes:
            rows += bench_size(n, args.admin_url, args.repeats, Path(tmp), run_id, tools, env, args.noop_repeats)
        rows += bench_help(5, env)
    table = "\n".join([HEADER, *(row.markdown() for row in rows)])
    total = time.perf_counter() - started
    load = f"load average {load_at_start} at start, {_loadavg()} at end"
    cache = "off (environment as is)" if args.no_bytecode_cache else "warm, via PYTHONPYCACHEPREFIX"
    report = (f"# push benchmark\n\n{environment(args.admin_url)}; bytecode cache {cache}; "
              f"{load}; total {total:.0f} s\n\n"
              f"Command: `python benchmarks/push_benchmark.py --sizes {args.sizes} --repeats {args.repeats} "
              f"--noop-repeats {args.noop_repeats} --tools {args.tools}`\n\n"
              f"{table}\n")
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    print(f"written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
