"""Backups of protected environments cannot leak: 0600 files in a 0700 folder git never tracks, the password never
on pg_dump's command line, a held table lock that stops the backup in seconds, old backups pruned."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from supadeploy.backup import PgDumpRequest, pg_dump_backup
from supadeploy.errors import SupadeployError
from tests.support.cli import invoke, write_migration
from tests.support.inspect import history_rows
from tests.support.secret_scan import register_secret

REAL_PG_DUMP = "/usr/lib/postgresql/15/bin/pg_dump"
PASSWORD = "Sh1m-pg-dump-secret"
SAFE_TABLE = "create table public.notes (id int primary key, body text);\n" \
             "alter table public.notes enable row level security;\n"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def protected_project(project: Path, push_settings: str = "") -> None:
    (project / "supadeploy.toml").write_text(
        f"[push]\n{push_settings}\n[environments.production]\ndb_url_env = \"SD_PROD_DB_URL\"\nprotected = true\n")
    write_migration(project, "001_notes.sql", SAFE_TABLE)


def push_production(project: Path, url: str, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return invoke("push", "--env", "production", "--yes", "--workdir", str(project), *args,
                  env={"SD_PROD_DB_URL": url, **(env or {})})


def git(project: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=project, check=True, capture_output=True, text=True).stdout


def test_backup_is_written_0600_in_a_0700_folder_whatever_the_umask(
        project_dir: Path, db_url: str, umask_022: None) -> None:
    protected_project(project_dir)
    outcome = push_production(project_dir, db_url, "--json")
    assert outcome.exit_code == 0, outcome.output
    backup_file = Path(outcome.json()["backup"]["location"])
    assert backup_file.parent == project_dir / ".supadeploy" / "backups"
    assert mode_of(backup_file) == 0o600
    assert mode_of(backup_file.parent) == 0o700
    assert mode_of(project_dir / ".supadeploy") == 0o700
    assert f"backup: pg_dump of environment 'production' into {backup_file} ..." in outcome.stderr
    # The folder ignores itself, so a project that never ran `supadeploy init` does not commit it either.
    assert (project_dir / ".supadeploy" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_a_backup_folder_others_can_read_is_made_private_with_a_note(
        project_dir: Path, db_url: str, umask_022: None) -> None:
    protected_project(project_dir)
    folder = project_dir / ".supadeploy" / "backups"
    folder.mkdir(parents=True, mode=0o755)
    folder.chmod(0o755)
    old_backup = folder / "production-20200101T000000Z.dump"
    old_backup.write_bytes(b"PGDMP")
    old_backup.chmod(0o644)
    outcome = push_production(project_dir, db_url)
    assert outcome.exit_code == 0, outcome.output
    assert mode_of(folder) == 0o700 and mode_of(old_backup) == 0o600
    assert (f"note: backup folder {folder} was readable by other users (mode 0755): made it 0700 and 1 backup "
            "file(s) in it 0600") in outcome.stderr


def test_a_backup_git_would_track_is_refused_before_anything_is_applied(project_dir: Path, db_url: str) -> None:
    protected_project(project_dir, 'backup_dir = "db-backups"')
    git(project_dir, "init", "-q")
    refused = push_production(project_dir, db_url)
    assert refused.exit_code == 1
    folder = project_dir / "db-backups"
    assert (f"refusing to write a backup into {folder}: it is inside the git work tree {project_dir} and git does "
            "not ignore it, so `git add -A` would commit production data") in refused.stderr
    assert (f"add db-backups/ to {project_dir / '.gitignore'}, or set [push] backup_dir in supadeploy.toml to a "
            "folder outside the repository") in refused.stderr
    assert history_rows(db_url) == [] and list(folder.iterdir()) == []

    (project_dir / ".gitignore").write_text("db-backups/\n")
    allowed = push_production(project_dir, db_url)
    assert allowed.exit_code == 0, allowed.output
    assert len(list(folder.glob("production-*.dump"))) == 1


def test_the_default_backup_folder_never_reaches_git_add_all(project_dir: Path, db_url: str) -> None:
    protected_project(project_dir)
    git(project_dir, "init", "-q")
    outcome = push_production(project_dir, db_url)
    assert outcome.exit_code == 0, outcome.output
    assert list((project_dir / ".supadeploy" / "backups").glob("production-*.dump"))
    staged = git(project_dir, "add", "--all", "--dry-run").splitlines()
    assert staged and not [line for line in staged if ".supadeploy" in line]


def test_init_adds_the_work_folder_to_gitignore_once_keeping_what_is_there(project_dir: Path) -> None:
    gitignore = project_dir / ".gitignore"
    gitignore.write_text("node_modules/\n*.log")  # no newline at the end
    first = invoke("init", "--workdir", str(project_dir))
    assert first.exit_code == 0, first.output
    assert f"added .supadeploy/ to {gitignore} (backups hold production data)" in first.stdout
    second = invoke("init", "--workdir", str(project_dir))
    assert second.exit_code == 0 and f"{gitignore} already ignores .supadeploy/" in second.stdout
    lines = gitignore.read_text().splitlines()
    assert lines[:2] == ["node_modules/", "*.log"] and lines.count(".supadeploy/") == 1

    fresh = project_dir / "fresh"
    fresh.mkdir()
    assert invoke("init", "--workdir", str(fresh)).exit_code == 0
    assert (fresh / ".gitignore").read_text().splitlines()[-1] == ".supadeploy/"


def test_keep_backups_prunes_the_oldest_of_that_environment_only(project_dir: Path, db_url: str) -> None:
    protected_project(project_dir, "keep_backups = 2")
    folder = project_dir / ".supadeploy" / "backups"
    folder.mkdir(parents=True)
    older = [folder / f"production-2020010{day}T000000Z.dump" for day in (1, 2, 3)]
    others = [folder / "production-eu-20200101T000000Z.dump", folder / "staging-20200101T000000Z.dump",
              folder / "notes.txt"]
    for path in older + others:
        path.write_bytes(b"PGDMP")
    outcome = push_production(project_dir, db_url, "--json")
    assert outcome.exit_code == 0, outcome.output
    new_backup = Path(outcome.json()["backup"]["location"])
    assert sorted(folder.glob("production-2*.dump")) == [older[2], new_backup]
    assert all(path.exists() for path in others)
    assert "backup: removed production-20200101T000000Z.dump ([push] keep_backups = 2)" in outcome.stderr


@pytest.mark.parametrize(("setting", "message"), [
    ("keep_backups = 0", "'keep_backups' in [push] must be 1 or more, not 0"),
    ('keep_backups = "5"', "'keep_backups' in [push] must be a whole number"),
    ("keep_backups = true", "'keep_backups' in [push] must be a whole number"),
])
def test_keep_backups_must_be_a_positive_whole_number(project_dir: Path, setting: str, message: str) -> None:
    protected_project(project_dir, setting)
    outcome = invoke("push", "--dry-run", "--env", "production", "--workdir", str(project_dir),
                     env={"SD_PROD_DB_URL": "postgresql://postgres@127.0.0.1:5432/postgres"})
    assert outcome.exit_code == 1
    assert f"supadeploy.toml:2: {message}" in outcome.stderr


@pytest.fixture
def pg_dump_shim(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A pg_dump first on PATH that records its argv and the NAMES of its environment, then runs the real one."""
    folder, log = tmp_path / "shim", tmp_path / "pg_dump_calls.jsonl"
    folder.mkdir()
    shim = folder / "pg_dump"
    shim.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(log)!r}, 'a') as log:\n"
        "    log.write(json.dumps({'argv': sys.argv[1:], 'env': sorted(os.environ)}) + '\\n')\n"
        f"os.execv({REAL_PG_DUMP!r}, [{REAL_PG_DUMP!r}, *sys.argv[1:]])\n")
    shim.chmod(0o755)
    yield folder, log


