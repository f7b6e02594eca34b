"""One catalog introspection for type generation: a few queries through ``Target.query``.

``read_snapshot`` reads what PostgREST exposes for some schemas; ``Snapshot.catalog(schemas)`` gives the
``Catalog`` of any subset of them, exactly as introspecting that subset alone would (so several outputs with
different schemas share one introspection). What is visible follows postgres-meta's introspection, so both
see the same objects for the same connecting role: tables need some privilege (or ownership); views,
foreign tables and materialized views are always listed; trigger functions and procedures are left out.

The queries return numbers and names only (no per-row catalog functions where a join or Python does the
same), which keeps a 2,000-table schema to a fraction of a second.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from supadeploy.targets.base import ConcurrentTextReads
from supadeploy.typegen.catalog import (
    Catalog,
    Column,
    Function,
    FunctionArg,
    PgType,
    Relation,
    Relationship,
    Schema,
    TypeAttribute,
)
from supadeploy.typegen.collation import sort_key
from supadeploy.typegen.concurrent_reads import Query, rows_at_once, start_reads
from supadeploy.typegen.relationships import (
    Constraint,
    ViewDefinition,
    expand_view_relationships,
    table_relationships,
    target_list_origins,
    view_key_dependencies,
)
from supadeploy.typegen.view_nullability import VIEW_RULES_SQL, not_null_view_columns, parse_view_rules

__all__ = ["Catalog", "Column", "Function", "FunctionArg", "PgType", "Queryable", "Relation", "Relationship",
           "Schema", "Snapshot", "TypeAttribute", "introspect", "read_snapshot"]


class Queryable(Protocol):
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


SCHEMAS_SQL = """
select n.oid::int8, n.nspname::text
from pg_namespace n
where n.nspname = any(%s)
  and not starts_with(n.nspname, 'pg_')
  and (pg_has_role(n.nspowner, 'USAGE') or has_schema_privilege(n.oid, 'CREATE, USAGE'))
"""

RELATIONS_SQL = """
select c.oid::int8, n.nspname::text, c.relname::text, c.relkind::text,
  case when c.relkind = 'v' then (pg_relation_is_updatable(c.oid, false) & 20) = 20 else false end,
  case when c.relkind = 'v' then (pg_relation_is_updatable(c.oid, true) & 8) = 8 else false end,
  case when c.relkind = 'v' then (pg_relation_is_updatable(c.oid, true) & 4) = 4 else false end,
  d.description
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
left join pg_description d on d.objoid = c.oid and d.classoid = 'pg_class'::regclass and d.objsubid = 0
where n.nspname = any(%s)
  and c.relkind in ('r', 'p', 'v', 'm', 'f')
  and (c.relkind not in ('r', 'p') or (
    not pg_is_other_temp_schema(n.oid)
    and (pg_has_role(c.relowner, 'USAGE')
         or has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
         or has_any_column_privilege(c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))))
"""

# A view's (or foreign table's) column accepts writes when Postgres can update it, or when the view has an
# INSTEAD OF INSERT/UPDATE trigger or an unconditional INSTEAD rule (they rewrite whole rows). Type names and
# the NOT NULL of domains come from the types read separately.
COLUMNS_SQL = """
select a.attrelid::int8, a.attnum::int, a.attname::text, a.atttypid::int8, a.attidentity::text,
  a.attgenerated::text, a.attnotnull,
  c.relkind in ('r', 'p') or (c.relkind in ('v', 'f') and (
    pg_column_is_updatable(c.oid, a.attnum, false)
    or exists (select 1 from pg_trigger tg
               where tg.tgrelid = c.oid and tg.tgtype & 64 <> 0 and tg.tgtype & 20 <> 0 and not tg.tgisinternal)
    or exists (select 1 from pg_rewrite rw
               where rw.ev_class = c.oid and rw.is_instead and rw.ev_type in ('2', '3')
                 and rw.ev_qual::text = '<>'))),
  a.atthasdef, a.attndims::int
from pg_attribute a
join pg_class c on c.oid = a.attrelid
join pg_namespace n on n.oid = c.relnamespace
where n.nspname = any(%s)
  and not pg_is_other_temp_schema(n.oid)
  and a.attnum > 0 and not a.attisdropped
  and c.relkind in ('r', 'v', 'm', 'f', 'p')
  and (pg_has_role(c.relowner, 'USAGE') or has_column_privilege(c.oid, a.attnum, 'SELECT, INSERT, UPDATE, REFERENCES'))
