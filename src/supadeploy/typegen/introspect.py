"""One catalog introspection for type generation: a few queries through ``Target.query``.

The result, a ``Catalog``, holds what PostgREST exposes for the chosen schemas, in the canonical order the
generators rely on (every collection sorted by name with postgres-meta's collation). What is visible follows
the same rules as postgres-meta's introspection, so both see the same tables, columns and functions for the
same connecting role: tables need some privilege (or ownership), views, foreign tables and materialized
views are always listed, trigger functions and procedures are left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from supadeploy.typegen.collation import sort_key


class Queryable(Protocol):
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


@dataclass(frozen=True)
class Schema:
    id: int
    name: str


@dataclass(frozen=True)
class Relation:
    """A table, foreign table, view or materialized view."""

    id: int
    schema: str
    name: str
    kind: str  # "table" | "foreign_table" | "view" | "materialized_view"
    is_updatable: bool = False
    is_insert_enabled: bool = False
    is_update_enabled: bool = False
    comment: str | None = None


@dataclass(frozen=True)
class Column:
    table_id: int
    schema: str
    table: str
    name: str
    ordinal_position: int
    format: str  # type name (the base type's for a domain); arrays are "_elem"
    type_schema: str
    type_id: int
    is_identity: bool
    identity_generation: str | None  # "ALWAYS" | "BY DEFAULT" | None
    is_generated: bool
    is_nullable: bool
    is_updatable: bool
    has_default: bool
    comment: str | None = None
    dimensions: int = 0  # declared array dimensions (int[][] is 2)


@dataclass(frozen=True)
class TypeAttribute:
    name: str
    type_id: int


@dataclass(frozen=True)
class PgType:
    id: int
    name: str
    schema: str
    format: str | None  # format_type(), only for row types
    enums: tuple[str, ...]
    attributes: tuple[TypeAttribute, ...]  # composite types only
    type_relation_id: int | None
    kind: str  # pg_type.typtype: b, c, d, e, p, r, m
    base_type_id: int  # domains: the base type
    element_type_id: int  # arrays: the element type
    comment: str | None = None
    not_null: bool = False  # domains declared NOT NULL


@dataclass(frozen=True)
class FunctionArg:
    mode: str  # "in" | "out" | "inout" | "variadic" | "table"
    name: str
    type_id: int
    has_default: bool | None


@dataclass(frozen=True)
class Function:
    id: int
    schema: str
    name: str
    args: tuple[FunctionArg, ...]  # sorted by name
    argument_types: str
    identity_argument_types: str
    return_type_id: int
    return_type: str
    return_type_relation_id: int | None
    is_set_returning_function: bool
    prorows: float | None


@dataclass(frozen=True)
class Relationship:
    foreign_key_name: str
    schema: str
    relation: str
    columns: tuple[str, ...] | None
    is_one_to_one: bool
    referenced_schema: str
    referenced_relation: str
    referenced_columns: tuple[str, ...] | None


@dataclass(frozen=True)
class Catalog:
    schemas: tuple[Schema, ...]
    tables: tuple[Relation, ...]
    foreign_tables: tuple[Relation, ...]
    views: tuple[Relation, ...]
    materialized_views: tuple[Relation, ...]
    columns: tuple[Column, ...]
    relationships: tuple[Relationship, ...]
    functions: tuple[Function, ...]
    types: tuple[PgType, ...]


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
  obj_description(c.oid, 'pg_class')
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
where n.nspname = any(%s)
  and c.relkind in ('r', 'p', 'v', 'm', 'f')
  and (c.relkind not in ('r', 'p') or (
    not pg_is_other_temp_schema(n.oid)
    and (pg_has_role(c.relowner, 'USAGE')
         or has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
         or has_any_column_privilege(c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))))
"""

