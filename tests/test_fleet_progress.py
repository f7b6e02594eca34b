"""`fleet push` progress as a person sees it: on a terminal one counts line rewritten in place (done, failed,
running, pending), failures printed above it; in CI (not a terminal) a line per member."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg

from supadeploy.report.live_line import LiveLine
from tests.support.cli import invoke, write_migration

MEMBERS = [f"p{index}" for index in range(1, 7)]


def fleet_repository(project_dir: Path, make_db: Callable[[], str]) -> dict[str, str]:
    urls = {member: make_db() for member in MEMBERS}
    environments = "".join(f'[environments.{m}]\ndb_url_env = "PROGRESS_{m.upper()}_URL"\n\n' for m in MEMBERS)
    listed = ", ".join(f'"{m}"' for m in MEMBERS)
    (project_dir / "supadeploy.toml").write_text(
        f"{environments}[fleets.tenants]\nmembers = [{listed}]\nwave_size = 3\nparallel = 2\n")
    write_migration(project_dir, "001_notes.sql", "create table public.notes (id bigint primary key, n int);\n"
                    "alter table public.notes enable row level security;\n")
    return {f"PROGRESS_{member.upper()}_URL": url for member, url in urls.items()}


def on_a_terminal(project_dir: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "supadeploy", "fleet", "push", "tenants", "--no-verify",
                                "--workdir", str(project_dir), *args], stdin=terminal, stdout=subprocess.PIPE,
                               stderr=terminal, env={**os.environ, **env})
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert process.stdout is not None
    stdout = process.stdout.read().decode()
    os.close(controller)
    return process.wait(timeout=120), b"".join(chunks).decode() + stdout


def test_on_a_terminal_the_counts_are_one_line_updated_in_place(project_dir: Path,
                                                                  make_db: Callable[[], str]) -> None:
    env = fleet_repository(project_dir, make_db)
    exit_code, output = on_a_terminal(project_dir, env)
    assert exit_code == 0, output
    assert "\r\x1b[2Kfleet tenants: wave 1/3: 0 done, 0 failed, 1 running, 5 pending" in output
    assert "\r\x1b[2Kfleet tenants: wave 3/3: 6 done, 0 failed, 0 running, 0 pending\r\n" in output
    assert "applied 001" not in output  # members are counted, not listed, on a terminal

    url = env["PROGRESS_P3_URL"]
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("insert into public.notes values (1, -1)")
    write_migration(project_dir, "002_positive.sql", "alter table public.notes add check (n > 0);\n")
    exit_code, output = on_a_terminal(project_dir, env)
    assert exit_code == 1
    assert "\r\x1b[2Kfleet tenants: wave 2 p3 FAILED: " in output  # above the counts, which stay below it
    # p1 (canary) applied; p2 and p3 ran at once, p4 only if p2 ended before p3 failed; p5, p6 never started
    assert re.search(r"wave 2/3: (2 done, 1 failed, 0 running, 3|3 done, 1 failed, 0 running, 2) pending\r\n",
                     output), output


def test_not_on_a_terminal_each_member_is_a_line(project_dir: Path, make_db: Callable[[], str]) -> None:
    env = fleet_repository(project_dir, make_db)
    outcome = invoke("fleet", "push", "tenants", "--no-verify", "--workdir", str(project_dir), env=env)
    assert outcome.exit_code == 0, outcome.output
    lines = [line for line in outcome.stderr.splitlines() if "applied 001" in line]
    assert len(lines) == 6 and "\x1b" not in outcome.stderr
    assert lines[-1].endswith("(6 done, 0 failed, 0 to go)")


def test_the_live_line_keeps_messages_above_it() -> None:
    stream = io.StringIO()
    line = LiveLine(stream)
    line.show("1 done")
    line.say("m2 FAILED")
    line.show("2 done")
    line.close()
    assert stream.getvalue() == ("\r\x1b[2K1 done" "\r\x1b[2Km2 FAILED\n1 done" "\r\x1b[2K2 done"
                                 "\r\x1b[2K2 done\n")
