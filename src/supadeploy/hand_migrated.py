"""A database migrated by hand, recognised before a push runs every migration again.

Teams adopting supadeploy often have the schema already (files pasted into the SQL editor or run with
``psql -f``) and no history. A push would then run 001… again, and fail on ``relation "users" already
exists`` or, with idempotent files, quietly record a history that says nothing. So before anything is applied:

* history empty: one catalog query for tables and views in the exposed schemas (public, supabase/config.toml's
  [api] schemas, [verify] schemas). Any found stops the push.
* history not empty: the tables the pending migrations create (``CREATE TABLE`` at the top level of each file,
  found by PostgreSQL's parser) are looked up with ``to_regclass`` in one query. Any that exists stops the push.

Both are skipped when nothing is pending. The refusal names what exists and ``supadeploy baseline --to V``,
which compares the schema with a replay before recording anything; ``--allow-existing-objects`` pushes anyway.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from supadeploy.errors import PlanError

if TYPE_CHECKING:
    from supadeploy.config import ProjectConfig
    from supadeploy.migrations.files import Migration
    from supadeploy.migrations.plan import Plan
    from supadeploy.targets.base import Target

NAMES_SHOWN = 5
_LEADING_COMMENTS = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)
_TABLE_STATEMENT = re.compile(
    r"(?:create\s+(?:(?:global|local)\s+)?(?:(?:temp|temporary|unlogged)\s+)?table|drop\s+table)\b", re.IGNORECASE)
_RELATION_KINDS = "'r', 'p', 'v', 'm', 'f'"  # tables, partitioned tables, views, materialized views, foreign tables


@dataclass(frozen=True)
class CreatedTable:
    """A table a migration creates: its schema (None: unqualified, found through search_path) and name."""

    schema: str | None
    name: str
    migration: Migration

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema or "public", self.name)

    @property
    def regclass_text(self) -> str:
        """The name as ``to_regclass`` reads it (quoted identifiers)."""
        return ".".join(_quote_identifier(part) for part in (self.schema, self.name) if part is not None)

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


def exposed_schemas(project: ProjectConfig) -> tuple[str, ...]:
    """public, supabase/config.toml's [api] schemas and the [verify] schemas (what verify checks). A broken
    supabase/config.toml or [verify] section is verify's to report: here it only narrows the check to public."""
    from supadeploy.errors import ConfigError
    from supadeploy.rls.settings import supabase_api_schemas

    try:
        served = supabase_api_schemas(project.workdir) or ()
    except ConfigError:
        served = ()
    extra = project.section("verify").get("schemas", [])
    listed = [schema for schema in extra if isinstance(schema, str) and schema] if isinstance(extra, list) else []
    return tuple(dict.fromkeys(["public", *served, *listed]))


def refuse_hand_migrated_database(target: Target, plan: Plan, schemas: Iterable[str]) -> None:
    """Raise PlanError when ``target`` holds what the pending migrations would create (see the module's
    docstring); nothing is read when nothing is pending."""
    if not plan.pending:
        return
    if not plan.history:
        _refuse_objects_without_history(target, plan, tuple(schemas))
        return
    created = tables_created(plan.pending)
    existing = existing_tables(target, created)
    if existing:
        newest_applied = plan.newest_applied_version
        found = ", ".join(f"{table.label} ({table.migration.file_name})" for table in existing[:NAMES_SHOWN])
        raise PlanError(
            f"the database already has tables that pending migrations create: {found}"
            + (", …" if len(existing) > NAMES_SHOWN else "")
            + f"; the history ends at {newest_applied}, so these migrations look applied by hand",
            fix=_adoption_fix(_newest_migration_of(existing)),
        )


def _refuse_objects_without_history(target: Target, plan: Plan, schemas: tuple[str, ...]) -> None:
    rows = target.query(_exposed_relations_query(schemas))
    if not rows:
        return
    total = int(rows[0][0])
    names = [f"{schema}.{name}" for _, schema, name in rows]
    listed = ", ".join(names) + (", …" if total > len(names) else "")
    guessed = _newest_migration_of(existing_tables(target, tables_created(plan.pending)))
    raise PlanError(
        f"the database has no migration history but already has {total} table(s) or view(s) in "
        f"{', '.join(schemas)}: {listed}; it looks migrated by hand, and this push would run every migration again",
        fix=_adoption_fix(guessed),
    )


