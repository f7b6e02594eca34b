"""What SQLAlchemy models need from the catalog, in one query through ``Target.query``.

The relations of the generated schemas (tables as postgres-meta lists them: some privilege or ownership
needed; views, materialized views and foreign tables always) and, as SQLAlchemy's reflection does, every
table their foreign keys reach in other schemas (``auth.users`` for a ``public.users`` that references
it), so that every ``ForeignKey`` of the module resolves. Per relation: the columns in table order with
their type (and type modifier), NOT NULL, default, identity options, generation expression and comment; the
primary, unique and foreign keys. Plus the types those columns use (enums with their labels, domains,
arrays). The rows are JSON documents, so the query reads the same through psycopg and the Management API.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

CATALOG_SQL = """
with recursive wanted(oid) as (
  select c.oid
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = any(%s)
    and c.relkind in ('r', 'p', 'v', 'm', 'f')
    and not pg_is_other_temp_schema(n.oid)
    and (c.relkind not in ('r', 'p')
         or pg_has_role(c.relowner, 'USAGE')
         or has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
         or has_any_column_privilege(c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))
  union
  select con.confrelid from pg_constraint con join wanted w on w.oid = con.conrelid where con.contype = 'f'
),
used_types(oid) as (
  select a.atttypid from pg_attribute a join wanted w on w.oid = a.attrelid where a.attnum > 0 and not a.attisdropped
  union
  select x.id from used_types u join pg_type t on t.oid = u.oid,
    lateral (values (t.typelem), (t.typbasetype)) as x(id)
  where x.id <> 0
)
select 'relation', json_build_object(
  'oid', c.oid::int8, 'schema', n.nspname, 'name', c.relname, 'kind', c.relkind::text,
  'comment', obj_description(c.oid, 'pg_class'),
  'columns', (
    select coalesce(json_agg(json_build_object(
      'name', a.attname, 'number', a.attnum, 'type_oid', a.atttypid::int8, 'typmod', a.atttypmod,
      'dimensions', a.attndims, 'not_null', a.attnotnull,
      'default', case when a.attgenerated = '' then pg_get_expr(d.adbin, d.adrelid) end,
      'generated', case when a.attgenerated <> '' then pg_get_expr(d.adbin, d.adrelid) end,
      'identity', nullif(a.attidentity::text, ''),
      'sequence', case when a.attidentity <> '' then (
        select json_build_array(s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcycle, s.seqcache)
        from pg_depend dep join pg_sequence s on s.seqrelid = dep.objid
        where dep.refobjid = c.oid and dep.refobjsubid = a.attnum and dep.classid = 'pg_class'::regclass
          and dep.deptype = 'i' limit 1) end,
      'comment', col_description(c.oid, a.attnum)
    ) order by a.attnum), '[]')
    from pg_attribute a
    left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped),
  'constraints', (
    select coalesce(json_agg(json_build_object(
      'type', con.contype::text, 'name', con.conname, 'columns', con.conkey,
      'referenced_oid', con.confrelid::int8, 'referenced_columns', con.confkey,
      'on_delete', con.confdeltype::text, 'on_update', con.confupdtype::text,
      'deferrable', con.condeferrable, 'deferred', con.condeferred, 'inherited', con.conparentid <> 0
    ) order by con.contype, con.conname), '[]')
    from pg_constraint con where con.conrelid = c.oid and con.contype in ('p', 'u', 'f'))
)
from wanted w
join pg_class c on c.oid = w.oid
join pg_namespace n on n.oid = c.relnamespace
union all
select 'type', json_build_object(
  'oid', t.oid::int8, 'schema', n.nspname, 'name', t.typname, 'kind', t.typtype::text,
  'element_oid', t.typelem::int8, 'base_oid', t.typbasetype::int8, 'base_typmod', t.typtypmod,
  'category', t.typcategory::text, 'not_null', t.typnotnull,
  'labels', (select json_agg(e.enumlabel order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid)
)
from used_types u
join pg_type t on t.oid = u.oid
join pg_namespace n on n.oid = t.typnamespace
"""


class Queryable(Protocol):
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


@dataclass(frozen=True)
class IdentityOptions:
    always: bool
    start: int
    increment: int
    minvalue: int
    maxvalue: int
    cycle: bool
    cache: int


@dataclass(frozen=True)
class ModelColumn:
    name: str
    number: int
    type_id: int
    typmod: int
    dimensions: int
    not_null: bool
    default: str | None
    generated: str | None
    identity: IdentityOptions | None
    comment: str | None


@dataclass(frozen=True)
class Key:
    """A primary (``p``), unique (``u``) or foreign (``f``) key, with column names."""

    type: str
    name: str
    columns: tuple[str, ...]
    referenced_id: int = 0
    referenced_columns: tuple[str, ...] = ()
    on_delete: str | None = None
    on_update: str | None = None
    deferrable: bool = False
    deferred: bool = False
    inherited: bool = False


@dataclass(frozen=True)
class ModelRelation:
    id: int
    schema: str
    name: str
    kind: str  # pg_class.relkind: r, p, v, m, f
    comment: str | None
    columns: tuple[ModelColumn, ...]
    keys: tuple[Key, ...]
    generated: bool  # in the generated schemas (else only reached by a foreign key)

    @property
    def primary_key(self) -> Key | None:
        return next((key for key in self.keys if key.type == "p"), None)

    @property
    def is_view(self) -> bool:
        return self.kind in ("v", "m")


@dataclass(frozen=True)
class ModelType:
    id: int
    schema: str
    name: str
    kind: str  # pg_type.typtype
    element_id: int
    base_id: int
    base_typmod: int
    category: str
    labels: tuple[str, ...]
    not_null: bool  # a domain declared NOT NULL


@dataclass(frozen=True)
class ModelCatalog:
    relations: tuple[ModelRelation, ...]  # by schema, then name
    types: dict[int, ModelType]


_ACTIONS = {"c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT", "r": "RESTRICT"}  # "a" (NO ACTION) is the default


def read_model_catalog(target: Queryable, schemas: Iterable[str]) -> ModelCatalog:
    """The relations of ``schemas`` (and the tables their foreign keys reach) and the types they use."""
    included = list(dict.fromkeys(schemas))
    rows = target.query(CATALOG_SQL, (included,))
    documents = [document for kind, document in rows if kind == "relation"]
    names = {document["oid"]: {column["number"]: column["name"] for column in document["columns"]}
             for document in documents}
    types = {document["oid"]: _type(document) for kind, document in rows if kind == "type"}
    relations = [_relation(document, names, types, document["schema"] in included) for document in documents]
    return ModelCatalog(relations=tuple(sorted(relations, key=lambda relation: (relation.schema, relation.name))),
                        types=types)


def _relation(document: dict[str, Any], names: dict[int, dict[int, str]], types: dict[int, ModelType],
              generated: bool) -> ModelRelation:
    columns = tuple(_column(column, types) for column in document["columns"])
    own = names[document["oid"]]
    keys = []
    for constraint in document["constraints"]:
        referenced = names.get(constraint["referenced_oid"], {})
        keys.append(Key(
            type=constraint["type"], name=constraint["name"], columns=_names(own, constraint["columns"]),
            referenced_id=constraint["referenced_oid"],
            referenced_columns=_names(referenced, constraint["referenced_columns"]),
            on_delete=_ACTIONS.get(constraint["on_delete"] or ""),
            on_update=_ACTIONS.get(constraint["on_update"] or ""),
            deferrable=constraint["deferrable"], deferred=constraint["deferred"], inherited=constraint["inherited"]))
    return ModelRelation(id=document["oid"], schema=document["schema"], name=document["name"], kind=document["kind"],
                         comment=document["comment"], columns=columns, keys=tuple(keys), generated=generated)


def _names(columns: dict[int, str], numbers: list[int] | None) -> tuple[str, ...]:
    """The names of columns given by attribute number."""
    return tuple(columns[number] for number in numbers or ())


def _column(document: dict[str, Any], types: dict[int, ModelType]) -> ModelColumn:
    identity = None
    if document["identity"]:
        start, increment, minvalue, maxvalue, cycle, cache = document["sequence"]
        identity = IdentityOptions(always=document["identity"] == "a", start=int(start), increment=int(increment),
                                   minvalue=int(minvalue), maxvalue=int(maxvalue), cycle=bool(cycle), cache=int(cache))
    return ModelColumn(name=document["name"], number=document["number"], type_id=document["type_oid"],
                       typmod=document["typmod"], dimensions=document["dimensions"],
                       not_null=document["not_null"] or _domain_not_null(document["type_oid"], types),
                       default=document["default"], generated=document["generated"],
                       identity=identity, comment=document["comment"])


def _domain_not_null(type_id: int, types: dict[int, ModelType]) -> bool:
    """Whether a column of this type is NOT NULL through its domain (or a domain under it)."""
    pg_type = types.get(type_id)
    for _ in range(32):
        if pg_type is None or pg_type.kind != "d":
            return False
        if pg_type.not_null:
            return True
        pg_type = types.get(pg_type.base_id)
    return False


def _type(document: dict[str, Any]) -> ModelType:
    return ModelType(id=document["oid"], schema=document["schema"], name=document["name"], kind=document["kind"],
                     element_id=document["element_oid"], base_id=document["base_oid"],
                     base_typmod=document["base_typmod"], category=document["category"],
                     labels=tuple(document["labels"] or ()), not_null=document["not_null"])