"""

# Types of columns that TYPES_SQL leaves out (the row type of a sequence, say).
MORE_TYPES_SQL = """
select t.oid::int8, t.typname::text, n.nspname::text, null::text, null::text[], null::json, null::int8,
  t.typtype::text, t.typbasetype::int8, t.typelem::int8, null::text, t.typnotnull
from pg_type t join pg_namespace n on n.oid = t.typnamespace
where t.oid = any(%s::oid[])
"""

# Every type of every schema (a column may use a type of a schema that is not generated), without the
# row types of indexes, sequences and TOAST tables.
TYPES_SQL = """
select t.oid::int8, t.typname::text, n.nspname::text,
  case when t.typrelid <> 0 then format_type(t.oid, null) end,
  e.labels, ca.attributes, nullif(t.typrelid::int8, 0), t.typtype::text, t.typbasetype::int8, t.typelem::int8,
  d.description, t.typnotnull
from pg_type t
join pg_namespace n on n.oid = t.typnamespace
left join pg_class c on c.oid = t.typrelid
left join pg_description d on t.typtype in ('c', 'e') and d.objoid = t.oid and d.classoid = 'pg_type'::regclass
  and d.objsubid = 0
left join (
  select enumtypid, array_agg(enumlabel::text order by enumsortorder) as labels from pg_enum group by enumtypid
) e on e.enumtypid = t.oid
left join (
  select a.attrelid, json_agg(json_build_array(a.attname, a.atttypid::int8) order by a.attnum) as attributes
  from pg_attribute a join pg_class k on k.oid = a.attrelid
  where k.relkind = 'c' and not a.attisdropped
  group by a.attrelid
) ca on ca.attrelid = t.typrelid and c.relkind = 'c'
where t.typrelid = 0 or c.relkind in ('c', 'r', 'v', 'm', 'p', 'f')
"""

FUNCTIONS_SQL = """
select p.oid::int8, n.nspname::text, p.proname::text,
  p.proargmodes::text[], p.proargnames::text[], coalesce(p.proallargtypes, p.proargtypes::oid[])::int8[],
  p.pronargs::int, p.pronargdefaults::int,
  pg_get_function_arguments(p.oid), pg_get_function_identity_arguments(p.oid),
  p.prorettype::int8, pg_get_function_result(p.oid), nullif(rt.typrelid::int8, 0),
  p.proretset, case when p.proretset then nullif(p.prorows, 0) end
from pg_proc p
join pg_namespace n on n.oid = p.pronamespace
left join pg_type rt on rt.oid = p.prorettype
where n.nspname = any(%s)
  and p.prokind = 'f'
  and p.prorettype not in ('pg_catalog.trigger'::regtype, 'pg_catalog.event_trigger'::regtype)
"""

# Foreign, primary and unique keys of the whole database (a view may expose the key of a table of any
# schema), as column numbers; names come from the columns already read.
CONSTRAINTS_SQL = """
select con.contype::text, con.conname::text, con.connamespace::regnamespace::text, ns.nspname::text,
  con.conrelid::int8, tab.relname::text, tns.nspname::text, con.conkey::int[],
  con.confrelid::int8, coalesce(other.relname::text, ''), coalesce(ons.nspname::text, ''),
  coalesce(con.confkey::int[], '{}'), con.conparentid <> 0
