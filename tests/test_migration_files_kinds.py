"""Only regular files are migrations: a FIFO, socket, device or directory named like one is refused before anything
is read (a FIFO would block the push for ever), with the file named. A symlink to a regular file is fine."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import invoke, run_process, write_migration
from tests.support.inspect import history_rows, tables


def push(project: Path, url: str) -> tuple[int, str]:
    outcome = invoke("push", "--workdir", str(project), "--db-url", url)
    return outcome.exit_code, outcome.output


def test_a_fifo_is_refused_before_anything_is_read_or_applied(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    pipe = project_dir / "supabase" / "migrations" / "002_pipe.sql"
    os.mkfifo(pipe)
    try:  # as a real process: a regression would block on open(), and the timeout turns that into a failure
        outcome = run_process("push", "--workdir", str(project_dir), "--db-url", db_url, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("push blocked on the FIFO")
    assert outcome.exit_code == 1
    assert outcome.stderr.splitlines()[0] == (
        f"error: {pipe}: not a regular file but a named pipe (FIFO); nothing was read or applied")
    assert "replace it with a regular .sql file, or move it out of the migrations folder" in outcome.stderr
    assert "Traceback" not in outcome.output
    assert history_rows(db_url) == []
    assert tables(db_url) == []


def test_a_fifo_down_file_is_refused_too(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    os.mkfifo(project_dir / "supabase" / "migrations" / "001_a.down.sql")
    outcome = run_process("push", "--workdir", str(project_dir), "--db-url", db_url, "--json", timeout=30)
    assert outcome.exit_code == 1
    error = outcome.json()["error"]
    assert error["type"] == "MigrationFileError"
    assert error["message"] == "not a regular file but a named pipe (FIFO); nothing was read or applied"
    assert error["where"].endswith("supabase/migrations/001_a.down.sql")
    assert history_rows(db_url) == []


def test_a_directory_named_like_a_migration_is_refused(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    folder = project_dir / "supabase" / "migrations" / "002_folder.sql"
    folder.mkdir()
    exit_code, output = push(project_dir, db_url)
    assert exit_code == 1
    assert f"{folder}: not a regular file but a directory; nothing was read or applied" in output
    assert tables(db_url) == []


def test_a_socket_is_refused(project_dir: Path, db_url: str) -> None:
    migrations = project_dir / "supabase" / "migrations"
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(migrations / "002_socket.sql"))
    try:
        exit_code, output = push(project_dir, db_url)
    finally:
        server.close()
    assert exit_code == 1
    assert "002_socket.sql: not a regular file but a socket; nothing was read or applied" in output
    assert tables(db_url) == []


def test_a_character_device_is_refused(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    (project_dir / "supabase" / "migrations" / "002_null.sql").symlink_to("/dev/null")
    exit_code, output = push(project_dir, db_url)
    assert exit_code == 1
    assert "002_null.sql: not a regular file but a character device" in output
    assert tables(db_url) == []


def test_a_symlink_to_a_regular_file_is_a_migration(project_dir: Path, db_url: str, tmp_path: Path) -> None:
    target = tmp_path / "shared.sql"
    target.write_text("create table public.linked (id int);\n", encoding="utf-8")
    (project_dir / "supabase" / "migrations" / "001_linked.sql").symlink_to(target)
    (project_dir / "supabase" / "migrations" / "notes").mkdir()  # a folder not named like a migration is ignored
    exit_code, output = push(project_dir, db_url)
    assert exit_code == 0, output
    assert tables(db_url) == ["linked"]
    assert [row[0] for row in history_rows(db_url)] == ["001"]