# A view's column accepts writes when Postgres can update it, or when the view has an INSTEAD OF
# INSERT/UPDATE trigger or an unconditional INSTEAD rule (which rewrite whole rows).
COLUMNS_SQL = """
select c.oid::int8, n.nspname::text, c.relname::text, a.attnum::int, a.attname::text,
  coalesce(bt.typname, t.typname)::text, coalesce(nbt.nspname, nt.nspname)::text, a.atttypid::int8,
  a.attidentity::text, a.attgenerated::text,
  not (a.attnotnull or (t.typtype = 'd' and t.typnotnull)),
  c.relkind in ('r', 'p') or (c.relkind in ('v', 'f') and (
    pg_column_is_updatable(c.oid, a.attnum, false)
    or exists (select 1 from pg_trigger tg
               where tg.tgrelid = c.oid and tg.tgtype & 64 <> 0 and tg.tgtype & 20 <> 0 and not tg.tgisinternal)
    or exists (select 1 from pg_rewrite rw
               where rw.ev_class = c.oid and rw.is_instead and rw.ev_type in ('2', '3')
                 and rw.ev_qual::text = '<>'))),
  a.atthasdef and ad.adbin is not null,
  col_description(c.oid, a.attnum), a.attndims::int
from pg_attribute a
join pg_class c on c.oid = a.attrelid
join pg_namespace n on n.oid = c.relnamespace
join pg_type t on t.oid = a.atttypid
join pg_namespace nt on nt.oid = t.typnamespace
left join pg_type bt on t.typtype = 'd' and bt.oid = t.typbasetype
left join pg_namespace nbt on nbt.oid = bt.typnamespace
left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
where n.nspname = any(%s)
  and not pg_is_other_temp_schema(n.oid)
  and a.attnum > 0 and not a.attisdropped
  and c.relkind in ('r', 'v', 'm', 'f', 'p')
  and (pg_has_role(c.relowner, 'USAGE') or has_column_privilege(c.oid, a.attnum, 'SELECT, INSERT, UPDATE, REFERENCES'))
"""

# Every type of every schema (a column may use a type of a schema that is not generated), without the
# row types of indexes, sequences and TOAST tables.
TYPES_SQL = """
select t.oid::int8, t.typname::text, n.nspname::text,
  case when t.typrelid <> 0 then format_type(t.oid, null) end,
  e.labels, ca.attributes, nullif(t.typrelid::int8, 0), t.typtype::text, t.typbasetype::int8, t.typelem::int8,
  obj_description(t.oid, 'pg_type'), t.typnotnull
from pg_type t
join pg_namespace n on n.oid = t.typnamespace
left join pg_class c on c.oid = t.typrelid
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

# Foreign keys between tables, as PostgREST sees them. A relationship is one-to-one when its columns are
# exactly (in order) the columns of a primary key or unique constraint of its table. Where PostgREST's schema
# cache query compares ``regnamespace::text`` (quoted when the name needs quotes) with the schema names, so
# do we: a schema whose name needs quotes gets relationships without columns, as in postgres-meta.
RELATIONSHIPS_SQL = """
with key_columns as (
  select k.connamespace, k.conrelid,
    array(select a.attname::text from unnest(k.conkey) as u(attnum)
          join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.attnum order by a.attnum) as cols
  from pg_constraint k
  where k.contype in ('p', 'u')
    and k.connamespace::regnamespace::text <> 'pg_catalog'
    and k.connamespace::regnamespace::text = any(%s)
),
foreign_keys as (
  select con.conname::text as name, ns1.nspname::text as schema, tab.relname::text as relation,
    ns2.nspname::text as referenced_schema, other.relname::text as referenced_relation,
    con.connamespace, con.conrelid,
    (select array_agg(ca.attname::text order by u.ord)
     from unnest(con.conkey, con.confkey) with ordinality as u(col, ref, ord)
     join pg_attribute ca on ca.attrelid = con.conrelid and ca.attnum = u.col
     join pg_attribute ra on ra.attrelid = con.confrelid and ra.attnum = u.ref
     where con.connamespace::regnamespace::text = any(%s)) as cols,
    (select array_agg(ra.attname::text order by u.ord)
     from unnest(con.conkey, con.confkey) with ordinality as u(col, ref, ord)
     join pg_attribute ca on ca.attrelid = con.conrelid and ca.attnum = u.col
     join pg_attribute ra on ra.attrelid = con.confrelid and ra.attnum = u.ref
     where con.connamespace::regnamespace::text = any(%s)) as refs
  from pg_constraint con
  join pg_namespace ns1 on ns1.oid = con.connamespace
  join pg_class tab on tab.oid = con.conrelid
  join pg_class other on other.oid = con.confrelid
  join pg_namespace ns2 on ns2.oid = other.relnamespace
  where con.contype = 'f' and con.conparentid = 0 and ns1.nspname = any(%s)
)
select f.name, f.schema, f.relation, f.cols, f.referenced_schema, f.referenced_relation, f.refs,
  exists (select 1 from key_columns k
          where k.connamespace = f.connamespace and k.conrelid = f.conrelid and k.cols = f.cols)