from pg_constraint con
join pg_namespace ns on ns.oid = con.connamespace
join pg_class tab on tab.oid = con.conrelid
join pg_namespace tns on tns.oid = tab.relnamespace
left join pg_class other on other.oid = con.confrelid
left join pg_namespace ons on ons.oid = other.relnamespace
where con.contype in ('f', 'p', 'u')
"""

# The parse trees of the views (and materialized views) of the schemas, with their column names.
VIEW_DEFINITIONS_SQL = """
select c.oid::int8, n.nspname::text, c.relname::text, r.ev_action::text,
  (select json_object_agg(a.attnum, a.attname) from pg_attribute a where a.attrelid = c.oid and a.attnum > 0)
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
join pg_rewrite r on r.ev_class = c.oid
where c.relkind in ('v', 'm') and n.nspname = any(%s)
"""

COLUMN_NAMES_SQL = """
select a.attrelid::int8, a.attnum::int, a.attname::text
from pg_attribute a
where a.attrelid = any(%s::oid[]) and a.attnum > 0
"""

_RELATION_KINDS = {"r": "table", "p": "table", "f": "foreign_table", "v": "view", "m": "materialized_view"}
_ARG_MODES = {"i": "in", "o": "out", "b": "inout", "v": "variadic", "t": "table"}


@dataclass(frozen=True)
class Snapshot:
    """What one introspection read, for a set of schemas."""

    schemas: tuple[Schema, ...]
    relations: tuple[Relation, ...]
    columns: tuple[Column, ...]
    types: tuple[PgType, ...]
    functions: tuple[Function, ...]
    constraints: tuple[Constraint, ...]
    column_names: dict[int, dict[int, str]]
    view_definitions: tuple[ViewDefinition, ...]
    not_null_view_columns: frozenset[tuple[int, int]] = frozenset()
    """(view id, column number) of the view columns CLI 3 types as NOT NULL (with_view_rules)."""

    def catalog(self, schemas: Iterable[str]) -> Catalog:
        """The catalog of ``schemas`` (a subset of the ones read)."""
        included = set(schemas)
        relations = [relation for relation in self.relations if relation.schema in included]
        tables = table_relationships(self.constraints, self.column_names, included)
        definitions = [definition for definition in self.view_definitions if definition.schema in included]
        through_views = expand_view_relationships(tables, view_key_dependencies(
            definitions, self.constraints, self.column_names, included)) if definitions and tables else []
        return Catalog(
            schemas=tuple(schema for schema in self.schemas if schema.name in included),
            tables=_sorted_relations(relation for relation in relations if relation.kind == "table"),
            foreign_tables=_sorted_relations(relation for relation in relations if relation.kind == "foreign_table"),
            views=_sorted_relations(relation for relation in relations if relation.kind == "view"),
            materialized_views=_sorted_relations(
                relation for relation in relations if relation.kind == "materialized_view"),
            columns=tuple(column for column in self.columns if column.schema in included),
            relationships=tuple(sorted(
                tables + through_views,
                key=lambda relationship: (sort_key(relationship.foreign_key_name),
                                          sort_key(relationship.referenced_relation),
                                          sort_key(_json_list(relationship.referenced_columns))))),
            functions=tuple(function for function in self.functions if function.schema in included),
            types=self.types,
        )


def introspect(target: Queryable, schemas: Iterable[str]) -> Catalog:
    """The catalog of ``schemas``, read in a few queries."""
    included = list(dict.fromkeys(schemas))
    return read_snapshot(target, included).catalog(included)


def read_snapshot(target: Queryable, schemas: Iterable[str], *, with_view_rules: bool = False) -> Snapshot:
    """One introspection of ``schemas``: six queries (seven with views, eight when a foreign key points at a
    table of another schema; one more with views and ``with_view_rules``). A target with ConcurrentTextReads
    runs the independent ones at once, each as one JSON document (typegen.concurrent_reads)."""
    included = list(dict.fromkeys(schemas))
    if isinstance(target, ConcurrentTextReads):
        return _snapshot(target, included, _read_independent_at_once(target, included, with_view_rules))
    return _snapshot(target, included, _read_independent_in_turn(target, included, with_view_rules))


Rows = Callable[[], list[tuple[Any, ...]]]
"""The rows of one query: at hand, or still being read (typegen.concurrent_reads.PendingRows)."""


@dataclass(frozen=True)
class IndependentRows:
    """The rows of the queries that need nothing from another (view_rules: None when not read)."""

    schemas: Rows
    relations: Rows
    columns: Rows
    types: Rows
    functions: Rows
    constraints: Rows
    view_definitions: Rows
    view_rules: Rows | None


def _read_independent_at_once(target: ConcurrentTextReads, included: list[str],
                              with_view_rules: bool) -> IndependentRows:
    """Every independent query started at once, on its own session (the view ones even when there are no
    views: they cost nothing then, and waiting for the relations first would cost a round trip)."""
    schemas = (included,)
    queries = [Query(SCHEMAS_SQL, 2, schemas), Query(RELATIONS_SQL, 8, schemas), Query(COLUMNS_SQL, 10, schemas),
               Query(TYPES_SQL, 12), Query(FUNCTIONS_SQL, 15, schemas), Query(CONSTRAINTS_SQL, 13),
               Query(VIEW_DEFINITIONS_SQL, 5, schemas)]
    if with_view_rules:
        queries.append(Query(VIEW_RULES_SQL, 4, schemas))
    return _independent_rows(start_reads(target, queries))


def _read_independent_in_turn(target: Queryable, included: list[str], with_view_rules: bool) -> IndependentRows:
    """The queries one after the other; the view ones only when there are views (one round trip less on the
    Management API)."""
    relation_rows = target.query(RELATIONS_SQL, (included,))
    has_views = any(row[3] in ("v", "m") for row in relation_rows)
    results = [target.query(SCHEMAS_SQL, (included,)), relation_rows, target.query(COLUMNS_SQL, (included,)),
               target.query(TYPES_SQL), target.query(FUNCTIONS_SQL, (included,)), target.query(CONSTRAINTS_SQL),
               target.query(VIEW_DEFINITIONS_SQL, (included,)) if has_views else []]
    if has_views and with_view_rules:
        results.append(target.query(VIEW_RULES_SQL, (included,)))
    return _independent_rows([_at_hand(rows) for rows in results])


def _independent_rows(rows: Sequence[Rows]) -> IndependentRows:
    """In the order of _read_independent_at_once's queries; the view rules last, when read."""
    return IndependentRows(schemas=rows[0], relations=rows[1], columns=rows[2], types=rows[3], functions=rows[4],
                           constraints=rows[5], view_definitions=rows[6], view_rules=rows[7] if len(rows) > 7 else None)


