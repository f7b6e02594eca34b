"""What type generation knows about a database: the relations, columns, types, functions and relationships
of the generated schemas, each collection in the order postgres-meta sorts it (by name, with its
collation). Built by ``supadeploy.typegen.introspect``; read by the generators. The classes built by the
thousand (columns, types, constraints, relationships) are slotted, not frozen: a frozen dataclass's
``__init__`` sets each field through ``object.__setattr__``, twice the cost at 2,000 tables."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Schema:
    id: int
    name: str


@dataclass(slots=True)
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


@dataclass(slots=True)
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


@dataclass(slots=True)
class TypeAttribute:
    name: str
    type_id: int


@dataclass(slots=True)
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


@dataclass(slots=True)
class FunctionArg:
    mode: str  # "in" | "out" | "inout" | "variadic" | "table"
    name: str
    type_id: int
    has_default: bool | None


@dataclass(slots=True)
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


@dataclass(slots=True)
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
