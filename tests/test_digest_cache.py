"""The statement-digest cache: a hit spares splitting a file, a changed file or splitter is a miss, a broken
cache is ignored; the drift check gives the same answers with or without it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supadeploy.migrations import digest_cache
from supadeploy.migrations.digest_cache import DigestCache
from supadeploy.migrations.files import discover_migrations
from supadeploy.migrations.history import statements_digest
from supadeploy.migrations.plan import build_plan
from supadeploy.migrations.splitter import split_statements
from supadeploy.targets.postgres import PostgresTarget
from tests.support.cli import Outcome, invoke, write_migration

TRICKY = "create function public.f() returns int language sql as $fn$ select 1; $fn$;\n-- a; comment\nselect ';';\n"


def push(project: Path, url: str) -> Outcome:
    return invoke("push", "--workdir", str(project), "--db-url", url)


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(digest_cache.CACHE_DIR_VARIABLE, str(folder))
    return folder


def migrations_dir(project: Path) -> Path:
    return project / "supabase" / "migrations"


def cache_file(cache_dir: Path) -> Path:
    (path,) = (cache_dir / "digests").glob("*.json")
    return path


def test_a_push_remembers_each_file_digest(project_dir: Path, db_url: str, cache_dir: Path) -> None:
    write_migration(project_dir, "001_users.sql", "create table public.users (id int);\n")
    write_migration(project_dir, "002_tricky.sql", TRICKY)
    assert push(project_dir, db_url).exit_code == 0
    document = json.loads(cache_file(cache_dir).read_text(encoding="utf-8"))
    expected = {m.source_hash: statements_digest([s.text for s in split_statements(m.sql)])
                for m in discover_migrations(migrations_dir(project_dir)).migrations}
    assert document["digests"] == expected and len(expected) == 2


def test_a_hit_spares_splitting_and_plans_the_same(project_dir: Path, db_url: str, cache_dir: Path) -> None:
    write_migration(project_dir, "001_users.sql", "create table public.users (id int);\n")
    write_migration(project_dir, "002_tricky.sql", TRICKY)
    assert push(project_dir, db_url).exit_code == 0
    cache = DigestCache.for_folder(migrations_dir(project_dir))
    cached = discover_migrations(migrations_dir(project_dir), known_digests=cache.digests)
    target = PostgresTarget(db_url)
    try:
        history = target.read_history_summary()
    finally:
        target.close()
    plan = build_plan(cached.migrations, history)
    assert (plan.pending, plan.drifted) == ([], [])
    assert all("statements" not in vars(m) for m in cached.migrations), "no file was split"
    uncached = build_plan(discover_migrations(migrations_dir(project_dir)).migrations, history)
    assert ([m.version for m in uncached.applied], uncached.drifted) == (["001", "002"], [])


def test_an_edited_file_is_a_miss_and_its_drift_is_found(project_dir: Path, db_url: str, cache_dir: Path) -> None:
    path = write_migration(project_dir, "001_users.sql", "create table public.users (id int);\n")
    assert push(project_dir, db_url).exit_code == 0
    path.write_text("create table public.users (id bigint);\n", encoding="utf-8")
    (migration,) = discover_migrations(migrations_dir(project_dir),
                                       known_digests=DigestCache.for_folder(migrations_dir(project_dir)).digests
                                       ).migrations
    assert migration.known_statements_digest is None
    refused = push(project_dir, db_url)
    assert refused.exit_code == 1 and "edited after they ran" in refused.stderr


def test_a_changed_splitter_invalidates_the_cache(project_dir: Path, db_url: str, cache_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    write_migration(project_dir, "001_users.sql", "create table public.users (id int);\n")
    assert push(project_dir, db_url).exit_code == 0
    assert DigestCache.for_folder(migrations_dir(project_dir)).digests
    monkeypatch.setattr(digest_cache, "_code_version", lambda: "another splitter")
    assert DigestCache.for_folder(migrations_dir(project_dir)).digests == {}


@pytest.mark.parametrize("content", ["{not json", '{"format": 1, "code": null, "digests": []}', "[]",
                                     '{"code": "x", "digests": {"a": 1}}'])
def test_a_broken_cache_is_ignored_and_rewritten(project_dir: Path, db_url: str, cache_dir: Path,
                                                 content: str) -> None:
    write_migration(project_dir, "001_users.sql", "create table public.users (id int);\n")
    assert push(project_dir, db_url).exit_code == 0
    path = cache_file(cache_dir)
    path.write_text(content, encoding="utf-8")
    again = push(project_dir, db_url)
    assert again.exit_code == 0 and "Nothing to push" in again.stdout, again.output
    assert len(json.loads(path.read_text(encoding="utf-8"))["digests"]) == 1


def test_an_unwritable_cache_does_not_stop_a_push(project_dir: Path, db_url: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv(digest_cache.CACHE_DIR_VARIABLE, str(blocker / "cache"))
    write_migration(project_dir, "001_users.sql", "create table public.users (id int);\n")
    first = push(project_dir, db_url)
    assert first.exit_code == 0, first.output
    again = push(project_dir, db_url)
    assert again.exit_code == 0 and "Nothing to push" in again.stdout


def test_removed_files_are_forgotten(project_dir: Path, db_url: str, cache_dir: Path) -> None:
    write_migration(project_dir, "001_users.sql", "create table public.users (id int);\n")
    assert push(project_dir, db_url).exit_code == 0
    cache = DigestCache.for_folder(migrations_dir(project_dir))
    write_migration(project_dir, "002_posts.sql", "create table public.posts (id int);\n")
    discovery = discover_migrations(migrations_dir(project_dir), known_digests=cache.digests)
    cache.save(discovery.migrations[1:])
    assert list(DigestCache.for_folder(migrations_dir(project_dir)).digests) == [discovery.migrations[1].source_hash]
