"""Peak memory and time of pushing one big migration: `supadeploy push` next to `psql -1 -f` (the anchor).

    python benchmarks/big_migration_benchmark.py [--megabytes 50] [--admin-url URL] [--repeats 1]

Generates one file of ``--megabytes`` MB of INSERT statements (each with a string holding `;` and a doubled
quote), pushes it to a fresh database, and reports wall time and the peak RSS of each client process (GNU
time's %M) and the ratio of supadeploy's peak to the file size (the promise: under 4x). The history row is
checked: its statements equal the Supabase CLI's split of the file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ADMIN_URL = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
GNU_TIME = "/usr/bin/time"


def write_big_migration(project: Path, megabytes: float) -> Path:
    folder = project / "supabase" / "migrations"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "001_table.sql").write_text("create table public.big (id int primary key, body text);\n")
    path = folder / "002_rows.sql"
    limit = int(megabytes * 1_000_000)
    with path.open("w", encoding="utf-8") as out:
        size = row = 0
        while size < limit:
            line = f"insert into public.big (id, body) values ({row}, 'row {row}; it''s {'x' * 40}');\n"
            out.write(line)
            size += len(line)
            row += 1
    return path


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def fresh_database(admin_url: str) -> str:
    from supadeploy.local import prepare_database

    name = f"sdbig_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = with_database(admin_url, name)
    prepare_database(url)
    return url


def drop_database(admin_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measured(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KB) of ``command`` (GNU time's %M)."""
    started = time.perf_counter()
    completed = subprocess.run([GNU_TIME, "-f", "%M", *command], capture_output=True, text=True, env=env,
                               check=False)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")
    return seconds, int(completed.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=50)
    parser.add_argument("--admin-url", default=os.environ.get("SUPADEPLOY_BENCH_ADMIN_URL", DEFAULT_ADMIN_URL))
    parser.add_argument("--repeats", type=int, default=1)
    arguments = parser.parse_args()
    psql = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"
    with tempfile.TemporaryDirectory() as temporary:
        project = Path(temporary)
        path = write_big_migration(project, arguments.megabytes)
        size_kb = path.stat().st_size // 1024
        environment = {**os.environ, "SUPADEPLOY_CACHE_DIR": str(project / "cache")}
        rows = []
        for _ in range(arguments.repeats):
            url = fresh_database(arguments.admin_url)
            try:
                seconds, peak = measured([sys.executable, "-m", "supadeploy", "push", "--no-verify", "--no-types",
                                          "--workdir", str(project), "--db-url", url], environment)
                check_history(url, path)
                rows.append(("supadeploy push", seconds, peak))
            finally:
                drop_database(arguments.admin_url, url)
            url = fresh_database(arguments.admin_url)
            try:
                both = project / "all.sql"
                both.write_text((path.parent / "001_table.sql").read_text() + path.read_text())
                seconds, peak = measured([psql, "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", url, "-f",
                                          str(both)], environment)
                rows.append(("psql -1 -f (anchor)", seconds, peak))
            finally:
                drop_database(arguments.admin_url, url)
    print(f"one migration of {size_kb / 1024:.1f} MB ({path.name})")
    print("| tool | wall s | peak RSS MB | peak / file size |")
    print("|---|---|---|---|")
    for tool, seconds, peak in rows:
        print(f"| {tool} | {seconds:.1f} | {peak / 1024:.0f} | {peak / size_kb:.2f}x |")


def check_history(url: str, path: Path) -> None:
    from supadeploy.migrations.splitter import split_statements

    expected = [statement.text for statement in split_statements(path.read_text(encoding="utf-8"))]
    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT statements FROM supabase_migrations.schema_migrations WHERE version = '002'"
                                 ).fetchone()
    if row is None or row[0] != expected:
        raise SystemExit("the history row does not hold the CLI's split of the file")


if __name__ == "__main__":
    main()
