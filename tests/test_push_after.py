"""What push does around the apply: verify and types after it; on protected environments the gate and backup."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import psycopg

from supadeploy.fingerprint import diff_fingerprints, schema_fingerprint
from supadeploy.targets.postgres import PostgresTarget
from tests.conftest import REPO_ROOT
from tests.support import databases
from tests.support.cli import invoke, write_migration
from tests.support.inspect import history_rows, tables

SAFE_TABLE = "create table public.notes (id int primary key, body text);\n" \
             "alter table public.notes enable row level security;\n"


def push(project: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return invoke("push", "--workdir", str(project), *args, env=env, after_push=True)


def copy_example(project: Path) -> None:
    for path in sorted((REPO_ROOT / "supabase" / "migrations").glob("*.sql")):
        shutil.copy(path, project / "supabase" / "migrations" / path.name)


def test_example_project_push_verifies_clean_and_writes_types(project_dir: Path, db_url: str) -> None:
    copy_example(project_dir)
    (project_dir / "supadeploy.toml").write_text('[types]\ntypescript = "src/database.types.ts"\n'
                                                 'python = "backend/models.py"\n')
    for folder in ("src", "backend"):  # push never creates the folder of a types file
        (project_dir / folder).mkdir()
    first = push(project_dir, "--db-url", db_url)
    assert first.exit_code == 0, first.output
    assert "Verified RLS: 0 errors, 0 warnings, 0 info." in first.stdout
    assert "Types: 2 of 2 file(s) changed" in first.stdout
    types_file = project_dir / "src" / "database.types.ts"
    # the project pins no CLI: CLI 3's (quoted) keys, or CLI 2's when $SUPABASE_CLI or the PATH has CLI 2
    assert re.search(r'"?rolled_options_jobs"?: \{', types_file.read_text())
    assert "class " in (project_dir / "backend" / "models.py").read_text()
    mtime = types_file.stat().st_mtime_ns
    again = push(project_dir, "--db-url", db_url, "--json")
    document = again.json()
    assert again.exit_code == 0 and document["ok"] is True
    assert [t["changed"] for t in document["types"]] == [False, False]
    assert types_file.stat().st_mtime_ns == mtime
    assert document["verify"]["summary"]["error"] == 0


def test_verify_failure_after_apply_exits_non_zero_and_says_so(project_dir: Path, db_url: str) -> None:
    path = write_migration(project_dir, "001_open.sql", "create table public.open_data (id int, secret text);\n"
                                                        "grant select on public.open_data to anon;\n")
    outcome = push(project_dir, "--db-url", db_url)
    assert outcome.exit_code == 3
    assert "the migrations were applied, but verification found" in outcome.stderr
    assert "Verification FAILED" in outcome.stdout
    assert "open_data" in outcome.stdout
    assert f"{path.relative_to(project_dir)}:1" in outcome.stdout or f"{path}:1" in outcome.stdout
    assert [row[0] for row in history_rows(db_url)] == ["001"]  # applied, and reported as such
    assert push(project_dir, "--db-url", db_url, "--fail-on", "none").exit_code == 0
    assert push(project_dir, "--db-url", db_url, "--no-verify").exit_code == 0


def test_dry_run_shows_lint_findings_of_pending_migrations(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_t.sql", SAFE_TABLE)
    write_migration(project_dir, "002_drop.sql", "drop table public.notes;\n")
    outcome = push(project_dir, "--db-url", db_url, "--dry-run")
    assert outcome.exit_code == 0, outcome.output
    assert "Lint findings in pending migrations:" in outcome.stdout
    assert "002_drop.sql:1:1: error SD201" in outcome.stdout
    assert tables(db_url) == []
    document = push(project_dir, "--db-url", db_url, "--dry-run", "--json").json()
    assert "SD201" in [f["code"] for f in document["lint"]]


def protected(project: Path) -> dict[str, str]:
    (project / "supadeploy.toml").write_text('[environments.production]\ndb_url_env = "SD_PROD_URL"\n'
                                             'protected = true\n')
    return {}


def test_protected_environment_refuses_destructive_then_allows_with_flag_and_backs_up(
        project_dir: Path, db_url: str, pg_admin_url: str) -> None:
    protected(project_dir)
    env = {"SD_PROD_URL": db_url}
    write_migration(project_dir, "001_t.sql", SAFE_TABLE + "insert into public.notes values (1, 'kept');\n")
    assert push(project_dir, "--env", "production", "--yes", env=env).exit_code == 0
    drop = write_migration(project_dir, "002_drop_body.sql", "alter table public.notes drop column body;\n")

    refused = push(project_dir, "--env", "production", "--yes", env=env)
    assert refused.exit_code == 1
    assert "pending migrations are destructive" in refused.stderr
    assert f"{drop.relative_to(project_dir)}:1:" in refused.stderr and "SD202" in refused.stderr
    assert [row[0] for row in history_rows(db_url)] == ["001"]

    allowed = push(project_dir, "--env", "production", "--yes", "--allow-destructive", "--json", env=env)
    assert allowed.exit_code == 0, allowed.output
    backup = allowed.json()["backup"]
    assert backup["kind"] == "pg_dump"
    backup_file = Path(backup["location"])
    assert backup_file.is_file() and backup_file.parent == project_dir / ".supadeploy" / "backups"
    assert backup_file.name.startswith("production-") and "postgres" not in backup_file.name

    # The backup restores into a scratch database as the database was before the destructive migration.
    scratch = databases.create_empty_database(pg_admin_url)
    try:
        assert_restores_to_the_state_before(backup_file, scratch, db_url)
    finally:
        databases.drop_database(pg_admin_url, scratch)
    runs = invoke("history", "--db-url", db_url, "--workdir", str(project_dir), "--json").json()["deployments"]
    assert runs[0]["backup_location"] == str(backup_file)


def assert_restores_to_the_state_before(backup_file: Path, scratch: str, db_url: str) -> None:
    restored = subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "-d", scratch, str(backup_file)],
                              capture_output=True, text=True)
    assert restored.returncode == 0, restored.stderr
    with psycopg.connect(scratch) as conn:
        assert conn.execute("select body from public.notes").fetchall() == [("kept",)]
    before_drop, after_drop = PostgresTarget(scratch), PostgresTarget(db_url)
    try:
        differences = diff_fingerprints(schema_fingerprint(before_drop, ["public"]),
                                        schema_fingerprint(after_drop, ["public"]))
    finally:
        before_drop.close()
        after_drop.close()
    assert differences and all("body" in str(d) for d in differences)


def test_protected_environment_refuses_lint_errors_and_dirty_git(project_dir: Path, db_url: str) -> None:
    (project_dir / "supadeploy.toml").write_text(
        '[push]\nrequire_clean_git = true\n[environments.production]\ndb_url_env = "SD_PROD_URL"\n'
        'protected = true\n')
    env = {"SD_PROD_URL": db_url}
    write_migration(project_dir, "001_open.sql", "create table public.open_data (id int);\n")
    refused = push(project_dir, "--env", "production", "--yes", "--no-backup", env=env)
    assert refused.exit_code == 1
    assert "pending migrations have lint errors" in refused.stderr and "SD401" in refused.stderr

    (project_dir / "supabase" / "migrations" / "001_open.sql").write_text(SAFE_TABLE)
    subprocess.run(["git", "init", "-q"], cwd=project_dir, check=True)
    subprocess.run(["git", "add", "."], cwd=project_dir, check=True)
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "init"],
                   cwd=project_dir, check=True)
    (project_dir / "supabase" / "migrations" / "001_open.sql").write_text(SAFE_TABLE + "-- edited\n")
    dirty = push(project_dir, "--env", "production", "--yes", "--no-backup", env=env)
    assert dirty.exit_code == 1
    assert "git work tree has uncommitted changes: supabase/migrations/001_open.sql" in dirty.stderr
    subprocess.run(["git", "checkout", "--", "."], cwd=project_dir, check=True)
    clean = push(project_dir, "--env", "production", "--yes", "--no-backup", env=env)
    assert clean.exit_code == 0, clean.output
    assert tables(db_url) == ["notes"]