def dump_calls(log: Path) -> list[dict[str, list[str]]]:
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    return [call for call in calls if call["argv"] != ["--version"]]


def url_forms(db_url: str) -> dict[str, str]:
    parts = urlsplit(db_url)
    database, port = parts.path, parts.port
    return {
        "user-password": f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}{database}",
        "query-password": f"postgresql://postgres@127.0.0.1:{port}{database}?password={PASSWORD}&sslmode=disable",
        "percent-encoded": f"postgresql://postgres:{PASSWORD.replace('-', '%2D')}%40x@127.0.0.1:{port}{database}",
        "postgres-scheme": urlunsplit(("postgres", f"postgres:{PASSWORD}@127.0.0.1:{port}", database, "", "")),
    }


@pytest.mark.parametrize("form", ["user-password", "query-password", "percent-encoded", "postgres-scheme"])
def test_pg_dump_never_gets_the_password_on_its_command_line(
        project_dir: Path, db_url: str, pg_dump_shim: tuple[Path, Path], form: str) -> None:
    register_secret(PASSWORD)
    register_secret(f"{PASSWORD}@x")
    shim_folder, log = pg_dump_shim
    protected_project(project_dir)
    url = url_forms(db_url)[form]
    outcome = push_production(project_dir, url, env={"PATH": f"{shim_folder}:{os.environ['PATH']}"})
    assert outcome.exit_code == 0, outcome.output
    (call,) = dump_calls(log)
    assert not [argument for argument in call["argv"] if PASSWORD in argument or PASSWORD.replace("-", "%2D")
                in argument]
    assert "PGPASSWORD" in call["env"]
    dbname = next(argument for argument in call["argv"] if argument.startswith("--dbname="))
    assert "password" not in dbname and f"dbname={urlsplit(db_url).path.lstrip('/')}" in dbname


