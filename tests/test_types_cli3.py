"""`supadeploy types --cli-version 3.1.0`: TypeScript byte-identical to the real `supabase gen types typescript` of
CLI 3.1.0 (@supabase/typegen in process, unformatted), and which CLI version a project gets when none is given.

Every schema of tests/corpus/types/, seeded random schemas (tests/support/random_schema.py) and the example
project (pushed with `supadeploy push`) are loaded into fresh databases; the real CLI 3.1.0 generates each once
for the session (tests/support/supabase_cli3.py); supadeploy's output must equal its stdout byte for byte. The
default schemas are compared the same way: the CLI run without --schema in project folders with and without a
supabase/config.toml `[api] schemas`.
"""

from __future__ import annotations

import difflib
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from supadeploy.targets.libpq_target import LibpqReadTarget
from supadeploy.targets.postgres import PostgresTarget
from supadeploy.typegen.introspect import read_snapshot
from supadeploy.typegen.outputs import TypesOutput, render
from supadeploy.typegen.typescript import generate_typescript
from tests.support import databases, postgres_meta, supabase_cli3
from tests.support.cli import invoke
from tests.support.random_schema import SCHEMAS as RANDOM_SCHEMAS
from tests.support.random_schema import random_schema
from tests.support.supabase_cli3 import Cli3Request

pytestmark = pytest.mark.cli

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_MIGRATIONS = REPO_ROOT / "supabase" / "migrations"
CLI2 = REPO_ROOT / ".tools" / "node_modules" / ".bin" / "supabase"
CONFIG_SCHEMA = """
create schema billing;
create schema graphql_public;
create table public.notes (id bigint generated always as identity primary key, body text not null);
create table billing.invoices (id int primary key, note_id bigint references public.notes(id));
create table graphql_public.seen (id int primary key);
create view public.note_bodies as select id, body from public.notes;
"""
# The project folders of the default-schema cases: what supabase/config.toml holds (None: no file).
CONFIGS = {
    "no-config": None,
    "config-without-api-schemas": '[api]\nenabled = true\nport = 54321\n',
    "config-api-schemas": '[api]\nenabled = true\nschemas = ["billing"]\n',
    "config-api-schemas-with-public": '[api]\nschemas = ["graphql_public", "public", "billing"]\n',
}


@dataclass(frozen=True)
class Case:
    source: str  # corpus file stem, "example_project", "random-<seed>", or "config"
    schemas: tuple[str, ...] | None  # None: the CLI's defaults for the project folder ``config``
    config: str | None = None  # a key of CONFIGS
    subset: bool = False  # a subset of the source's schemas

    @property
    def id(self) -> str:
        if self.subset and self.schemas:
            return f"{self.source}-only-{'-'.join(self.schemas)}"
        return self.config or self.source


CASES = [Case(path.stem, postgres_meta.corpus_schemas(path)) for path in postgres_meta.corpus_files()] + [
    Case("example_project", ("public",)),
    Case("03_relationships", ("billing",), subset=True),
    *(Case(f"random-{seed}", RANDOM_SCHEMAS) for seed in (1, 2, 3, 5, 8, 13, 21, 34, 55, 89)),
]
CONFIG_CASES = [Case("config", None, config) for config in CONFIGS]


@dataclass(frozen=True)
class Loaded:
    url: str
    reference: str
    workdir: Path | None


def _push_example_project(url: str, project: Path) -> None:
    (project / "supabase" / "migrations").mkdir(parents=True)
    for path in sorted(EXAMPLE_MIGRATIONS.glob("*.sql")):
        shutil.copy(path, project / "supabase" / "migrations" / path.name)
    result = invoke("push", "--db-url", url, "--workdir", str(project), "--yes")
    assert result.exit_code == 0, result.output


def _load(source: str, url: str, scratch: Path) -> None:
    if source == "example_project":
        _push_example_project(url, scratch / "example_project")
    elif source == "config":
        postgres_meta.load_sql(url, CONFIG_SCHEMA)
    elif source.startswith("random-"):
        postgres_meta.load_sql(url, random_schema(int(source.removeprefix("random-"))))
    else:
        postgres_meta.load_sql(url, (postgres_meta.CORPUS / f"{source}.sql").read_text(encoding="utf-8"))


