"""`supadeploy types`: TypeScript byte-identical to @supabase/postgres-meta 0.99.0 (`supabase gen types`).

Every schema of tests/corpus/types/, the example project's migrations and a few seeded random schemas
(tests/support/random_schema.py) are loaded into fresh databases; postgres-meta generates each once for the
whole session; supadeploy's output must equal its stdout byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from supadeploy.targets.postgres import PostgresTarget
from supadeploy.typegen.introspect import introspect, read_snapshot
from supadeploy.typegen.typescript import TypescriptOptions, generate_typescript
from tests.support import databases, postgres_meta
from tests.support.postgres_meta import Request
from tests.support.random_schema import SCHEMAS as RANDOM_SCHEMAS
from tests.support.random_schema import random_schema

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_MIGRATIONS = REPO_ROOT / "supabase" / "migrations"


@dataclass(frozen=True)
class Case:
    """A corpus schema, the schemas generated for it, and how postgres-meta is run."""

    source: str  # corpus file stem, "example_project", or "random-<seed>"
    schemas: tuple[str, ...]
    one_to_one: bool = True
    postgrest_version: str | None = None
    union: tuple[str, ...] | None = None  # introspect these, generate ``schemas`` from the same snapshot

    @property
    def id(self) -> str:
        extra = "" if self.one_to_one else "-no-one-to-one"
        extra += f"-postgrest-{self.postgrest_version}" if self.postgrest_version else ""
        extra += "-subset-" + "-".join(self.schemas) if self.union else ""
        return self.source + extra


CASES = [Case(path.stem, postgres_meta.corpus_schemas(path)) for path in postgres_meta.corpus_files()] + [
    Case("example_project", ("public",)),
    Case("03_relationships", ("public", "billing"), one_to_one=False),
    Case("01_columns", ("public",), postgrest_version="12.2.3 (519615d)"),
    Case("03_relationships", ("billing",), union=("public", "billing")),
    Case("04_names", ("Sales Team", "public"), union=("public", "api", "Sales Team", "extensions_x")),
    *(Case(f"random-{seed}", RANDOM_SCHEMAS) for seed in (1, 2, 3, 5, 8, 13, 21, 34, 55, 89)),
]


@dataclass(frozen=True)
class Loaded:
    url: str
    reference: str


def _load_example_project(url: str) -> None:
    for path in sorted(EXAMPLE_MIGRATIONS.glob("*.sql")):
        postgres_meta.load_sql(url, path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def corpus(pg_admin_url: str) -> Iterator[dict[str, Loaded]]:
    if not postgres_meta.available():
        pytest.fail("@supabase/postgres-meta 0.99.0 is not installed: run `make tools`")
    urls: dict[str, str] = {}
    try:
        for source in dict.fromkeys(case.source for case in CASES):
            url = urls[source] = databases.create_database(pg_admin_url, prefix="sdtypes")
            if source == "example_project":
                _load_example_project(url)
            elif source.startswith("random-"):
                postgres_meta.load_sql(url, random_schema(int(source.removeprefix("random-"))))
            else:
                postgres_meta.load_sql(url, (postgres_meta.CORPUS / f"{source}.sql").read_text(encoding="utf-8"))
        references = postgres_meta.generate_many([
            Request(urls[case.source], case.schemas, one_to_one=case.one_to_one,
                    postgrest_version=case.postgrest_version) for case in CASES])
        yield {case.id: Loaded(urls[case.source], reference) for case, reference in zip(CASES, references, strict=True)}
    finally:
        for url in urls.values():
            databases.drop_database(pg_admin_url, url)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_typescript_is_byte_identical_to_postgres_meta(corpus: dict[str, Loaded], case: Case) -> None:
    loaded = corpus[case.id]
    options = TypescriptOptions(detect_one_to_one_relationships=case.one_to_one,
                                postgrest_version=case.postgrest_version)
    target = PostgresTarget(loaded.url)
    try:
        if case.union:
            catalog = read_snapshot(target, case.union).catalog(case.schemas)
        else:
            catalog = introspect(target, case.schemas)
    finally:
        target.close()
    generated = generate_typescript(catalog, options)
    assert len(loaded.reference) > 1000
    if generated != loaded.reference:  # a readable failure: the first lines that differ
        import difflib

        diff = "".join(list(difflib.unified_diff(loaded.reference.splitlines(True), generated.splitlines(True),
                                                 "postgres-meta", "supadeploy", n=2))[:60])
        pytest.fail(f"output differs from postgres-meta:\n{diff}")


class CountingTarget:
    def __init__(self, url: str) -> None:
        self.inner = PostgresTarget(url)
        self.queries = 0

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.queries += 1
        return self.inner.query(sql, params)


def test_the_batch_runner_prints_what_postgres_meta_prints(corpus: dict[str, Loaded]) -> None:
    """The session's references come from one node process; postgres-meta's own server.js agrees."""
    case = next(case for case in CASES if case.source == "03_relationships" and case.one_to_one and not case.union)
    loaded = corpus[case.id]
    assert postgres_meta.generate(Request(loaded.url, case.schemas)) == loaded.reference


def test_one_introspection_is_a_few_queries(corpus: dict[str, Loaded]) -> None:
    target = CountingTarget(corpus["03_relationships"].url)
    try:
        snapshot = read_snapshot(target, ("public", "billing"))
    finally:
        target.inner.close()
    assert target.queries <= 8
    assert {relation.name for relation in snapshot.catalog(("billing",)).tables} == {"invoices", "lines"}


def test_the_corpus_covers_what_the_issue_lists(corpus: dict[str, Loaded]) -> None:
    """Guards the corpus itself: each construct the issue names shows up in postgres-meta's output."""
    everything = "\n".join(loaded.reference for loaded in corpus.values())
    for expected in [
        "?: never",                                  # identity ALWAYS / generated columns
        "NonNullable<Json>", "Json | null",          # json(b), nullable and not
        'Database["public"]["CompositeTypes"]',      # composite types
        'Database["public"]["Enums"]',               # enums
        "SetofOptions", "isSetofReturn: true",       # setof a table
        "Record<PropertyKey, never>",                # no-arg functions
        "Could not choose the best candidate",       # overloads
        "isOneToOne: true",                          # one-to-one foreign keys
        '"first name"', '"User Accounts"',           # names needing quotes
        "[_ in never]: never",
        "__InternalSupabase",
    ]:
        assert expected in everything, expected
    assert '"Sales Team": {' in corpus["04_names"].reference  # several schemas in one run
