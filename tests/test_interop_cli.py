"""supadeploy and the real Supabase CLI 2.117.0 share one history table, in both directions."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.support.cli import invoke
from tests.support.databases import cli_url
from tests.support.inspect import history_rows, tables

pytestmark = pytest.mark.cli

CORPUS = REPO_ROOT / "tests" / "corpus" / "interop"
EXAMPLE = REPO_ROOT / "supabase" / "migrations"


def copy_files(sources: list[Path], project: Path) -> None:
    for source in sources:
        shutil.copy(source, project / "supabase" / "migrations" / source.name)


def all_files() -> list[Path]:
    return sorted(EXAMPLE.glob("*.sql")) + sorted(CORPUS.glob("*.sql"))


def supabase(cli: str, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([cli, *args], cwd=project, capture_output=True, text=True, timeout=180, input="y\n")


def listed_versions(output: str) -> list[tuple[str, str]]:
    """(local, remote) pairs from `supabase migration list`."""
    pairs = []
    for line in output.splitlines():
        cells = [c.strip().strip("`") for c in line.split("|")]
        if len(cells) == 3 and re.fullmatch(r"\d*", cells[0]) and re.fullmatch(r"\d*", cells[1]) and \
                (cells[0] or cells[1]):
            pairs.append((cells[0], cells[1]))
    return pairs


def test_cli_sees_a_supadeploy_push_as_complete(supabase_cli: str, project_dir: Path, db_url: str) -> None:
    copy_files(all_files(), project_dir)
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url", db_url)
    assert outcome.exit_code == 0, outcome.output

    listing = supabase(supabase_cli, project_dir, "migration", "list", "--db-url", cli_url(db_url))
    assert listing.returncode == 0, listing.stderr
    versions = [path.name.split("_", 1)[0] for path in all_files()]
    assert listed_versions(listing.stdout) == [(v, v) for v in versions]

    dry_run = supabase(supabase_cli, project_dir, "db", "push", "--dry-run", "--db-url", cli_url(db_url))
    assert dry_run.returncode == 0, dry_run.stderr
    assert "Remote database is up to date." in dry_run.stdout + dry_run.stderr


def test_supadeploy_continues_after_a_partial_cli_push(supabase_cli: str, project_dir: Path, db_url: str) -> None:
    files = all_files()
    copy_files(files[:4], project_dir)
    cli_push = supabase(supabase_cli, project_dir, "db", "push", "--yes", "--db-url", cli_url(db_url))
    assert cli_push.returncode == 0, cli_push.stderr
    assert [row[0] for row in history_rows(db_url)] == [p.name.split("_", 1)[0] for p in files[:4]]

    copy_files(files[4:], project_dir)
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url", db_url, "--json")
    assert outcome.exit_code == 0, outcome.output
    applied = [a["version"] for a in outcome.json()["result"]["applied"]]
    assert applied == [p.name.split("_", 1)[0] for p in files[4:]]
    assert {"users", "diary", "Odd;Name"} <= set(tables(db_url))


def test_both_tools_write_identical_history(supabase_cli: str, project_dir: Path, make_db) -> None:  # type: ignore[no-untyped-def]
    copy_files(all_files(), project_dir)
    by_cli, by_supadeploy = make_db(), make_db()
    cli_push = supabase(supabase_cli, project_dir, "db", "push", "--yes", "--db-url", cli_url(by_cli))
    assert cli_push.returncode == 0, cli_push.stderr
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url", by_supadeploy)
    assert outcome.exit_code == 0, outcome.output

    cli_rows, our_rows = history_rows(by_cli), history_rows(by_supadeploy)
    assert len(cli_rows) == len(all_files())
    assert our_rows == cli_rows
    history_table = "supabase_migrations.schema_migrations"  # the deploy log table sits beside it
    assert schema_dump(by_cli, history_table) == schema_dump(by_supadeploy, history_table)
    assert schema_dump(by_cli, "public") == schema_dump(by_supadeploy, "public")


def test_cli_continues_after_a_partial_supadeploy_push(supabase_cli: str, project_dir: Path, db_url: str) -> None:
    files = all_files()
    copy_files(files[:6], project_dir)
    assert invoke("push", "--workdir", str(project_dir), "--db-url", db_url).exit_code == 0
    copy_files(files[6:], project_dir)
    cli_push = supabase(supabase_cli, project_dir, "db", "push", "--yes", "--db-url", cli_url(db_url))
    assert cli_push.returncode == 0, cli_push.stderr
    for path in files[6:]:
        assert f"Applying migration {path.name}" in cli_push.stdout + cli_push.stderr
    for path in files[:6]:
        assert f"Applying migration {path.name}" not in cli_push.stdout + cli_push.stderr
    assert len(history_rows(db_url)) == len(files)


def schema_dump(url: str, schema_or_table: str) -> str:
    pg_dump = shutil.which("pg_dump")
    assert pg_dump, "pg_dump is needed to compare schemas"
    selector = "-t" if "." in schema_or_table else "-n"
    dump = subprocess.run([pg_dump, "--schema-only", "--no-owner", selector, schema_or_table, "-d", url],
                          capture_output=True, text=True, check=True).stdout
    return "\n".join(line for line in dump.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))