def _adoption_fix(newest_with_tables: Migration | None) -> str:
    """The way out: baseline (what V is, as far as the tables tell), or the override flag."""
    evidence = "" if newest_with_tables is None else (
        f", {newest_with_tables.version} or later since the tables of {newest_with_tables.file_name} exist")
    return (f"adopt it with `supadeploy baseline --to V` (V: the last migration you applied by hand{evidence}; "
            "baseline records the migrations up to V only if a replay of them matches the schema), then push; or "
            "pass --allow-existing-objects to run the migrations over what exists")


def _newest_migration_of(tables: list[CreatedTable]) -> Migration | None:
    return max((table.migration for table in tables), key=lambda migration: migration.version, default=None)


def _exposed_relations_query(schemas: tuple[str, ...]) -> str:
    """Up to NAMES_SHOWN (total, schema, name) rows of tables and views in ``schemas`` that no extension owns,
    oldest first."""
    from supadeploy.rls.sqltext import text_array

    return (
        "SELECT count(*) OVER (), n.nspname::text, c.relname::text FROM pg_catalog.pg_class AS c "
        "JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace "
        f"WHERE n.nspname = ANY({text_array(schemas)}) AND c.relkind IN ({_RELATION_KINDS}) "
        "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS d WHERE d.classid = 'pg_catalog.pg_class'::regclass "
        "AND d.objid = c.oid AND d.deptype = 'e') "
        f"ORDER BY c.oid LIMIT {NAMES_SHOWN}"
    )


def existing_tables(target: Target, created: list[CreatedTable]) -> list[CreatedTable]:
    """The tables of ``created`` that exist in ``target`` (one query; none without candidates)."""
    if not created:
        return []
    from supadeploy.rls.sqltext import text_array

    names = list(dict.fromkeys(table.regclass_text for table in created))
    rows = target.query(f"SELECT name FROM unnest({text_array(names)}) AS name WHERE to_regclass(name) IS NOT NULL")
    found = {str(row[0]) for row in rows}
    return [table for table in created if table.regclass_text in found]


def tables_created(migrations: list[Migration]) -> list[CreatedTable]:
    """The tables ``migrations`` create at the top level of their files, in order, leaving out temporary ones,
    those an earlier statement of these migrations dropped (created again on purpose) and those of files that
    run outside a transaction (a rerun after an interruption meets what its first run created)."""
    created: list[CreatedTable] = []
    dropped: set[tuple[str, str]] = set()
    for migration in migrations:
        if not migration.transactional:
            continue
        for schema, name, creates in _table_statements(migration.statement_texts):
            key = (schema or "public", name)
            if not creates:
                dropped.add(key)
            elif key not in dropped:
                created.append(CreatedTable(schema=schema, name=name, migration=migration))
    return created


def _table_statements(statements: list[str]) -> Iterator[tuple[str | None, str, bool]]:
    """(schema, name, True) for each table created, (schema, name, False) for each table dropped.

    Only the statements that start with CREATE … TABLE or DROP TABLE are parsed, by libpg_query's JSON output
    (a tenth of the cost of pglast's Python nodes: a thousand pending files stay well under a second)."""
    from pglast.parser import ParseError, parse_sql_json

    for text in statements:
        leading = _LEADING_COMMENTS.match(text)
        if not _TABLE_STATEMENT.match(text, leading.end() if leading else 0):
            continue
        try:
            parsed = json.loads(parse_sql_json(text))
        except (ParseError, ValueError):
            continue  # reported where it matters: when the file is checked before the apply
        for raw in parsed.get("stmts", []):
            yield from _tables_of(raw.get("stmt", {}))


def _tables_of(node: dict[str, Any]) -> Iterator[tuple[str | None, str, bool]]:
    relation: dict[str, Any] | None = None
    if "CreateStmt" in node:
        relation = node["CreateStmt"].get("relation")
    elif "CreateTableAsStmt" in node and node["CreateTableAsStmt"].get("objtype") == "OBJECT_TABLE":
        relation = node["CreateTableAsStmt"].get("into", {}).get("rel")
    elif "DropStmt" in node and node["DropStmt"].get("removeType") == "OBJECT_TABLE":
        for item in node["DropStmt"].get("objects", []):
            names = [part.get("String", {}).get("sval", "") for part in item.get("List", {}).get("items", [])]
            if names:
                yield (names[-2] if len(names) > 1 else None), names[-1], False
    if relation and relation.get("relname") and relation.get("relpersistence") != "t":
        yield relation.get("schemaname"), relation["relname"], True


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