from foreign_keys f
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

# Key columns views may expose: columns of every primary and foreign key, and the referenced columns of the
# schemas' foreign keys.
KEY_COLUMNS_SQL = """
select con.contype::text, con.conname::text, cardinality(con.conkey), con.conrelid::int8, ns.nspname::text,
  rel.relname::text, u.ord::int, u.attnum::int, a.attname::text, con.connamespace::regnamespace::text
from pg_constraint con
cross join lateral unnest(con.conkey) with ordinality as u(attnum, ord)
join pg_class rel on rel.oid = con.conrelid
join pg_namespace ns on ns.oid = rel.relnamespace
join pg_attribute a on a.attrelid = con.conrelid and a.attnum = u.attnum
where con.contype = 'f'
union all
select 'f_ref', con.conname::text, cardinality(con.confkey), con.confrelid::int8, ns.nspname::text,
  rel.relname::text, u.ord::int, u.attnum::int, a.attname::text, con.connamespace::regnamespace::text
from pg_constraint con
cross join lateral unnest(con.confkey) with ordinality as u(attnum, ord)
join pg_class rel on rel.oid = con.confrelid
join pg_namespace ns on ns.oid = rel.relnamespace
join pg_attribute a on a.attrelid = con.confrelid and a.attnum = u.attnum
where con.contype = 'f' and con.connamespace::regnamespace::text = any(%s)
"""

_RELATION_KINDS = {"r": "table", "p": "table", "f": "foreign_table", "v": "view", "m": "materialized_view"}
_ARG_MODES = {"i": "in", "o": "out", "b": "inout", "v": "variadic", "t": "table"}


@dataclass(frozen=True)
class ViewDefinition:
    """A view's (or materialized view's) output columns and the base columns they select, from one rule."""

    id: int
    schema: str
    name: str
    origins: tuple[tuple[int, int, int], ...]  # (view column number, origin relation, origin column number)
    column_names: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class KeyColumn:
    """One column of a foreign key (``f``) or of the columns it references (``f_ref``)."""

    constraint_type: str
    constraint_name: str
    column_count: int
    table_id: int
    table_schema: str
    table_name: str
    position: int
    attnum: int
    attname: str
    constraint_namespace: str  # regnamespace::text of the constraint


@dataclass(frozen=True)
class Snapshot:
    """What one introspection read, for a set of schemas; ``catalog(schemas)`` gives any subset of them
    exactly as introspecting that subset alone would."""

    schemas: tuple[Schema, ...]
    relations: tuple[Relation, ...]
    columns: tuple[Column, ...]
    types: tuple[PgType, ...]
    functions: tuple[Function, ...]
    table_relationships: tuple[Relationship, ...]
    view_definitions: tuple[ViewDefinition, ...]
    key_columns: tuple[KeyColumn, ...]

    def catalog(self, schemas: Iterable[str]) -> Catalog:
        included = set(schemas)
        relations = [relation for relation in self.relations if relation.schema in included]
        table_relationships = [rel for rel in self.table_relationships if rel.schema in included]
        definitions = [definition for definition in self.view_definitions if definition.schema in included]
        key_columns = [key for key in self.key_columns
                       if key.constraint_type == "f" or key.constraint_namespace in included]
        view_relationships = expand_view_relationships(
            table_relationships, view_key_dependencies(definitions, key_columns)) if definitions else []
        return Catalog(
            schemas=tuple(schema for schema in self.schemas if schema.name in included),
            tables=_sorted_relations(relation for relation in relations if relation.kind == "table"),
            foreign_tables=_sorted_relations(relation for relation in relations if relation.kind == "foreign_table"),
            views=_sorted_relations(relation for relation in relations if relation.kind == "view"),
            materialized_views=_sorted_relations(
                relation for relation in relations if relation.kind == "materialized_view"),
            columns=tuple(column for column in self.columns if column.schema in included),
            relationships=tuple(sorted(
                table_relationships + view_relationships,
                key=lambda relationship: (sort_key(relationship.foreign_key_name),
                                          sort_key(relationship.referenced_relation),
                                          sort_key(_json_list(relationship.referenced_columns))))),
            functions=tuple(function for function in self.functions if function.schema in included),
            types=self.types,
        )


