"""A big migration: its history row is exactly the CLI's split (streamed with COPY), and a 50 MB file is pushed
with a peak RSS under 4x its size (the kernel's high-water mark of the process, read through GNU time)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from supadeploy.migrations.splitter import split_statements
from tests.support.cli import write_migration
from tests.support.inspect import history_rows, scalar

GNU_TIME = "/usr/bin/time"
# Characters the history row's COPY must carry through both escapings (text[] literal, COPY text format).
TRICKY = "tab\there, back\\slash, \"quotes\", a\r\nline, émoji 🚀, percent %s, brace {x}, comma a,b"


def tricky_file(megabytes: float) -> str:
    lines: list[str] = []
    size = row = 0
    while size < megabytes * 1_000_000:
        body = TRICKY.replace("'", "''") + f" {row}"
        line = f"insert into public.big (id, body) values ({row}, E'{body.replace(chr(92), chr(92) * 2)}');\n"
        if row % 1000 == 0:
            line += f"-- a comment; with \"quotes\" and \\ {row}\n"
        lines.append(line)
        size += len(line)
        row += 1
    return "".join(lines)


@pytest.mark.parametrize("no_transaction", [False, True], ids=["transaction", "no-transaction"])
def test_a_big_migrations_history_row_is_the_clis_split(project_dir: Path, db_url: str,
                                                       no_transaction: bool) -> None:
    write_migration(project_dir, "001_table.sql", "create table public.big (id int primary key, body text);\n")
    text = ("-- supadeploy:no-transaction\n" if no_transaction else "") + tricky_file(1.2)
    write_migration(project_dir, "002_rows.sql", text)
    completed = subprocess.run([sys.executable, "-m", "supadeploy", "push", "--no-verify", "--no-types", "--workdir",
                                str(project_dir), "--db-url", db_url], capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    expected = [statement.text for statement in split_statements(text)]
    assert history_rows(db_url)[1] == ("002", "rows", expected)
    assert scalar(db_url, "select body from public.big where id = 7") == f"{TRICKY} 7"


@pytest.mark.skipif(not Path(GNU_TIME).exists(), reason="GNU time measures the peak RSS")
def test_a_50_mb_migration_peaks_under_four_times_its_size(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_table.sql", "create table public.big (id int primary key, body text);\n")
    path = project_dir / "supabase" / "migrations" / "002_rows.sql"
    with path.open("w", encoding="utf-8") as out:
        size = row = 0
        while size < 50_000_000:
            line = f"insert into public.big (id, body) values ({row}, 'row {row}; it''s {'x' * 40}');\n"
            out.write(line)
            size += len(line)
            row += 1
    completed = subprocess.run(
        [GNU_TIME, "-f", "%M", sys.executable, "-m", "supadeploy", "push", "--no-verify",
         "--no-types", "--workdir", str(project_dir), "--db-url", db_url],
        capture_output=True, text=True, timeout=900, env=dict(os.environ))
    assert completed.returncode == 0, completed.stdout + completed.stderr[-2000:]
    peak_kb = int(completed.stderr.strip().splitlines()[-1])
    assert peak_kb * 1024 < 4 * path.stat().st_size, f"peak RSS {peak_kb // 1024} MB"
    assert scalar(db_url, "select count(*) from public.big") == row
    assert scalar(db_url, "select array_length(statements, 1) from supabase_migrations.schema_migrations "
                          "where version = '002'") == row