def _project_folder(scratch: Path, config: str | None) -> Path | None:
    if config is None:
        return None
    folder = scratch / config
    (folder / "supabase").mkdir(parents=True)
    text = CONFIGS[config]
    if text is not None:
        (folder / "supabase" / "config.toml").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def corpus(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Loaded]]:
    if not supabase_cli3.available():
        pytest.fail("the Supabase CLI 3.1.0 is not installed: run `make tools` (.tools/cli3)")
    scratch = tmp_path_factory.mktemp("cli3")
    urls: dict[str, str] = {}
    try:
        cases = CASES + CONFIG_CASES
        for source in dict.fromkeys(case.source for case in cases):
            urls[source] = databases.create_database(pg_admin_url, prefix="sdcli3")
            _load(source, urls[source], scratch)
        folders = {case.id: _project_folder(scratch, case.config) for case in cases}
        references = supabase_cli3.gen_types_many([
            Cli3Request(urls[case.source], case.schemas, folders[case.id]) for case in cases])
        yield {case.id: Loaded(urls[case.source], reference, folders[case.id])
               for case, reference in zip(cases, references, strict=True)}
    finally:
        for url in urls.values():
            databases.drop_database(pg_admin_url, url)


def _diff(reference: str, generated: str) -> str:
    return "".join(list(difflib.unified_diff(reference.splitlines(True), generated.splitlines(True),
                                             "supabase 3.1.0", "supadeploy", n=2))[:60])


TARGETS: dict[str, Callable[[str], PostgresTarget | LibpqReadTarget]] = {
    "psycopg": PostgresTarget, "libpq-concurrent": LibpqReadTarget}


@pytest.mark.parametrize("target_kind", TARGETS)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_typescript_is_byte_identical_to_cli_3_1_0(corpus: dict[str, Loaded], case: Case, target_kind: str) -> None:
    """Through psycopg, and through the libpq sessions `supadeploy types` reads with (every query at once,
    each as one JSON document: typegen.concurrent_reads)."""
    loaded = corpus[case.id]
    assert case.schemas is not None and len(loaded.reference) > 1000
    target = TARGETS[target_kind](loaded.url)
    try:
        snapshot = read_snapshot(target, case.schemas, with_view_rules=True)
    finally:
        target.close()
    generated = render(snapshot, TypesOutput("typescript", Path("-"), case.schemas, cli_version="3.1.0"))
    if generated != loaded.reference:
        pytest.fail(f"output differs from supabase gen types 3.1.0:\n{_diff(loaded.reference, generated)}")


@pytest.mark.parametrize("case", CONFIG_CASES, ids=[case.id for case in CONFIG_CASES])
def test_default_schemas_are_the_cli_3_defaults(corpus: dict[str, Loaded], case: Case,
                                                tmp_path: Path) -> None:
    """`supadeploy types --cli-version 3.1.0` without --schema, in the folder the CLI ran in."""
    loaded = corpus[case.id]
    workdir = loaded.workdir
    assert workdir is not None
    result = invoke("types", "--db-url", loaded.url, "--workdir", str(workdir), "--cli-version", "3.1.0")
    assert result.exit_code == 0, result.stderr
    if result.stdout != loaded.reference:
        pytest.fail(f"output differs from supabase gen types 3.1.0:\n{_diff(loaded.reference, result.stdout)}")


def test_the_corpus_covers_what_cli_3_adds(corpus: dict[str, Loaded]) -> None:
    """Guards the corpus: each CLI 3 construct shows up in the real CLI's output."""
    everything = "\n".join(loaded.reference for loaded in corpus.values())
    for expected in ["ComputedFields: never", "ComputedFields: \"", "['ComputedFields']>", "SetofOptions: {",
                     "isOneToOne: true", "Record<PropertyKey, never>", "Could not choose the best candidate",
                     "[_ in never]: never", "NonNullable<Json>", "Database[\"public\"]['Enums']"]:
        assert expected in everything, expected
    graphql = corpus["config-without-api-schemas"].reference
    assert '"graphql_public": {' in graphql and '"billing": {' not in graphql
    assert '"billing": {' in corpus["config-api-schemas"].reference
    assert '"billing": {' not in corpus["no-config"].reference


# --- which CLI's output, when --cli-version is not given ----------------------------------------------------


@pytest.fixture
def config_db(corpus: dict[str, Loaded]) -> str:
    return corpus["no-config"].url


def _postgres_meta_output(url: str) -> str:
    target = PostgresTarget(url)
    try:
        return generate_typescript(read_snapshot(target, ("public",)).catalog(("public",)))
    finally:
        target.close()


def _no_cli_environment(project_dir: Path) -> dict[str, str]:
    """No $SUPABASE_CLI and no `supabase` on the PATH."""
    empty = project_dir / "empty-bin"
    empty.mkdir(exist_ok=True)
    return {"SUPABASE_CLI": "", "PATH": str(empty)}


def test_unpinned_projects_get_the_newest_cli(corpus: dict[str, Loaded], config_db: str,
                                              project_dir: Path) -> None:
    result = invoke("types", "--db-url", config_db, "--workdir", str(project_dir), env=_no_cli_environment(project_dir))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == corpus["no-config"].reference