def _at_hand(rows: list[tuple[Any, ...]]) -> Rows:
    return lambda: rows


def _snapshot(target: Queryable, included: list[str], rows: IndependentRows) -> Snapshot:
    """Parse the rows, the fastest queries' first, and the views (parsing their trees takes a while) before
    the types, constraints and columns, which the server takes longest to read."""
    schema_rows = rows.schemas()
    functions = [_function(row) for row in rows.functions()]
    relation_rows = rows.relations()
    relations = {row[0]: (row[1], row[2]) for row in relation_rows}
    definitions = [_view_definition(row) for row in rows.view_definitions()]
    not_null = (not_null_view_columns(parse_view_rules(rows.view_rules())) if rows.view_rules is not None
                and definitions else frozenset())
    types = [_type(row) for row in rows.types()]
    types_by_id = {pg_type.id: pg_type for pg_type in types}
    constraints = [_constraint(row) for row in rows.constraints()]
    column_rows = [row for row in rows.columns() if row[0] in relations]
    unknown = sorted({row[3] for row in column_rows} - types_by_id.keys())
    if unknown:
        types_by_id.update((pg_type.id, pg_type) for pg_type in map(_type, _query(target, MORE_TYPES_SQL, 12, unknown)))
    columns = [_column(row, relations, types_by_id) for row in column_rows]
    names: dict[int, dict[int, str]] = {}
    for column in columns:
        names.setdefault(column.table_id, {})[column.ordinal_position] = column.name
    needed = {table for definition in definitions for _, table, _ in definition.origins if table}
    for constraint in constraints:
        if constraint.type == "f" and constraint.schema in included:
            needed.update((constraint.table_id, constraint.referenced_id))
    missing = sorted(needed - names.keys())
    if missing:
        for relation_id, number, name in _query(target, COLUMN_NAMES_SQL, 3, missing):
            names.setdefault(relation_id, {})[number] = name
    return Snapshot(
        schemas=tuple(sorted((Schema(id=row[0], name=row[1]) for row in schema_rows),
                             key=lambda schema: (sort_key(schema.name), schema.id))),
        relations=tuple(_relation(row) for row in relation_rows),
        # Name order within each relation is all the generators rely on (postgres-meta sorts by schema, table,
        # name and then groups by relation).
        columns=tuple(sorted(columns, key=lambda column: (column.table_id, sort_key(column.name)))),
        types=tuple(sorted(types, key=lambda pg_type: (sort_key(pg_type.schema), sort_key(pg_type.name),
                                                       pg_type.id))),
        functions=tuple(sorted(functions, key=lambda function: (
            sort_key(function.schema), sort_key(function.name), sort_key(function.identity_argument_types),
            function.id))),
        constraints=tuple(constraints),
        column_names=names,
        view_definitions=tuple(definitions),
        not_null_view_columns=not_null,
    )


def _query(target: Queryable, sql: str, columns: int, ids: list[int]) -> list[tuple[Any, ...]]:
    """A query that needs the rows of another (the OIDs ``ids``), over libpq when the target reads that way."""
    if isinstance(target, ConcurrentTextReads):
        return rows_at_once(target, [Query(sql, columns, (ids,))])[0]
    return target.query(sql, (ids,))


def _sorted_relations(relations: Iterable[Relation]) -> tuple[Relation, ...]:
    return tuple(sorted(relations, key=lambda relation: (sort_key(relation.schema), sort_key(relation.name),
                                                         relation.id)))


def _json_list(values: tuple[str, ...] | None) -> str:
    """JSON.stringify of a list of names (postgres-meta sorts relationships on it)."""
    if values is None:
        return "null"
    joined = '","'.join(values)
    if joined.isprintable() and '"' not in joined and "\\" not in joined:  # nothing JSON escapes
        return f'["{joined}"]' if values else "[]"
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))


