"""TypeScript as the Supabase CLI 3 prints it (``supabase gen types typescript``, 3.1.0).

CLI 3 generates in process with ``@supabase/typegen`` and prints its template as is, unformatted (it suggests
``npx oxfmt``): members joined by bare commas, the template's own indentation, one line per template line.
This renderer writes the same bytes from the same catalog introspection as postgres-meta 0.99's renderer
(``typescript``), with CLI 3's differences: ``ComputedFields`` on every table and view, function arguments
of a row type as ``Omit<Row, ComputedFields>``, view columns NOT NULL where the view's rule says so
(``view_nullability``), functions as ``rpc_functions`` reads them, and the helper types' default schema
falling back to the first schema when ``public`` is not generated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from supadeploy.typegen.catalog import Catalog, Column, PgType, Relation, Relationship
from supadeploy.typegen.collation import sort_key
from supadeploy.typegen.rpc_functions import Overload, RpcFunction, TypedName, rpc_functions

DEFAULT_SCHEMA = "public"
JSON_TYPE = ("\nexport type Json = string | number | boolean | null | { [key: string]: Json | undefined } | Json[]"
             "\n\nexport type Database = {\n  ")
_INTERNAL = ("// Allows to automatically instantiate createClient with right options\n"
             "  // instead of createClient<Database, { PostgrestVersion: 'XX' }>(URL, KEY)\n"
             "  __InternalSupabase: {\n    PostgrestVersion: '{version}'\n  }")
_NEVER_MAP = "[_ in never]: never"
_STRING_TYPES = frozenset({"bytea", "bpchar", "varchar", "date", "text", "citext", "time", "timetz", "timestamp",
                           "timestamptz", "uuid", "vector", "interval"})
_NUMBER_TYPES = frozenset({"int2", "int4", "int8", "float4", "float8", "numeric"})
# The template's helper types, after the Database type; DEFAULT_SCHEMA_NAME is JSON.stringify(default schema).
_HELPER_TYPES = """\

}

type DatabaseWithoutInternals = Omit<Database, '__InternalSupabase'>

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, DEFAULT_SCHEMA_NAME>]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
  ? (DefaultSchema["Tables"] & DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
      Row: infer R
    }
    ? R
    : never
  : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
  ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Insert: infer I
    }
    ? I
    : never
  : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
  ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Update: infer U
    }
    ? U
    : never
  : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never = never
> = DefaultSchemaEnumNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
  ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
  : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never = never
> = PublicCompositeTypeNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
  ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
  : never