@pytest.mark.parametrize(("spec", "cli3"), [("2.117.0", False), ("^2.100.0", False), ("3.1.0", True),
                                            ("~3.1.0", True)])
def test_package_json_pins_the_cli(corpus: dict[str, Loaded], config_db: str, project_dir: Path, spec: str,
                                   cli3: bool) -> None:
    (project_dir / "package.json").write_text(json.dumps({"devDependencies": {"supabase": spec}}), encoding="utf-8")
    result = invoke("types", "--db-url", config_db, "--workdir", str(project_dir), env=_no_cli_environment(project_dir))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (corpus["no-config"].reference if cli3 else _postgres_meta_output(config_db))


def test_the_installed_cli_decides_when_nothing_is_pinned(corpus: dict[str, Loaded], config_db: str,
                                                          project_dir: Path) -> None:
    """$SUPABASE_CLI, else `supabase` on the PATH: their npm package's version."""
    env = _no_cli_environment(project_dir)
    cli2 = invoke("types", "--db-url", config_db, "--workdir", str(project_dir), env={**env, "SUPABASE_CLI": str(CLI2)})
    assert cli2.exit_code == 0 and cli2.stdout == _postgres_meta_output(config_db)
    on_path = invoke("types", "--db-url", config_db, "--workdir", str(project_dir),
                     env={"SUPABASE_CLI": "", "PATH": str(supabase_cli3.CLI3.parent)})
    assert on_path.exit_code == 0 and on_path.stdout == corpus["no-config"].reference


def test_configured_cli_version_and_the_flag(corpus: dict[str, Loaded], config_db: str, project_dir: Path) -> None:
    (project_dir / "supadeploy.toml").write_text(
        f'[environments.local]\ndb_url = "{config_db}"\n\n[types]\ncli_version = "3.1.0"\n'
        'typescript = "src/database.types.ts"\n', encoding="utf-8")
    (project_dir / "package.json").write_text('{"devDependencies": {"supabase": "2.117.0"}}', encoding="utf-8")
    (project_dir / "src").mkdir()  # types never create a folder
    written = invoke("types", "--all", "--workdir", str(project_dir))
    assert written.exit_code == 0, written.stderr
    assert (project_dir / "src" / "database.types.ts").read_text(encoding="utf-8") == corpus["no-config"].reference
    checked = invoke("types", "--all", "--check", "--workdir", str(project_dir))
    assert checked.exit_code == 0 and "types are up to date" in checked.stderr
    stale = invoke("types", "--all", "--check", "--workdir", str(project_dir), "--cli-version", "2.117.0")
    assert stale.exit_code == 1 and "types are stale" in stale.stderr


@pytest.mark.parametrize(("args", "section", "message"), [
    (("--cli-version", "4.0.0"), "", "Supabase CLI 4.0.0 (from --cli-version) is not supported for types"),
    (("--cli-version", "latest"), "", "--cli-version: 'latest' is not a Supabase CLI version"),
    ((), 'cli_version = "one"\n', "[types] cli_version: 'one' is not a Supabase CLI version"),
    ((), "cli_version = 3\n", "cli_version in [types] must be a string"),
])
def test_bad_cli_versions_say_what_to_write(config_db: str, project_dir: Path, args: tuple[str, ...],
                                            section: str, message: str) -> None:
    (project_dir / "supadeploy.toml").write_text(f'[types]\ntypescript = "t.ts"\n{section}', encoding="utf-8")
    result = invoke("types", "--db-url", config_db, "--workdir", str(project_dir), *args)
    assert result.exit_code in (1, 2)
    assert message in result.stderr and "Traceback" not in result.output
    assert "3.1.0" in result.stderr  # the fix names a supported version
    if section:
        assert "supadeploy.toml:3" in result.stderr
    assert not (project_dir / "t.ts").exists()


def test_view_columns_keep_their_not_null(db_url: str) -> None:
    """CLI 3 reads the view's rule: `note_bodies.body` comes from a NOT NULL column (postgres-meta: nullable)."""
    with psycopg.connect(db_url, autocommit=True) as connection:
        connection.execute(CONFIG_SCHEMA)
        connection.execute("create view public.outer_bodies as select n.body, o.body as other from public.notes n "
                           "left join public.notes o on o.id = n.id")
        connection.execute("comment on column public.outer_bodies.other is '@notNull'")
    target = PostgresTarget(db_url)
    try:
        snapshot = read_snapshot(target, ("public",), with_view_rules=True)
    finally:
        target.close()
    generated = render(snapshot, TypesOutput("typescript", Path("-"), ("public",), cli_version="3.1.0"))
    assert '"note_bodies": {\n                  Row: {\n                    "body": string,"id": number\n' in generated
    assert '"body": string,"other": string\n' in generated
    assert supabase_cli3.gen_types(Cli3Request(db_url, ("public",))) == generated
