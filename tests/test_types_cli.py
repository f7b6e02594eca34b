"""`supadeploy types` as users run it: stdout, --out (written only when changed), --check for CI, outputs
configured in supadeploy.toml, default schemas from supabase/config.toml, the cli and api engines."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest

from supadeploy.config import load_project
from supadeploy.targets.postgres import PostgresTarget
from supadeploy.typegen.introspect import introspect
from supadeploy.typegen.outputs import configured_outputs, default_schemas, regenerate_outputs, with_header
from supadeploy.typegen.python import generate_python
from supadeploy.typegen.typescript import generate_typescript
from tests.support.cli import invoke
from tests.support.management_api_server import TEST_TOKEN, ManagementApiServer, Project

SCHEMA = """
create type public.mood as enum ('sad', 'happy');
create table public.notes (id bigint generated always as identity primary key, body text not null,
  mood public.mood);
create schema api;
create table api.widgets (id int primary key, note_id bigint references public.notes(id));
"""
REF = "abcdefghijklmnopqrst"


def run_sql(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql)


@pytest.fixture(autouse=True)
def pinned_cli_2(monkeypatch: pytest.MonkeyPatch, supabase_cli: str) -> None:
    """These projects use CLI 2 ($SUPABASE_CLI: 2.117.0, so postgres-meta 0.99's TypeScript): the mechanics here are
    the same for every CLI version; CLI 3's output and how the version is chosen are tests/test_types_cli3.py's."""
    monkeypatch.setenv("SUPABASE_CLI", supabase_cli)


@pytest.fixture
def db(db_url: str) -> str:
    run_sql(db_url, SCHEMA)
    return db_url


def native(url: str, schemas: tuple[str, ...] = ("public",), lang: str = "typescript") -> str:
    target = PostgresTarget(url)
    try:
        catalog = introspect(target, schemas)
    finally:
        target.close()
    return generate_typescript(catalog) if lang == "typescript" else with_header("python",
                                                                                  generate_python(catalog, schemas))


def test_prints_typescript_to_stdout(db: str, project_dir: Path) -> None:
    result = invoke("types", "--db-url", db, "--workdir", str(project_dir))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == native(db)
    assert "notes: {" in result.stdout and "widgets" not in result.stdout
    python = invoke("types", "--db-url", db, "--workdir", str(project_dir), "--lang", "python",
                    "--schema", "public,api")
    assert python.exit_code == 0 and python.stdout == native(db, ("public", "api"), "python")
    assert "class ApiWidgets(BaseModel):" in python.stdout
    document = invoke("types", "--db-url", db, "--workdir", str(project_dir), "--json").json()
    assert document["content"] == native(db) and document["schemas"] == ["public"]


def test_out_writes_only_when_the_content_changes(db: str, project_dir: Path) -> None:
    out = project_dir / "src" / "database.types.ts"
    out.parent.mkdir()  # types never creates a missing folder
    first = invoke("types", "--db-url", db, "--workdir", str(project_dir), "--out", str(out))
    assert first.exit_code == 0, first.stderr
    assert "wrote" in first.stderr and out.read_text(encoding="utf-8") == native(db)
    os.utime(out, (1_000_000_000, 1_000_000_000))
    second = invoke("types", "--db-url", db, "--workdir", str(project_dir), "--out", str(out))
    assert second.exit_code == 0 and "unchanged" in second.stderr
    assert out.stat().st_mtime == 1_000_000_000  # no noisy diff, no touched file
    run_sql(db, "alter table public.notes add column title text")
    third = invoke("types", "--db-url", db, "--workdir", str(project_dir), "--out", str(out), "--json")
    assert third.exit_code == 0
    assert third.json()["files"] == [{"path": "src/database.types.ts", "lang": "typescript", "changed": True}]
    assert "title: string | null" in out.read_text(encoding="utf-8")
    models = project_dir / "models.py"  # the language follows the extension
    assert invoke("types", "--db-url", db, "--workdir", str(project_dir), "--out", str(models)).exit_code == 0
    assert models.read_text(encoding="utf-8") == native(db, lang="python")


def test_check_exits_non_zero_with_a_short_diff_when_stale(db: str, project_dir: Path) -> None:
    out = project_dir / "types.ts"
    missing = invoke("types", "--db-url", db, "--workdir", str(project_dir), "--out", str(out), "--check")
    assert missing.exit_code == 1 and "types are stale" in missing.stderr and not out.exists()
    out.write_text(native(db), encoding="utf-8")
    fresh = invoke("types", "--db-url", db, "--workdir", str(project_dir), "--out", str(out), "--check")
    assert fresh.exit_code == 0 and "up to date" in fresh.stderr
    run_sql(db, "create table public.tags (name text primary key)")
    stale = invoke("types", "--db-url", db, "--workdir", str(project_dir), "--out", str(out), "--check")
    assert stale.exit_code == 1
    assert "+      tags: {" in stale.stderr and "(on disk)" in stale.stderr and "(generated)" in stale.stderr
    assert "error: types are stale" in stale.stderr and "run `supadeploy types" in stale.stderr
    assert len(stale.stderr.splitlines()) < 80  # short: a CI log, not the whole file
    assert "tags" not in out.read_text(encoding="utf-8")  # --check writes nothing


def _configure(project_dir: Path, db: str, types_section: str) -> None:
    (project_dir / "supadeploy.toml").write_text(
        f'[environments.local]\ndb_url = "{db}"\n\n[types]\n{types_section}', encoding="utf-8")


def test_configured_outputs_regenerate_and_check_together(db: str, project_dir: Path) -> None:
    _configure(project_dir, db, 'schemas = ["public", "api"]\ntypescript = "web/src/database.types.ts"\n'
                                'python = "backend/models.py"\n\n[[types.outputs]]\npath = "admin/public.ts"\n'
                                'schemas = ["public"]\n')
    for folder in ("web/src", "backend", "admin"):  # types never creates a missing folder
        (project_dir / folder).mkdir(parents=True)
    written = invoke("types", "--all", "--workdir", str(project_dir), "--json")
    assert written.exit_code == 0, written.stderr
    assert [(file["path"], file["lang"], file["changed"]) for file in written.json()["files"]] == [
        ("web/src/database.types.ts", "typescript", True), ("backend/models.py", "python", True),
        ("admin/public.ts", "typescript", True)]
    assert (project_dir / "web/src/database.types.ts").read_text(encoding="utf-8") == native(db, ("public", "api"))
    assert (project_dir / "admin/public.ts").read_text(encoding="utf-8") == native(db)
    assert invoke("types", "--check", "--workdir", str(project_dir)).exit_code == 0
    run_sql(db, "alter table api.widgets add column label text")
    checked = invoke("types", "--check", "--workdir", str(project_dir), "--json")
    assert checked.exit_code == 1
    assert [(file["path"], file["stale"]) for file in checked.json()["files"]] == [
        ("web/src/database.types.ts", True), ("backend/models.py", True), ("admin/public.ts", False)]


class CountingTarget:
    def __init__(self, url: str) -> None:
        self.inner = PostgresTarget(url)
        self.queries = 0

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.queries += 1
        return self.inner.query(sql, params)


def test_regenerate_outputs_shares_one_introspection(db: str, project_dir: Path) -> None:
    """The library call `supadeploy push` makes after applying migrations."""
    _configure(project_dir, db, 'typescript = ["a.ts", "b/c.ts"]\npython = "m.py"\n')
    outputs = configured_outputs(load_project(project_dir))
    (project_dir / "b").mkdir()
    assert [(output.lang, output.path.relative_to(project_dir).as_posix(), output.schemas) for output in outputs] == [
        ("typescript", "a.ts", ("public",)), ("typescript", "b/c.ts", ("public",)), ("python", "m.py", ("public",))]
    target = CountingTarget(db)
    try:
        first = regenerate_outputs(target, outputs)  # type: ignore[arg-type]
        queries = target.queries
        second = regenerate_outputs(target, outputs)  # type: ignore[arg-type]
    finally:
        target.inner.close()
    assert [result.changed for result in first] == [True, True, True]
    assert [result.changed for result in second] == [False, False, False]
    assert queries <= 8
    assert (project_dir / "b/c.ts").read_text(encoding="utf-8") == native(db)


def test_default_schemas_follow_supabase_config(db: str, project_dir: Path) -> None:
    assert default_schemas(project_dir) == ("public",)
    (project_dir / "supabase" / "config.toml").write_text(
        '[api]\nenabled = true\nschemas = ["public", "graphql_public", "api"]\n', encoding="utf-8")
    assert default_schemas(project_dir) == ("public", "graphql_public", "api")
    result = invoke("types", "--db-url", db, "--workdir", str(project_dir))
    assert result.exit_code == 0 and result.stdout == native(db, ("public", "graphql_public", "api"))
    assert "widgets: {" in result.stdout


@pytest.mark.parametrize(("section", "message"), [
    ('typscript = "a.ts"\n', "unknown key 'typscript' in [types]"),
    ("schemas = []\n", "schemas in [types] must be a non-empty list of schema names"),
    ("typescript = 3\n", "typescript in [types] must be a path or a list of paths"),
    ('[[types.outputs]]\npath = "a.rb"\nlang = "ruby"\n', "unknown lang 'ruby' in [[types.outputs]]"),
    ('typescript = "a.ts"\n[[types.outputs]]\npath = "a.ts"\n', "is configured twice in [types]"),
])
def test_bad_types_configuration_names_the_line(db: str, project_dir: Path, section: str, message: str) -> None:
    _configure(project_dir, db, section)
    result = invoke("types", "--all", "--workdir", str(project_dir))
    assert result.exit_code == 1
    assert message in result.stderr and "supadeploy.toml:" in result.stderr


def test_usage_errors(db: str, project_dir: Path) -> None:
    nothing = invoke("types", "--check", "--db-url", db, "--workdir", str(project_dir))
    assert nothing.exit_code == 1 and "no types output is configured to check" in nothing.stderr
    both = invoke("types", "--all", "--out", "x.ts", "--db-url", db, "--workdir", str(project_dir))
    assert both.exit_code == 2
    python_cli = invoke("types", "--engine", "cli", "--lang", "python", "--db-url", db, "--workdir", str(project_dir))
    assert python_cli.exit_code == 2 and "TypeScript only" in python_cli.stderr
    unknown = invoke("types", "--engine", "docker", "--db-url", db, "--workdir", str(project_dir))
    assert unknown.exit_code == 2 and "unknown engine" in unknown.stderr


def test_the_password_never_shows(project_dir: Path) -> None:
    url = "postgresql://postgres:hunter2secret@127.0.0.1:1/nowhere"
    result = invoke("types", "--db-url", url, "--workdir", str(project_dir))
    assert result.exit_code == 1 and "cannot connect" in result.stderr
    assert "hunter2secret" not in result.output


def test_cli_engine_says_clearly_when_the_cli_is_missing(db: str, project_dir: Path) -> None:
    result = invoke("types", "--engine", "cli", "--db-url", db, "--workdir", str(project_dir),
                    env={"SUPABASE_CLI": str(project_dir / "no-such-supabase")})
    assert result.exit_code == 1
    assert "is not" in result.stderr and "no-such-supabase" in result.stderr and "--engine native" in result.stderr


@pytest.mark.cli
def test_cli_engine_runs_supabase_gen_types(db: str, project_dir: Path, supabase_cli: str) -> None:
    """Here the real CLI needs Docker for --db-url; without a Docker daemon the message says what to do."""
    url = db.replace("postgresql://postgres@", "postgresql://postgres:pw-not-shown@")
    result = invoke("types", "--engine", "cli", "--db-url", url, "--workdir", str(project_dir),
                    env={"SUPABASE_CLI": supabase_cli})
    if result.exit_code == 0:  # Docker is running: the official output, which native matches
        assert result.stdout == native(db)
        return
    assert "supabase gen types failed" in result.stderr and "pw-not-shown" not in result.output
    assert "docker" in result.stderr.lower() and "--engine native" in result.stderr


@pytest.fixture
def api_server(db: str) -> Iterator[ManagementApiServer]:
    with ManagementApiServer([Project(ref=REF, name="staging", db_url=db)]) as running:
        yield running
        assert running.violations == []


def test_api_engine_uses_the_management_api(api_server: ManagementApiServer, project_dir: Path) -> None:
    (project_dir / "supadeploy.toml").write_text(f'[environments.staging]\nproject_ref = "{REF}"\n', encoding="utf-8")
    env = {"SUPABASE_ACCESS_TOKEN": TEST_TOKEN, "SUPADEPLOY_API_URL": api_server.url}
    result = invoke("types", "--engine", "api", "--env", "staging", "--workdir", str(project_dir),
                    "--schema", "public,api", env=env)
    assert result.exit_code == 0, result.stderr
    assert api_server.count("GET /v1/projects/{ref}/types/typescript") == 1
    assert "notes: {" in result.stdout and "widgets: {" in result.stdout and TEST_TOKEN not in result.output
    no_ref = invoke("types", "--engine", "api", "--workdir", str(project_dir), env=env)
    assert no_ref.exit_code == 1 and "needs the project ref" in no_ref.stderr
    python = invoke("types", "--engine", "api", "--env", "staging", "--lang", "python", "--workdir", str(project_dir),
                    env=env)
    assert python.exit_code == 2


def test_json_document_for_check(db: str, project_dir: Path) -> None:
    out = project_dir / "t.ts"
    out.write_text("stale\n", encoding="utf-8")
    result = invoke("types", "--db-url", db, "--workdir", str(project_dir), "--out", str(out), "--check", "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["check"] is True and document["files"][0]["stale"] is True
    assert document["files"][0]["diff"].startswith("---")
