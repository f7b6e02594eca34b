"""A push the protected gate refuses (lint errors, destructive statements, a dirty tree, no confirmation, a backup
that cannot be written safely) is a row in the deploy log, as the README promises; it applied nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.cli import invoke, write_migration
from tests.support.inspect import history_rows

SAFE_TABLE = "create table public.notes (id int primary key, body text);\n" \
             "alter table public.notes enable row level security;\n"


def configure(project: Path, push_settings: str = "") -> None:
    (project / "supadeploy.toml").write_text(
        f"[push]\n{push_settings}\n[environments.production]\ndb_url_env = \"SD_PROD_DB_URL\"\nprotected = true\n")


def push_production(project: Path, url: str, *args: str):  # type: ignore[no-untyped-def]
    return invoke("push", "--env", "production", "--workdir", str(project), *args, env={"SD_PROD_DB_URL": url})


def deploy_log(project: Path, url: str) -> list[dict[str, object]]:
    outcome = invoke("history", "--json", "--db-url", url, "--workdir", str(project))
    assert outcome.exit_code == 0, outcome.output
    return list(reversed(outcome.json()["deployments"]))


def git(project: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=project, check=True,
                   capture_output=True)


def test_each_refusal_of_the_protected_gate_is_in_the_deploy_log(project_dir: Path, db_url: str) -> None:
    configure(project_dir)
    write_migration(project_dir, "001_notes.sql", SAFE_TABLE)
    assert push_production(project_dir, db_url, "--yes", "--no-backup").exit_code == 0
    refusals: list[str] = []

    lint = write_migration(project_dir, "002_open.sql", "create table public.open_data (id int);\n")
    refusals.append(push_production(project_dir, db_url, "--yes", "--no-backup").stderr)
    lint.unlink()

    drop = write_migration(project_dir, "002_drop.sql", "alter table public.notes drop column body;\n")
    refusals.append(push_production(project_dir, db_url, "--yes", "--no-backup").stderr)
    drop.unlink()

    write_migration(project_dir, "002_index.sql", "create index notes_body on public.notes (body);\n")
    refusals.append(push_production(project_dir, db_url, "--no-backup").stderr)  # no --yes, no terminal

    configure(project_dir, 'backup_dir = "db-backups"')
    git(project_dir, "init", "-q")
    refusals.append(push_production(project_dir, db_url, "--yes").stderr)  # the backup would be committed

    configure(project_dir, "require_clean_git = true")
    git(project_dir, "add", ".")
    git(project_dir, "commit", "-qm", "init")
    (project_dir / "supabase" / "migrations" / "002_index.sql").write_text(
        "-- edited\ncreate index notes_body on public.notes (body);\n")
    refusals.append(push_production(project_dir, db_url, "--yes", "--no-backup").stderr)

    assert [row[0] for row in history_rows(db_url)] == ["001"]
    runs = deploy_log(project_dir, db_url)
    assert [(run["status"], run["versions_applied"], run["environment"]) for run in runs] == \
        [("succeeded", ["001"], "production")] + [("failed", [], "production")] * 5
    expected = ["pending migrations have lint errors", "pending migrations are destructive",
                "environment 'production' is protected\n  pass --yes", "refusing to write a backup into",
                "git work tree has uncommitted changes"]
    for run, message, shown in zip(runs[1:], expected, refusals, strict=True):
        assert message in str(run["error"]) and message in shown
        assert run["finished_at"] is not None