def _relation(row: tuple[Any, ...]) -> Relation:
    oid, schema, name, relkind, is_updatable, is_insert_enabled, is_update_enabled, comment = row
    return Relation(id=oid, schema=schema, name=name, kind=_RELATION_KINDS[relkind], is_updatable=is_updatable,
                    is_insert_enabled=is_insert_enabled, is_update_enabled=is_update_enabled, comment=comment)


_IDENTITY = {"a": "ALWAYS", "d": "BY DEFAULT"}


def _column(row: tuple[Any, ...], relations: dict[int, tuple[str, str]], types: dict[int, PgType]) -> Column:
    table_id, position, name, type_id, identity, generated, not_null, updatable, has_default, dimensions = row
    schema, table = relations[table_id]
    pg_type = types.get(type_id)
    # A domain's column is typed by the domain's base type (one level, as postgres-meta does) and is NOT NULL
    # when the domain is.
    base = types.get(pg_type.base_type_id) if pg_type is not None and pg_type.kind == "d" else pg_type
    domain_not_null = pg_type is not None and pg_type.kind == "d" and pg_type.not_null
    return Column(
        table_id=table_id, schema=schema, table=table, name=name, ordinal_position=position,
        format=base.name if base else "", type_schema=base.schema if base else "", type_id=type_id,
        is_identity=identity in ("a", "d"), identity_generation=_IDENTITY.get(identity),
        is_generated=generated in ("s", "v"), is_nullable=not (not_null or domain_not_null),
        is_updatable=updatable, has_default=has_default, dimensions=dimensions,
    )


def _type(row: tuple[Any, ...]) -> PgType:
    (oid, name, schema, formatted, labels, attributes, relation_id, kind, base_type_id, element_type_id,
     comment, not_null) = row
    return PgType(
        id=oid, name=name, schema=schema, format=formatted, enums=tuple(labels or ()),
        attributes=tuple(TypeAttribute(name=attribute[0], type_id=attribute[1]) for attribute in attributes or ()),
        type_relation_id=relation_id, kind=kind, base_type_id=base_type_id, element_type_id=element_type_id,
        comment=comment, not_null=not_null,
    )


def _function(row: tuple[Any, ...]) -> Function:
    (oid, schema, name, modes, names, arg_types, input_count, default_count, argument_types, identity_types,
     return_type_id, return_type, return_relation_id, returns_set, prorows) = row
    arg_types = list(arg_types or ())
    modes = list(modes) if modes is not None else ["i"] * len(arg_types)
    names = list(names) if names is not None else [""] * len(arg_types)
    # has_default lines up with *all* arguments (output ones included), as postgres-meta's unnest does: the
    # first (inputs - defaults) are false, the next (defaults) true, any beyond are unknown (null).
    defaults: list[bool | None] = [False] * (input_count - default_count)
    defaults += [True] * default_count
    count = max(len(arg_types), len(modes), len(names), len(defaults))
    args = [
        FunctionArg(
            mode=_ARG_MODES.get(_at(modes, index) or "", "table"), name=_at(names, index) or "",
            type_id=_at(arg_types, index) or 0, has_default=_at(defaults, index),
        )
        for index in range(count)
    ]
    return Function(
        id=oid, schema=schema, name=name, args=tuple(sorted(args, key=lambda arg: sort_key(arg.name))),
        argument_types=argument_types, identity_argument_types=identity_types, return_type_id=return_type_id,
        return_type=return_type, return_type_relation_id=return_relation_id, is_set_returning_function=returns_set,
        prorows=prorows,
    )


def _at(values: list[Any], index: int) -> Any:
    return values[index] if index < len(values) else None


def _constraint(row: tuple[Any, ...]) -> Constraint:
    (kind, name, namespace, schema, table_id, table, table_schema, columns, referenced_id, referenced,
     referenced_schema, referenced_columns, is_partition_copy) = row
    return Constraint(type=kind, name=name, namespace=namespace, schema=schema, table_id=table_id, table=table,
                      table_schema=table_schema, columns=tuple(columns or ()), referenced_id=referenced_id,
                      referenced=referenced, referenced_schema=referenced_schema,
                      referenced_columns=tuple(referenced_columns or ()), is_partition_copy=is_partition_copy)


def _view_definition(row: tuple[Any, ...]) -> ViewDefinition:
    view_id, schema, name, action, attributes = row
    return ViewDefinition(
        id=view_id, schema=schema, name=name, origins=tuple(target_list_origins(action)),
        column_names=tuple((int(number), attname) for number, attname in (attributes or {}).items()),
    )