def introspect(target: Queryable, schemas: Iterable[str]) -> Catalog:
    """Read everything type generation needs about ``schemas`` in a few queries."""
    included = list(dict.fromkeys(schemas))
    return read_snapshot(target, included).catalog(included)


def read_snapshot(target: Queryable, schemas: Iterable[str]) -> Snapshot:
    """One introspection of ``schemas`` (a handful of catalog queries)."""
    included = list(dict.fromkeys(schemas))
    schema_rows = target.query(SCHEMAS_SQL, (included,))
    relation_rows = target.query(RELATIONS_SQL, (included,))
    column_rows = target.query(COLUMNS_SQL, (included,))
    type_rows = target.query(TYPES_SQL)
    function_rows = target.query(FUNCTIONS_SQL, (included,))
    relationship_rows = target.query(RELATIONSHIPS_SQL, (included,) * 4)
    definitions: list[ViewDefinition] = []
    key_columns: list[KeyColumn] = []
    if relationship_rows and any(row[3] in ("v", "m") for row in relation_rows):
        definitions = [_view_definition(row) for row in target.query(VIEW_DEFINITIONS_SQL, (included,))]
        key_columns = [KeyColumn(*row) for row in target.query(KEY_COLUMNS_SQL, (included,))]
    return Snapshot(
        schemas=tuple(sorted((Schema(id=row[0], name=row[1]) for row in schema_rows),
                             key=lambda schema: (sort_key(schema.name), schema.id))),
        relations=tuple(_relation(row) for row in relation_rows),
        columns=tuple(sorted((_column(row) for row in column_rows),
                             key=lambda column: (sort_key(column.schema), sort_key(column.table),
                                                 sort_key(column.name)))),
        types=tuple(sorted((_type(row) for row in type_rows),
                           key=lambda pg_type: (sort_key(pg_type.schema), sort_key(pg_type.name), pg_type.id))),
        functions=tuple(sorted((_function(row) for row in function_rows),
                               key=lambda function: (sort_key(function.schema), sort_key(function.name),
                                                     sort_key(function.identity_argument_types), function.id))),
        table_relationships=tuple(_relationship(row) for row in relationship_rows),
        view_definitions=tuple(definitions),
        key_columns=tuple(key_columns),
    )


def _view_definition(row: tuple[Any, ...]) -> ViewDefinition:
    view_id, schema, name, action, attributes = row
    return ViewDefinition(
        id=view_id, schema=schema, name=name, origins=tuple(target_list_origins(action)),
        column_names=tuple((int(number), attname) for number, attname in (attributes or {}).items()),
    )


def _sorted_relations(relations: Iterable[Relation]) -> tuple[Relation, ...]:
    return tuple(sorted(relations, key=lambda relation: (sort_key(relation.schema), sort_key(relation.name),
                                                         relation.id)))


def _json_list(values: tuple[str, ...] | None) -> str:
    """JSON.stringify of a list of names (postgres-meta sorts relationships on it)."""
    return "null" if values is None else json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))


def _relation(row: tuple[Any, ...]) -> Relation:
    oid, schema, name, relkind, is_updatable, is_insert_enabled, is_update_enabled, comment = row
    return Relation(id=oid, schema=schema, name=name, kind=_RELATION_KINDS[relkind], is_updatable=is_updatable,
                    is_insert_enabled=is_insert_enabled, is_update_enabled=is_update_enabled, comment=comment)


