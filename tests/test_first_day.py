"""The runbook team's first day with supadeploy, end to end, as they would type it (issue 15).

An existing repository with backend/migrations/001...005 (idempotent DO blocks, `-- Rollback:` headers,
`auth.uid()` policies) and a database where 001-003 were applied by hand with psql. The team runs `init`, is
stopped from re-running what exists and pointed at `baseline`, adopts 001-003, pushes 004-005, writes types,
fixes a comment, tries a real edit of an applied file, sets up staging and production, promotes, and rolls back —
checking `status` as they go. Every step asserts what the user reads and what the databases hold.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.cli import Outcome, invoke
from tests.support.inspect import history_rows, scalar, tables
from tests.support.psql import apply_with_psql

JOBS_TYPE = re.compile(r'\bjobs"?: \{')  # CLI 2.x writes `jobs: {`, CLI 3.x `"jobs": {`
HEADER = """\
-- Migration: {name}
-- Purpose: {purpose}
-- Date: 2026-01-0{day}
-- Author: dana
-- Breaking Changes: none
-- Rollback: {rollback}
"""

RUNBOOK = {
    "001_initial_schema.sql": (
        "users and trades", "DROP TABLE IF EXISTS public.trades; DROP TABLE IF EXISTS public.users;",
        "create table if not exists public.users (\n  id uuid primary key references auth.users (id),\n"
        "  email text not null\n);\n"
        "create table if not exists public.trades (\n  id bigint generated always as identity primary key,\n"
        "  user_id uuid not null references public.users (id),\n  symbol text not null\n);\n"),
    "002_rls_policies.sql": (
        "row level security on every table", "DROP POLICY IF EXISTS \"own trades\" ON public.trades;",
        "alter table public.users enable row level security;\nalter table public.trades enable row level security;\n"
        "do $$\nbegin\n  if not exists (select 1 from pg_policies where tablename = 'trades'\n"
        "                 and policyname = 'own trades') then\n"
        "    create policy \"own trades\" on public.trades for select to authenticated\n"
        "      using ((select auth.uid()) = user_id);\n  end if;\nend\n$$;\n"
        "grant select on public.trades to authenticated;\n"),
    "003_notes.sql": (
        "notes per user", "DROP TABLE IF EXISTS public.notes;",
        "create table if not exists public.notes (\n  id bigint generated always as identity primary key,\n"
        "  user_id uuid not null references public.users (id),\n  body text not null default ''\n);\n"
        "alter table public.notes enable row level security;\n"),
    "004_add_robinhood_user_id.sql": (
        "the broker's user id", "ALTER TABLE public.users DROP COLUMN IF EXISTS robinhood_user_id;",
        "do $$\nbegin\n  if not exists (select 1 from information_schema.columns where table_schema = 'public'\n"
        "                 and table_name = 'users' and column_name = 'robinhood_user_id') then\n"
        "    alter table public.users add column robinhood_user_id text;\n  end if;\nend\n$$;\n"),
    "005_jobs.sql": (
        "background jobs", "DROP TABLE IF EXISTS public.jobs;",
        "create table if not exists public.jobs (\n  id bigint generated always as identity primary key,\n"
        "  user_id uuid not null references public.users (id),\n  payload jsonb not null default '{}'\n);\n"
        "alter table public.jobs enable row level security;\n"
        "do $$\nbegin\n  if not exists (select 1 from pg_policies where tablename = 'jobs'\n"
        "                 and policyname = 'own jobs') then\n"
        "    create policy \"own jobs\" on public.jobs for all to authenticated\n"
        "      using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);\n  end if;\n"
        "end\n$$;\n"),
}


def write_runbook_repository(root: Path) -> Path:
    folder = root / "backend" / "migrations"
    folder.mkdir(parents=True)
    for day, (name, (purpose, rollback, sql)) in enumerate(RUNBOOK.items(), start=1):
        header = HEADER.format(name=name.removesuffix(".sql"), purpose=purpose, day=day, rollback=rollback)
        (folder / name).write_text(header + sql, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return folder


def run(root: Path, *args: str, env: dict[str, str] | None = None) -> Outcome:
    return invoke(*args, "--workdir", str(root), env=env, after_push=True)


def status_of(root: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    outcome = run(root, "status", "--no-verify", "--json", env=env)
    environments: list[dict[str, Any]] = json.loads(outcome.stdout)["environments"]
    assert len(environments) == 1
    return environments[0]


def test_the_first_day(tmp_path: Path, make_db: Callable[[], str], pg_admin_url: str) -> None:
    root = tmp_path / "portfolio"
    folder = write_runbook_repository(root)
    local, staging, production = make_db(), make_db(), make_db()
    for name in ("001_initial_schema.sql", "002_rls_policies.sql", "003_notes.sql"):  # the old runbook: psql -f
        assert apply_with_psql(local, folder / name).returncode == 0

    # init finds backend/migrations; the team points local at its database and asks for types.
    initialised = invoke("init", "--workdir", str(root))
    assert initialised.exit_code == 0, initialised.output
    assert "found 5 migration(s) in backend/migrations/" in initialised.stdout
    config = root / "supadeploy.toml"
    text = config.read_text(encoding="utf-8")
    text = text.replace('db_url = "postgresql://postgres:postgres@127.0.0.1:54322/postgres"', f'db_url = "{local}"')
    text = text.replace('# typescript = "src/lib/database.types.ts"', 'typescript = "web/database.types.ts"')
    config.write_text(text, encoding="utf-8")
    (root / "web").mkdir()
    types_file = root / "web" / "database.types.ts"

    # The database was migrated by hand: push stops before re-running 001-003, and says how to adopt it.
    assert status_of(root)["pending"] == ["001", "002", "003", "004", "005"]
    refused = run(root, "push", "--yes")
    assert refused.exit_code == 1, refused.output
    assert "supadeploy baseline --to" in refused.stderr and "users" in refused.stderr
    assert history_rows(local) == []
    assert "robinhood_user_id" not in str(scalar(local, "select array_agg(column_name::text) from "
                                                       "information_schema.columns where table_name = 'users'"))

    adopted = run(root, "baseline", "--to", "003", "--shadow-url", pg_admin_url)
    assert adopted.exit_code == 0, adopted.output
    assert [row[0] for row in history_rows(local)] == ["001", "002", "003"]
    assert status_of(root)["pending"] == ["004", "005"]

    pushed = run(root, "push", "--yes")
    assert pushed.exit_code == 0, pushed.output
    assert "Applied 2 migration(s)" in pushed.stdout
    assert [row[0] for row in history_rows(local)] == ["001", "002", "003", "004", "005"]
    assert JOBS_TYPE.search(types_file.read_text(encoding="utf-8"))
    now = status_of(root)
    assert now["pending"] == [] and now["drifted"] == [] and now["stale_types"] == []

    # The runbook's "update the models" step: SQLAlchemy models, never over the team's hand-written file.
    app = root / "backend" / "app"
    app.mkdir()
    (app / "models.py").write_text("# our hand-written models\n", encoding="utf-8")
    refused_models = run(root, "types", "--lang", "sqlalchemy", "--out", str(app / "models.py"))
    assert refused_models.exit_code != 0 and "--force" in refused_models.stderr, refused_models.output
    assert (app / "models.py").read_text(encoding="utf-8") == "# our hand-written models\n"
    models = run(root, "types", "--lang", "sqlalchemy", "--out", str(app / "db_models.py"))
    assert models.exit_code == 0, models.output
    generated = (app / "db_models.py").read_text(encoding="utf-8")
    assert generated.startswith("# Generated by supadeploy types --lang sqlalchemy")
    assert "class Trades(Base):" in generated and "Mapped[" in generated
    assert now["last_deploy"]["command"] == "push"

    # Fixing only a -- Rollback: comment (as `check` asks) is not drift.
    rls = folder / "002_rls_policies.sql"
    rls.write_text(rls.read_text(encoding="utf-8").replace(
        '-- Rollback: DROP POLICY IF EXISTS "own trades" ON public.trades;',
        '-- Rollback: DROP POLICY IF EXISTS "own trades" ON public.trades; -- and revoke the grant'),
        encoding="utf-8")
    comment_only = run(root, "push", "--yes")
    assert comment_only.exit_code == 0, comment_only.output
    assert "002_rls_policies.sql" in comment_only.output and "comments" in comment_only.output

    # A real edit of an applied file is refused, naming every way out.
    notes = folder / "003_notes.sql"
    original = notes.read_text(encoding="utf-8")
    notes.write_text(original.replace("body text not null default ''", "body text"), encoding="utf-8")
    edited = run(root, "push", "--yes")
    assert edited.exit_code == 1
    for remedy in ("--allow-drift", "supadeploy repair", "new migration"):
        assert remedy in edited.stderr, edited.stderr
    assert status_of(root)["drifted"] == ["003_notes.sql"]
    notes.write_text(original, encoding="utf-8")

    # Staging and production: URLs from the environment, production protected; promote what staging ran.
    environment = {"STAGING_DB_URL": staging, "PRODUCTION_DB_URL": production}
    to_staging = run(root, "push", "--env", "staging", "--yes", env=environment)
    assert to_staging.exit_code == 0, to_staging.output
    promoted = run(root, "promote", "staging", "production", "--yes", env=environment)
    assert promoted.exit_code == 0, promoted.output
    assert [row[0] for row in history_rows(production)] == ["001", "002", "003", "004", "005"]
    backups = list((root / ".supadeploy" / "backups").glob("production-*"))
    assert backups and oct(backups[0].stat().st_mode & 0o777) == "0o600"
    assert "jobs" in tables(production)

    # Rolling local back to 004 runs 005's -- Rollback: header, is logged, and rewrites the types.
    rolled = run(root, "rollback", "--to", "004", "--yes")
    assert rolled.exit_code == 0, rolled.output
    assert "jobs" not in tables(local)
    assert [row[0] for row in history_rows(local)] == ["001", "002", "003", "004"]
    assert not JOBS_TYPE.search(types_file.read_text(encoding="utf-8"))
    history = json.loads(run(root, "history", "--json").stdout)
    assert history["deployments"][0]["command"] == "rollback"
    assert history["deployments"][0]["versions_applied"] == ["005"]
    final = status_of(root)
    assert final["pending"] == ["005"] and final["stale_types"] == []