"""


@dataclass(frozen=True)
class Cli3Options:
    detect_one_to_one_relationships: bool = True
    postgrest_version: str | None = None
    default_schema: str = DEFAULT_SCHEMA
    not_null_view_columns: frozenset[tuple[int, int]] = frozenset()  # (view id, column number)


def generate_typescript_cli3(catalog: Catalog, options: Cli3Options | None = None) -> str:
    """What ``supabase gen types typescript`` 3.1.0 prints for the catalog."""
    return _Cli3Renderer(catalog, options or Cli3Options()).render()


_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')
_js_cache: dict[str, str] = {}


def _js(value: str) -> str:
    """JSON.stringify of a string (cached: names repeat on every Row, Insert and Update)."""
    text = _js_cache.get(value)
    if text is None:
        text = json.dumps(value, ensure_ascii=False) if _NEEDS_ESCAPE.search(value) else f'"{value}"'
        if len(_js_cache) < 200_000:
            _js_cache[value] = text
    return text


def _js_names(values: tuple[str, ...] | None) -> str:
    """JSON.stringify of a list of names (or null)."""
    return "null" if values is None else "[" + ",".join(map(_js, values)) + "]"


def _nullable(ts_type: str, is_nullable: bool) -> str:
    if ts_type == "Json" and not is_nullable:
        return "NonNullable<Json>"
    if ts_type in ("unknown", "any") or not is_nullable:
        return ts_type
    return ts_type + " | null"


def relationship_order(relationship: Relationship) -> tuple[object, ...]:
    """The order @supabase/typegen sorts relationships in."""
    return (sort_key(relationship.foreign_key_name), sort_key(relationship.referenced_relation),
            sort_key(_js_names(relationship.referenced_columns)), sort_key(relationship.referenced_schema),
            sort_key(relationship.schema), sort_key(relationship.relation), sort_key(_js_names(relationship.columns)))


class _Cli3Renderer:
    def __init__(self, catalog: Catalog, options: Cli3Options) -> None:
        self.catalog = catalog
        self.options = options
        self.schema_names = {schema.name for schema in catalog.schemas}
        self.relations = {relation.id: relation for relation in (
            *catalog.tables, *catalog.foreign_tables, *catalog.views, *catalog.materialized_views)}
        self.relations_by_name: dict[str, list[tuple[str, Relation]]] = {}
        for kind, relations in (("Tables", catalog.tables), ("Tables", catalog.foreign_tables),
                                ("Views", catalog.views), ("Views", catalog.materialized_views)):
            for relation in relations:
                self.relations_by_name.setdefault(relation.name, []).append((kind, relation))
        self.enums_by_name: dict[str, list[PgType]] = {}
        self.composites_by_name: dict[str, list[PgType]] = {}
        for pg_type in catalog.types:
            if pg_type.enums:
                self.enums_by_name.setdefault(pg_type.name, []).append(pg_type)
            if pg_type.attributes:
                self.composites_by_name.setdefault(pg_type.name, []).append(pg_type)
        self.types_by_id = {pg_type.id: pg_type for pg_type in catalog.types}
        self.columns: dict[int, list[Column]] = {relation_id: [] for relation_id in self.relations}
        for column in catalog.columns:
            if column.table_id in self.columns:
                self.columns[column.table_id].append(column)
        self.relationships: dict[tuple[str, str], list[Relationship]] = {}
        for relationship in sorted(catalog.relationships, key=relationship_order):
            if relationship.referenced_schema == relationship.schema:
                self.relationships.setdefault((relationship.schema, relationship.relation), []).append(relationship)
        self.functions: dict[str, list[RpcFunction]] = {}
        self.computed_fields: dict[int, list[tuple[str, Overload]]] = {}  # relation id -> (name, overload)
        for rpc in rpc_functions(catalog):
            self.functions.setdefault(rpc.schema, []).append(rpc)
            for relation_id in dict.fromkeys(overload.computed_field_of for overload in rpc.overloads):
                if relation_id is not None:
                    first = next(item for item in rpc.overloads if item.computed_field_of == relation_id)
                    self.computed_fields.setdefault(relation_id, []).append((rpc.name, first))
        self.type_cache: dict[tuple[str, str, str], str] = {}

    # --- types ----------------------------------------------------------------------------------------------

    def ts_type(self, schema: str, pg_type: str, type_schema: str | None) -> str:
        """pgTypeToTsType: the TypeScript of a type name, seen from ``schema``."""
        preferred = type_schema if type_schema is not None else schema
        key = (schema, pg_type, preferred)
        cached = self.type_cache.get(key)
        if cached is None:
            cached = self.type_cache[key] = self._ts_type(schema, pg_type, preferred)
        return cached

    def _ts_type(self, schema: str, pg_type: str, preferred: str) -> str:
        if pg_type == "bool":
            return "boolean"
        if pg_type in _NUMBER_TYPES:
            return "number"
        if pg_type in _STRING_TYPES:
            return "string"
        if pg_type in ("json", "jsonb"):
            return "Json"
        if pg_type == "void":
            return "undefined"
        if pg_type == "record":
            return "Record<string, unknown>"
        if pg_type.startswith("_"):
            return f"({self.ts_type(schema, pg_type[1:], preferred)})[]"
        enum = _preferred(self.enums_by_name.get(pg_type, ()), preferred)
        if enum is not None:
            if enum.schema in self.schema_names:
                return f"Database[{_js(enum.schema)}]['Enums'][{_js(enum.name)}]"
            return "|".join(_js(value) for value in enum.enums)
        composite = _preferred(self.composites_by_name.get(pg_type, ()), preferred)
        if composite is not None:
            if composite.schema in self.schema_names:
                return f"Database[{_js(composite.schema)}]['CompositeTypes'][{_js(composite.name)}]"
            return "unknown"
        relation = self.relation_path(pg_type, preferred)
        return f"{relation}['Row']" if relation else "unknown"

    def relation_path(self, name: str, schema: str) -> str | None:
        """``Database["s"]['Tables']["t"]`` of the relation a row type names (its schema's first, else any)."""
        candidates = self.relations_by_name.get(name, ())
        match = next((item for item in candidates if item[1].schema == schema), None) or next(iter(candidates), None)
        if match is None or match[1].schema not in self.schema_names:
            return None
        kind, relation = match
        return f"Database[{_js(relation.schema)}]['{kind}'][{_js(relation.name)}]"

    def _typed(self, schema: str, typed: TypedName) -> str:
        if typed.format is None or typed.type_schema is None:
            return "unknown"
        return self.ts_type(schema, typed.format, typed.type_schema)

    def _column(self, schema: str, column: Column, *, nullable: bool, optional: bool) -> str:
        return (f"{_js(column.name)}{'?' if optional else ''}: "
                f"{_nullable(self.ts_type(schema, column.format, column.type_schema), nullable)}")

    def _is_nullable(self, column: Column) -> bool:
        return column.is_nullable and (column.table_id, column.ordinal_position) not in \
            self.options.not_null_view_columns

    # --- functions --------------------------------------------------------------------------------------

    def _returns(self, schema: str, overload: Overload) -> str:
        if overload.returns_columns:
            members = ",".join(f"{_js(column.name)}: {self._typed(schema, column)}"
                               for column in overload.returns_columns)
            return f"{{\n              {members}\n            }}"
        relation = self.relations.get(overload.returns_relation_id) if overload.returns_relation_id else None
        if relation is not None and relation.schema == schema:
            members = ",\n".join(self._column(schema, column, nullable=self._is_nullable(column), optional=False)
                                 for column in self.columns[relation.id])
            return f"{{\n              {members}\n            }}"
        return self._typed(schema, overload.returns)

    def _arg(self, schema: str, arg: TypedName) -> str:
        ts_type = self._typed(schema, arg)
        if arg.name == "" or arg.format is None or arg.type_schema is None:
            return ts_type
        relation = self.relation_path(arg.format, arg.type_schema)
        if relation and ts_type == f"{relation}['Row']":
            return f"Omit<{ts_type}, {relation}['ComputedFields']>"
        return ts_type

    def _signature(self, schema: str, overload: Overload) -> str:
        args = ("{ " + ",".join(f"{_js(arg.name)}{'?' if arg.has_default else ''}: {self._arg(schema, arg)}"
                                for arg in overload.args) + " }") if overload.args else "Record<PropertyKey, never>"
        returns = self._returns(schema, overload) if overload.error is None \
            else f"{{ error: true }} & {_js(overload.error)}"
        setof = overload.setof
        setof_text = (f"SetofOptions: {{\n        from: {_js(setof.source)}\n        to: {_js(setof.target)}\n"
                      f"        isOneToOne: {_bool(setof.is_one_to_one)}\n"
                      f"        isSetofReturn: {_bool(setof.is_setof_return)}\n      }}") if setof else ""
        as_array = overload.error is None and overload.function.is_set_returning_function \
            and not (setof is not None and setof.is_one_to_one)
        return (f"{{ Args: {args}; Returns: {returns}{'[]' if as_array else ''}\n"
                f"                          {setof_text} }}")

    def _functions(self, schema: str) -> str:
        functions = self.functions.get(schema, [])
        if not functions:
            return _NEVER_MAP
        return ",\n".join(f"{_js(rpc.name)}:\n" + " |\n".join(self._signature(schema, overload)
                                                              for overload in rpc.overloads)
                          for rpc in functions)

    def _computed_fields(self, relation: Relation) -> list[tuple[str, Overload]]:
        """The functions that are computed fields of the relation (an RPC function's first overload on it)."""
        return self.computed_fields.get(relation.id, [])

    # --- relations --------------------------------------------------------------------------------------

    def _relationship(self, relationship: Relationship) -> str:
        one_to_one = f"\nisOneToOne: {_bool(relationship.is_one_to_one)}" \
            if self.options.detect_one_to_one_relationships else ""
        return (f"{{\n      foreignKeyName: {_js(relationship.foreign_key_name)}\n"
                f"      columns: {_js_names(relationship.columns)}{one_to_one}\n"
                f"      referencedRelation: {_js(relationship.referenced_relation)}\n"
                f"      referencedColumns: {_js_names(relationship.referenced_columns)}\n    }}")

    def _row(self, schema: str, relation: Relation, computed: list[tuple[str, Overload]],
             members: list[str] | None = None) -> str:
        """``members``: the Row members of the columns, when the caller has them already."""
        if members is None:
            members = [self._column(schema, column, nullable=self._is_nullable(column), optional=False)
                       for column in self.columns[relation.id]]
        members += [f"{_js(name)}: {_nullable(self._returns(schema, overload), True)}" for name, overload in computed]
        names = " | ".join(_js(name) for name, _ in computed) if computed else "never"
        return (f"{_js(relation.name)}: {{\n                  Row: {{\n                    {','.join(members)}\n"
                f"                  }}\n                  ComputedFields: {names}\n")

    def _table(self, schema: str, relation: Relation) -> str:
        columns = self.columns[relation.id]
        rows = []
        inserts = []
        updates = []
        for column in columns:  # each column's name and type worked out once for Row, Insert and Update
            key = _js(column.name)
            nullable = self._is_nullable(column)
            ts_type = _nullable(self.ts_type(schema, column.format, column.type_schema), nullable)
            rows.append(f"{key}: {ts_type}")
            if column.identity_generation == "ALWAYS" or column.is_generated:
                inserts.append(f"{key}?: never")
                updates.append(f"{key}?: never")
                continue
            optional = nullable or column.is_identity or column.has_default
            inserts.append(f"{key}?: {ts_type}" if optional else f"{key}: {ts_type}")
            updates.append(f"{key}?: {ts_type}")
        return (self._row(schema, relation, self._computed_fields(relation), rows)
                + f"                  Insert: {{\n                    {','.join(inserts)}\n                  }}\n"
                + f"                  Update: {{\n                    {','.join(updates)}\n                  }}\n"
                + "                  " + self._relationships(schema, relation))

    def _view(self, schema: str, relation: Relation) -> str:
        is_view = relation.kind == "view"
        writes = ""
        for enabled, name in ((is_view and relation.is_insert_enabled, "Insert"),
                              (is_view and relation.is_update_enabled, "Update")):
            if enabled:
                members = ",".join(
                    self._column(schema, column, nullable=True, optional=True) if column.is_updatable
                    else f"{_js(column.name)}?: never" for column in self.columns[relation.id])
                writes += f"{name}: {{\n                           {members}\n                         }}\n" \
                          "                        "
        return (self._row(schema, relation, self._computed_fields(relation))
                + f"                  {writes}" + self._relationships(schema, relation))

    def _relationships(self, schema: str, relation: Relation) -> str:
        listed = ",".join(self._relationship(relationship)
                          for relationship in self.relationships.get((schema, relation.name), ()))
        return f"Relationships: [\n                    {listed}\n                  ]\n                }}"

    # --- the document -----------------------------------------------------------------------------------

    def _schema(self, schema: str) -> str:
        tables = sorted((relation for relation in (*self.catalog.tables, *self.catalog.foreign_tables)
                         if relation.schema == schema), key=lambda relation: sort_key(relation.name))
        views = sorted((relation for relation in (*self.catalog.views, *self.catalog.materialized_views)
                        if relation.schema == schema), key=lambda relation: sort_key(relation.name))
        enums = sorted((pg_type for pg_type in self.catalog.types if pg_type.schema == schema and pg_type.enums),
                       key=lambda pg_type: sort_key(pg_type.name))
        composites = sorted((pg_type for pg_type in self.catalog.types
                             if pg_type.schema == schema and pg_type.attributes),
                            key=lambda pg_type: sort_key(pg_type.name))
        tables_text = ",".join(self._table(schema, table) for table in tables) if tables else _NEVER_MAP
        views_text = ",".join(self._view(schema, view) for view in views) if views else _NEVER_MAP
        enums_text = ",".join(f"{_js(enum.name)}: " + "|".join(_js(value) for value in enum.enums)
                              for enum in enums) if enums else _NEVER_MAP
        composites_text = ",".join(self._composite(schema, pg_type) for pg_type in composites) \
            if composites else _NEVER_MAP
        return (f"{_js(schema)}: {{\n          Tables: {{\n            {tables_text}\n          }}\n"
                f"          Views: {{\n            {views_text}\n          }}\n"
                f"          Functions: {{\n            {self._functions(schema)}\n          }}\n"
                f"          Enums: {{\n            {enums_text}\n          }}\n"
                f"          CompositeTypes: {{\n            {composites_text}\n          }}\n        }}")

    def _composite(self, schema: str, pg_type: PgType) -> str:
        members = []
        for attribute in pg_type.attributes:
            attribute_type = self.types_by_id.get(attribute.type_id)
            ts_type = _nullable(self.ts_type(schema, attribute_type.name, attribute_type.schema), True) \
                if attribute_type else "unknown"
            members.append(f"{_js(attribute.name)}: {ts_type}")
        return f"{_js(pg_type.name)}: {{\n                        {','.join(members)}\n                      }}"

    def _constants(self) -> str:
        entries = []
        for schema in self.catalog.schemas:
            enums = sorted((pg_type for pg_type in self.catalog.types
                            if pg_type.schema == schema.name and pg_type.enums),
                           key=lambda pg_type: sort_key(pg_type.name))
            listed = ",".join(f"{_js(enum.name)}: [" + ", ".join(_js(value) for value in enum.enums) + "]"
                              for enum in enums)
            entries.append(f"{_js(schema.name)}: {{\n          Enums: {{\n            {listed}\n          }}\n"
                           "        }")
        return "export const Constants = {\n  " + ",".join(entries) + "\n} as const\n"

    def default_schema(self) -> str:
        wanted = self.options.default_schema
        if wanted in self.schema_names or not self.catalog.schemas:
            return wanted
        return self.catalog.schemas[0].name

    def render(self) -> str:
        internal = _INTERNAL.replace("{version}", self.options.postgrest_version) \
            if self.options.postgrest_version else ""
        schemas = ",".join(self._schema(schema.name) for schema in self.catalog.schemas)
        return (JSON_TYPE + internal + "\n  " + schemas
                + _HELPER_TYPES.replace("DEFAULT_SCHEMA_NAME", _js(self.default_schema()))
                + self._constants())


def _bool(value: bool | None) -> str:
    return "true" if value else "false"


def _preferred(types: Iterable[PgType], schema: str) -> PgType | None:
    """The type of ``schema`` among same-named ones, else the first."""
    listed = list(types)
    return next((pg_type for pg_type in listed if pg_type.schema == schema), listed[0] if listed else None)
