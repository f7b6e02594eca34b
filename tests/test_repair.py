"""supadeploy repair: the same semantics and the same table changes as `supabase migration repair` (real CLI)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import invoke, write_migration
from tests.support.databases import cli_url
from tests.support.inspect import history_rows
from tests.test_interop_cli import supabase

pytestmark = pytest.mark.cli


def listed_versions(output: str) -> list[tuple[str, str]]:
    """(local, remote) pairs from `supabase migration list` (an empty cell is printed as ` `)."""
    pairs = []
    for line in output.splitlines():
        cells = [c.strip().strip("`").strip() for c in line.split("|")]
        if len(cells) == 3 and all(c.isdigit() or not c for c in cells[:2]) and (cells[0] or cells[1]):
            pairs.append((cells[0], cells[1]))
    return pairs


def files(project: Path) -> None:
    write_migration(project, "001_users.sql", "-- users\nCREATE TABLE IF NOT EXISTS public.u (id int);\nSELECT 1;\n")
    write_migration(project, "002_more.sql", "CREATE TABLE IF NOT EXISTS public.m (id int);\n")
    write_migration(project, "003_last.sql", "SELECT 3;\n")


def test_same_table_changes_as_the_supabase_cli(supabase_cli: str, project_dir: Path,
                                                make_db: Callable[[], str]) -> None:
    files(project_dir)
    ours, theirs = make_db(), make_db()

    def both(*args: str) -> None:
        mine = invoke("repair", *args, "--yes", "--workdir", str(project_dir), "--db-url", ours)
        assert mine.exit_code == 0, mine.output
        cli = supabase(supabase_cli, project_dir, "migration", "repair", *args, "--yes", "--db-url", cli_url(theirs))
        assert cli.returncode == 0, cli.stderr
        assert history_rows(ours) == history_rows(theirs), args

    both("001", "003", "--status", "applied")          # creates the history table, writes two rows
    assert [row[0] for row in history_rows(ours)] == ["001", "003"]
    write_migration(project_dir, "001_users.sql", "CREATE TABLE IF NOT EXISTS public.u (id bigint);\n")
    both("001", "--status", "applied")                 # replaces the row with the edited file's statements
    assert history_rows(ours)[0] == ("001", "users", ["CREATE TABLE IF NOT EXISTS public.u (id bigint)"])
    both("003", "009", "--status", "reverted")         # deletes; unknown versions are ignored
    both("--status", "reverted")                       # no version: empties the history
    assert history_rows(ours) == []
    both("002", "--status", "applied")
    both("--status", "applied")                        # no version: exactly one row per local file
    assert [row[0] for row in history_rows(ours)] == ["001", "002", "003"]


def test_refusals_match_the_cli_and_write_nothing(supabase_cli: str, project_dir: Path, db_url: str) -> None:
    files(project_dir)
    missing = invoke("repair", "001", "009", "--status", "applied", "--workdir", str(project_dir), "--db-url", db_url)
    assert missing.exit_code == 1
    assert missing.stderr.splitlines()[0] == "error: no local migration file for version(s) 009"
    cli = supabase(supabase_cli, project_dir, "migration", "repair", "001", "009", "--status", "applied",
                   "--db-url", cli_url(db_url))
    assert cli.returncode != 0 and "009_*.sql: file does not exist" in cli.stderr
    assert history_rows(db_url) == []
    bad = invoke("repair", "abc", "--status", "reverted", "--workdir", str(project_dir), "--db-url", db_url)
    assert bad.exit_code == 1
    assert bad.stderr.splitlines()[0] == "error: 'abc' is not a migration version: versions are digits only"
    status = invoke("repair", "001", "--status", "done", "--workdir", str(project_dir), "--db-url", db_url)
    assert status.exit_code == 2
    whole = invoke("repair", "--status", "reverted", "--workdir", str(project_dir), "--db-url", db_url)
    assert whole.exit_code == 1 and "pass --yes" in whole.stderr


def test_supabase_migration_list_sees_the_repair(supabase_cli: str, project_dir: Path, db_url: str) -> None:
    files(project_dir)
    outcome = invoke("repair", "001", "002", "--status", "applied", "--workdir", str(project_dir), "--db-url", db_url)
    assert outcome.exit_code == 0, outcome.output
    assert outcome.stdout.strip() == "Repaired migration history: [001 002] => applied"
    listing = supabase(supabase_cli, project_dir, "migration", "list", "--db-url", cli_url(db_url))
    assert listing.returncode == 0, listing.stderr
    assert listed_versions(listing.stdout) == [("001", "001"), ("002", "002"), ("003", "")]
    reverted = invoke("repair", "002", "--status", "reverted", "--workdir", str(project_dir), "--db-url", db_url,
                      "--json")
    assert reverted.json()["rows_deleted"] == 1
    listing = supabase(supabase_cli, project_dir, "migration", "list", "--db-url", cli_url(db_url))
    assert listed_versions(listing.stdout) == [("001", "001"), ("002", ""), ("003", "")]