def test_a_unix_socket_url_reaches_pg_dump_without_its_password(
        tmp_path: Path, pg_dump_shim: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    register_secret(PASSWORD)
    shim_folder, log = pg_dump_shim
    monkeypatch.setenv("PATH", f"{shim_folder}:{os.environ['PATH']}")
    socket_folder = tmp_path / "no-server-here"
    socket_folder.mkdir()
    url = f"postgresql://postgres:{PASSWORD}@/app?host={socket_folder}"
    request = PgDumpRequest(url=url, server_major=15, workdir=tmp_path, backup_dir=Path("backups"),
                            environment="production")
    with pytest.raises(SupadeployError) as failed:
        pg_dump_backup(request)
    assert "the backup with pg_dump failed" in failed.value.what and PASSWORD not in failed.value.render()
    (call,) = dump_calls(log)
    assert f"--dbname=user=postgres dbname=app host={socket_folder}" in call["argv"]
    assert not [argument for argument in call["argv"] if PASSWORD in argument] and "PGPASSWORD" in call["env"]
    assert list((tmp_path / "backups").iterdir()) == []  # the failed backup's file is removed


def test_a_table_lock_held_elsewhere_stops_the_backup_in_seconds_naming_the_holder(
        project_dir: Path, db_url: str) -> None:
    protected_project(project_dir, 'lock_timeout = "1s"')
    assert push_production(project_dir, db_url).exit_code == 0
    write_migration(project_dir, "002_more.sql", "alter table public.notes add column extra text;\n")
    holder = psycopg.connect(db_url, application_name="nightly-report")
    try:
        holder.execute("begin")
        holder.execute("lock table public.notes in access exclusive mode")
        started = time.monotonic()
        outcome = push_production(project_dir, db_url)
        elapsed = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert outcome.exit_code == 1
    assert elapsed < 10
    assert ("the backup with pg_dump stopped: another session holds a lock on public.notes and pg_dump waited "
            "1000ms ([push] lock_timeout) for it; it is held by 'nightly-report' (pid ") in outcome.stderr
    assert "raise [push] lock_timeout to wait longer, or pass --no-backup" in outcome.stderr
    assert [row[0] for row in history_rows(db_url)] == ["001"]
    assert len(list((project_dir / ".supadeploy" / "backups").glob("*.dump"))) == 1  # the first push's only