def _column(row: tuple[Any, ...]) -> Column:
    (table_id, schema, table, position, name, type_name, type_schema, type_id, identity, generated, nullable,
     updatable, has_default, comment, dimensions) = row
    return Column(
        table_id=table_id, schema=schema, table=table, name=name, ordinal_position=position, format=type_name,
        type_schema=type_schema, type_id=type_id, is_identity=identity in ("a", "d"),
        identity_generation={"a": "ALWAYS", "d": "BY DEFAULT"}.get(identity), is_generated=generated in ("s", "v"),
        is_nullable=nullable, is_updatable=updatable, has_default=has_default, comment=comment,
        dimensions=dimensions,
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


def _relationship(row: tuple[Any, ...]) -> Relationship:
    name, schema, relation, columns, referenced_schema, referenced_relation, referenced_columns, one_to_one = row
    return Relationship(
        foreign_key_name=name, schema=schema, relation=relation,
        columns=tuple(columns) if columns is not None else None, is_one_to_one=bool(one_to_one),
        referenced_schema=referenced_schema, referenced_relation=referenced_relation,
        referenced_columns=tuple(referenced_columns) if referenced_columns is not None else None,
    )


# --- Relationships through views ------------------------------------------------------------------------


@dataclass(frozen=True)
class ViewKeyDependency:
    """A view exposes every column of a foreign key (``f``) or of the columns it references (``f_ref``)."""

    table_schema: str
    table_name: str
    view_schema: str
    view_name: str
    constraint_name: str
    constraint_type: str
    column_dependencies: tuple[tuple[str, tuple[str, ...]], ...]  # (table column, view columns selecting it)


_TOKEN = re.compile(r"[(){}]|(?:\\.|[^\s(){}\\])+", re.DOTALL)


def target_list_origins(node_tree: str) -> list[tuple[int, int, int]]:
    """(resno, resorigtbl, resorigcol) of each output column of the first query of a rule's ``ev_action``."""
    tokens = _TOKEN.findall(node_tree)
    depth = 0
    query_depth = -1
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token in ("(", "{"):
            depth += 1
            if token == "{" and query_depth < 0 and index + 1 < len(tokens) and tokens[index + 1] == "QUERY":
                query_depth = depth
        elif token in (")", "}"):
            depth -= 1
            if query_depth >= 0 and depth < query_depth:
                return []
        elif token == ":targetList" and depth == query_depth:
            return _target_entries(tokens, index + 1)
        index += 1
    return []


def _target_entries(tokens: list[str], start: int) -> list[tuple[int, int, int]]:
    if start >= len(tokens) or tokens[start] != "(":
        return []
    entries: list[tuple[int, int, int]] = []
    depth = 1
    fields: dict[str, int] = {}
    index = start + 1
    while index < len(tokens) and depth > 0:
        token = tokens[index]
        if token in ("(", "{"):
            depth += 1
            if depth == 2:
                fields = {}
        elif token in (")", "}"):
            if depth == 2 and token == "}":
                entries.append((fields.get(":resno", 0), fields.get(":resorigtbl", 0), fields.get(":resorigcol", 0)))
            depth -= 1
        elif depth == 2 and token in (":resno", ":resorigtbl", ":resorigcol") and index + 1 < len(tokens):
            try:
                fields[token] = int(tokens[index + 1])
            except ValueError:
                fields[token] = 0
            index += 1
        index += 1
    return entries


def view_key_dependencies(definitions: list[ViewDefinition], key_columns: list[KeyColumn]) -> list[ViewKeyDependency]:
    """Which foreign keys (and referenced keys) the views expose in full, column by column.

    Follows views defined on other views (of the same schemas) down to the base table, as PostgREST's schema
    cache does.
    """
    column_names = {definition.id: dict(definition.column_names) for definition in definitions}
    views: dict[int, tuple[str, str]] = {}
    results: list[tuple[int, int, int, int]] = []  # view, view column, origin table, origin column
    for definition in definitions:
        views[definition.id] = (definition.schema, definition.name)
        results.extend((definition.id, resno, table, column) for resno, table, column in definition.origins)
    by_view_column: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for view_id, view_column, table, column in results:
        by_view_column.setdefault((view_id, view_column), []).append((table, column))
    # (view, view column, origin table, origin column), following views of views (cycles stop).
    recursion: list[tuple[int, int, int, int]] = []
    frontier: list[tuple[int, int, int, int, tuple[int, ...]]] = [
        (view_id, view_column, table, column, (table,)) for view_id, view_column, table, column in results]
    while frontier:
        next_frontier = []
        for view_id, view_column, table, column, path in frontier:
            recursion.append((view_id, view_column, table, column))
            if len(path) > 1 and path[-1] in path[:-1]:
                continue
            for origin_table, origin_column in by_view_column.get((table, column), ()):
                next_frontier.append((view_id, view_column, origin_table, origin_column, (*path, origin_table)))
        frontier = next_frontier
    exposed: dict[tuple[int, int, int], list[str]] = {}  # (view, table, column) -> view columns
    for view_id, view_column, table, column in recursion:
        attname = column_names.get(view_id, {}).get(view_column)
        if attname is not None:
            exposed.setdefault((view_id, table, column), []).append(attname)
    # (table, name, type, column count) -> {(position, column number): column name}; rows of same-named
    # constraints of several tables referencing one table merge, as in PostgREST's query.
    constraints: dict[tuple[int, str, str, int, str, str], dict[tuple[int, int], str]] = {}
    for key in key_columns:
        group = (key.table_id, key.constraint_name, key.constraint_type, key.column_count, key.table_schema,
                 key.table_name)
        constraints.setdefault(group, {})[(key.position, key.attnum)] = key.attname
    dependencies: list[ViewKeyDependency] = []
    for view_id, (view_schema, view_name) in views.items():
        for (table_id, conname, contype, count, table_schema, table_name), columns in constraints.items():
            matched = [(attname, exposed[(view_id, table_id, attnum)])
                       for (_position, attnum), attname in sorted(columns.items())
                       if (view_id, table_id, attnum) in exposed]
            if not matched or len(matched) != count:
                continue
            dependencies.append(ViewKeyDependency(
                table_schema=table_schema, table_name=table_name, view_schema=view_schema, view_name=view_name,
                constraint_name=conname, constraint_type=contype,
                column_dependencies=tuple((attname, tuple(view_columns)) for attname, view_columns in matched),
            ))
    return dependencies


def _cartesian(lists: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    combinations: list[tuple[str, ...]] = [()]
    for entries in lists:
        combinations = [(*combination, entry) for combination in combinations for entry in entries]
    return combinations


def expand_view_relationships(relationships: list[Relationship],
                              dependencies: list[ViewKeyDependency]) -> list[Relationship]:
    """The relationships a view inherits from the foreign keys whose columns it exposes (view to table,
    table to view, and view to view), in PostgREST's order."""
    expanded: list[Relationship] = []
    for rel in relationships:
        to_table = [dep for dep in dependencies if dep.table_schema == rel.schema and dep.table_name == rel.relation
                    and dep.constraint_name == rel.foreign_key_name and dep.constraint_type == "f"]
        to_view = [dep for dep in dependencies if dep.table_schema == rel.referenced_schema
                   and dep.table_name == rel.referenced_relation and dep.constraint_name == rel.foreign_key_name
                   and dep.constraint_type == "f_ref"]
        for dep in to_table:
            for view_columns in _cartesian([columns for _name, columns in dep.column_dependencies]):
                expanded.append(Relationship(
                    foreign_key_name=rel.foreign_key_name, schema=dep.view_schema, relation=dep.view_name,
                    columns=view_columns, is_one_to_one=rel.is_one_to_one, referenced_schema=rel.referenced_schema,
                    referenced_relation=rel.referenced_relation, referenced_columns=rel.referenced_columns))
        for dep in to_view:
            for view_columns in _cartesian([columns for _name, columns in dep.column_dependencies]):
                expanded.append(Relationship(
                    foreign_key_name=rel.foreign_key_name, schema=rel.schema, relation=rel.relation,
                    columns=rel.columns, is_one_to_one=rel.is_one_to_one, referenced_schema=dep.view_schema,
                    referenced_relation=dep.view_name, referenced_columns=view_columns))
        for source in to_table:
            for view_columns in _cartesian([columns for _name, columns in source.column_dependencies]):
                for target in to_view:
                    for referenced in _cartesian([columns for _name, columns in target.column_dependencies]):
                        expanded.append(Relationship(
                            foreign_key_name=rel.foreign_key_name, schema=source.view_schema,
                            relation=source.view_name, columns=view_columns, is_one_to_one=rel.is_one_to_one,
                            referenced_schema=target.view_schema, referenced_relation=target.view_name,
                            referenced_columns=referenced))
    return expanded
