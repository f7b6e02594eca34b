"""TypeScript types identical to postgres-meta 0.99.0's (``supabase gen types typescript``).

The generator follows postgres-meta's template rule by rule (which functions PostgREST can call, how
overloads, computed fields, ``SETOF`` returns and view relationships are typed) and prints the result with
the layout oxfmt gives it (``supadeploy.typegen.layout``), so the bytes are the same for the same database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from supadeploy.typegen.catalog import Catalog, Column, Function, FunctionArg, PgType, Relation, Relationship
from supadeploy.typegen.collation import sort_key
from supadeploy.typegen.layout import LINE, SOFTLINE, Doc, Group, IfBreak, Indent, join, print_doc, string_width
from supadeploy.typegen.tstypes import (
    NULL,
    UNKNOWN,
    Arr,
    Generic,
    Inter,
    Lit,
    NeverMap,
    Obj,
    Prop,
    Ref,
    TsType,
    Tuple_,
    Union_,
    Written,
    emit_member,
    flat_text,
    property_key,
    string_literal,
    union,
    with_array_suffix,
)

JSON_TYPE = """export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[]

"""

# The helper types after `Database`, as oxfmt prints them (the default schema is always "public", as with
# `supabase gen types`).
HELPER_TYPES = """\
type DatabaseWithoutInternals = Omit<Database, "__InternalSupabase">

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] &
        DefaultSchema["Views"])
    ? (DefaultSchema["Tables"] &
        DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
        Row: infer R
      }
      ? R
      : never
    : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
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
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
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
  EnumName extends (DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never) = never,
> = DefaultSchemaEnumNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
    : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends (PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never) = never,
> = PublicCompositeTypeNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
    : never

"""

# json, jsonb, text: the only types PostgREST accepts for a single unnamed argument.
VALID_UNNAMED_ARG_TYPES = frozenset({114, 3802, 25})
INPUT_MODES = frozenset({"in", "inout", "variadic"})
_NUMBER_TYPES = frozenset({"int2", "int4", "int8", "float4", "float8", "numeric"})
_STRING_TYPES = frozenset({
    "bytea", "bpchar", "varchar", "date", "text", "citext", "time", "timetz", "timestamp", "timestamptz", "uuid",
    "vector", "interval",
})
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")
NEVER = Ref("never")
JSON = Ref("Json")
RECORD = Generic("Record", (Ref("string"), Ref("unknown")))


@dataclass(frozen=True)
class TypescriptOptions:
    """``detect_one_to_one_relationships``: emit ``isOneToOne`` (``supabase gen types`` does);
    ``postgrest_version``: emit ``__InternalSupabase.PostgrestVersion``."""

    detect_one_to_one_relationships: bool = True
    postgrest_version: str | None = None


@dataclass
class _SchemaObjects:
    tables: list[tuple[Relation, list[Relationship]]] = field(default_factory=list)
    views: list[tuple[Relation, list[Relationship]]] = field(default_factory=list)
    functions: list[tuple[Function, list[FunctionArg]]] = field(default_factory=list)
    enums: list[PgType] = field(default_factory=list)
    composite_types: list[PgType] = field(default_factory=list)


def generate_typescript(catalog: Catalog, options: TypescriptOptions | None = None) -> str:
    """The TypeScript postgres-meta prints for ``catalog`` (its stdout: the formatted code and a newline)."""
    return _TypescriptGenerator(catalog, options or TypescriptOptions()).generate()


def _js_bool(value: bool | None) -> Ref:
    return Ref("null" if value is None else "true" if value else "false")


def _js_object_key_order(names: list[str]) -> list[str]:
    """Key order of a JavaScript object: array-index-like keys first, ascending, then insertion order."""
    indexes = sorted((name for name in names if _ARRAY_INDEX.fullmatch(name) and int(name) < 2**32 - 1), key=int)
    return indexes + [name for name in names if name not in set(indexes)]


def nullable(type_: TsType, is_nullable: bool) -> TsType:
    """``X | null`` for a nullable value; a NOT NULL json value is ``NonNullable<Json>``."""
    if type_ == JSON and not is_nullable:
        return Generic("NonNullable", (JSON,))
    if type_ in (UNKNOWN, Ref("any")) or not is_nullable:
        return type_
    return union(type_, NULL)


def _database_ref(schema: str, kind: str, name: str, suffix: str = "") -> Ref:
    return Ref(f"Database[{string_literal(schema)}][{string_literal(kind)}][{string_literal(name)}]{suffix}")


class _TypescriptGenerator:
    def __init__(self, catalog: Catalog, options: TypescriptOptions) -> None:
        self.catalog = catalog
        self.options = options
        self.schema_names = {schema.name for schema in catalog.schemas}
        self.types_by_id = {pg_type.id: pg_type for pg_type in catalog.types}
        self.relation_types = {pg_type.id: pg_type for pg_type in catalog.types if pg_type.type_relation_id}
        self.enums_by_name: dict[str, list[PgType]] = {}
        self.composites_by_name: dict[str, list[PgType]] = {}
        for pg_type in catalog.types:
            if pg_type.enums:
                self.enums_by_name.setdefault(pg_type.name, []).append(pg_type)
            if pg_type.attributes:
                self.composites_by_name.setdefault(pg_type.name, []).append(pg_type)
        self.relation_kinds: list[tuple[str, tuple[Relation, ...]]] = [
            ("Tables", catalog.tables), ("Tables", catalog.foreign_tables),
            ("Views", catalog.views), ("Views", catalog.materialized_views),
        ]
        self.relations_by_name: dict[str, list[tuple[str, Relation]]] = {}
        for kind, relations in self.relation_kinds:
            for relation in relations:
                self.relations_by_name.setdefault(relation.name, []).append((kind, relation))
        self.relation_names: dict[int, str] = {}
        self.columns_by_table: dict[int, list[Column]] = {}
        for _kind, relations in self.relation_kinds:
            for relation in relations:
                self.relation_names[relation.id] = relation.name
                self.columns_by_table[relation.id] = []
        for column in catalog.columns:
            if column.table_id in self.columns_by_table:
                self.columns_by_table[column.table_id].append(column)
        self._ts_types: dict[tuple[str, str, str | None], TsType] = {}
        self._column_types: dict[tuple[str, str, str, bool], TsType] = {}
        self.by_schema = self._group_by_schema()
        self.relations_by_id = {schema: {relation.id: relation for relation, _ in (*objects.tables, *objects.views)}
                                for schema, objects in self.by_schema.items()}
        self.computed_fields = {schema: self._computed_field_index(schema) for schema in self.by_schema}

    # --- grouping -----------------------------------------------------------------------------------

    def _group_by_schema(self) -> dict[str, _SchemaObjects]:
        catalog = self.catalog
        by_schema = {schema.name: _SchemaObjects() for schema in catalog.schemas}
        for pg_type in catalog.types:
            if pg_type.schema in by_schema:
                if pg_type.enums:
                    by_schema[pg_type.schema].enums.append(pg_type)
                if pg_type.attributes:
                    by_schema[pg_type.schema].composite_types.append(pg_type)
        buckets: dict[str, list[Relationship]] = {}
        for relationship in catalog.relationships:
            buckets.setdefault(f"{relationship.schema}.{relationship.relation}", []).append(relationship)

        def relationships_of(relation: Relation) -> list[Relationship]:
            return [relationship for relationship in buckets.get(f"{relation.schema}.{relation.name}", ())
                    if relationship.referenced_schema == relation.schema]

        for relation in (*catalog.tables, *catalog.foreign_tables):
            if relation.schema in by_schema:
                by_schema[relation.schema].tables.append((relation, relationships_of(relation)))
        for relation in catalog.views:
            if relation.schema in by_schema:
                by_schema[relation.schema].views.append((relation, relationships_of(relation)))
        for relation in catalog.materialized_views:
            if relation.schema in by_schema:
                by_schema[relation.schema].views.append((relation, relationships_of(relation)))
        for function in catalog.functions:
            if function.schema in by_schema:
                in_args = [arg for arg in function.args if arg.mode in INPUT_MODES]
                if self._callable(function, in_args):
                    by_schema[function.schema].functions.append((function, in_args))
        for objects in by_schema.values():
            objects.tables.sort(key=lambda item: sort_key(item[0].name))
            objects.views.sort(key=lambda item: sort_key(item[0].name))
            objects.functions.sort(key=lambda item: sort_key(item[0].name))
            objects.enums.sort(key=lambda pg_type: sort_key(pg_type.name))
            objects.composite_types.sort(key=lambda pg_type: sort_key(pg_type.name))
        return by_schema

    def _callable(self, function: Function, in_args: list[FunctionArg]) -> bool:
        """Whether PostgREST exposes the function (postgres-meta's four cases)."""
        if not in_args or all(arg.name != "" for arg in in_args):
            return True
        if all(bool(arg.has_default) and arg.type_id in VALID_UNNAMED_ARG_TYPES for arg in in_args
               if arg.name == ""):
            return True
        only = in_args[0]
        return len(in_args) == 1 and only.name == "" and (
            only.type_id in VALID_UNNAMED_ARG_TYPES or only.type_id in self.relation_types)

    # --- types --------------------------------------------------------------------------------------

    def ts_type(self, schema: str, pg_type: str, type_schema: str | None = None) -> TsType:
        """postgres-meta's ``pgTypeToTsType``."""
        key = (schema, pg_type, type_schema)
        cached = self._ts_types.get(key)
        if cached is None:
            cached = self._ts_types[key] = self._ts_type(schema, pg_type, type_schema)
        return cached

    def _ts_type(self, schema: str, pg_type: str, type_schema: str | None) -> TsType:
        if pg_type == "bool":
            return Ref("boolean")
        if pg_type in _NUMBER_TYPES:
            return Ref("number")
        if pg_type in _STRING_TYPES:
            return Ref("string")
        if pg_type in ("json", "jsonb"):
            return JSON
        if pg_type == "void":
            return Ref("undefined")
        if pg_type == "record":
            return RECORD
        if pg_type.startswith("_"):
            return Arr(self.ts_type(schema, pg_type[1:], type_schema))
        preferred = type_schema if type_schema is not None else schema
        enums = self.enums_by_name.get(pg_type)
        if enums:
            enum = next((candidate for candidate in enums if candidate.schema == preferred), enums[0])
            if enum.schema in self.schema_names:
                return _database_ref(enum.schema, "Enums", enum.name)
            return union(*(Lit(value) for value in enum.enums))
        composites = self.composites_by_name.get(pg_type)
        if composites:
            composite = next((candidate for candidate in composites if candidate.schema == preferred),
                             composites[0])
            if composite.schema in self.schema_names:
                return _database_ref(composite.schema, "CompositeTypes", composite.name)
            return UNKNOWN
        candidates = self.relations_by_name.get(pg_type)
        if candidates:
            match = next(((kind, relation) for kind, relation in candidates if relation.schema == preferred),
                         candidates[0])
            kind, relation = match
            if relation.schema in self.schema_names:
                return _database_ref(relation.schema, kind, relation.name, '["Row"]')
        return UNKNOWN

    def column_type(self, schema: str, column: Column, is_nullable: bool) -> TsType:
        key = (schema, column.format, column.type_schema, is_nullable)
        type_ = self._column_types.get(key)
        if type_ is None:
            type_ = self._column_types[key] = nullable(self.ts_type(schema, column.format, column.type_schema),
                                                       is_nullable)
        return type_

    def column_prop(self, schema: str, column: Column, *, is_nullable: bool, optional: bool) -> Prop:
        return Prop(column.name, self.column_type(schema, column, is_nullable), optional)

    def _type_of(self, schema: str, type_id: int) -> TsType:
        pg_type = self.types_by_id.get(type_id)
        return self.ts_type(schema, pg_type.name, pg_type.schema) if pg_type else UNKNOWN

    # --- functions ----------------------------------------------------------------------------------

    def _returned_table_name(self, function: Function) -> str | None:
        relation_id = function.return_type_relation_id
        if not relation_id:
            return None
        if self.relation_names.get(relation_id):
            return self.relation_names[relation_id]
        row_type = self.relation_types.get(function.return_type_id) if function.return_type_id else None
        return row_type.name if row_type else None

    def return_type(self, schema: str, function: Function) -> TsType:
        """postgres-meta's ``getFunctionReturnType``."""
        table_args = [arg for arg in function.args if arg.mode == "table"]
        if table_args:
            return Obj(tuple(Prop(arg.name, self._type_of(schema, arg.type_id)) for arg in table_args), True)
        relation = self.relations_by_id.get(schema, {}).get(function.return_type_relation_id or 0)
        if relation is not None:
            return Obj(tuple(self.column_prop(schema, column, is_nullable=column.is_nullable, optional=False)
                             for column in self.columns_by_table[relation.id]), True)
        return self._type_of(schema, function.return_type_id)

    def _setof_options(self, function: Function) -> Obj | None:
        table_name = self._returned_table_name(function)
        returns_set_of_table = function.is_set_returning_function and function.return_type_relation_id is not None
        returns_many = function.prorows is not None and function.prorows > 1
        options: Obj | None = None
        if table_name:
            options = _setof("*", table_name, not returns_many, function.is_set_returning_function)
        if len(function.args) == 1:
            relation_type = self.relation_types.get(function.args[0].type_id)
            if relation_type:
                source = relation_type.format or ""
                if returns_set_of_table and table_name:
                    options = _setof(source, table_name, not returns_many, True)
                elif table_name and not returns_set_of_table:
                    options = _setof(source, table_name, True, False)
        return options

    def _returns_members(self, function: Function, returns: TsType) -> list[Prop]:
        """postgres-meta's ``getFunctionTsReturnType``: ``Returns`` (an array for SETOF) and ``SetofOptions``."""
        table_name = self._returned_table_name(function)
        returns_many = function.prorows is not None and function.prorows > 1
        single_row = not returns_many and table_name is not None
        if function.is_set_returning_function and not single_row:
            returns = with_array_suffix(returns)
        members = [Prop("Returns", returns)]
        setof = self._setof_options(function)
        if setof is not None:
            members.append(Prop("SetofOptions", setof))
        return members

    def _conflict(self, schema: str, group: list[tuple[Function, list[FunctionArg]]], function: Function,
                  in_args: list[FunctionArg]) -> str | None:
        if len(group) <= 1:
            return None
        if not in_args:
            conflicting = [other for other, other_args in group if other is not function and len(other_args) == 1
                           and other_args[0].name == "" and other_args[0].has_default]
            if conflicting:
                returned = self.types_by_id.get(conflicting[0].return_type_id)
                return (f"Could not choose the best candidate function between: {schema}.{function.name}(), "
                        f"{schema}.{function.name}( => {returned.name if returned else 'unknown'}). Try renaming "
                        "the parameters or the function itself in the database so function overloading can be "
                        "resolved")
        if len(in_args) == 1 and in_args[0].name != "":
            conflicting_args = [other_args for other, other_args in group if other is not function
                                and len(other_args) == 1 and other_args[0].name == in_args[0].name
                                and other_args[0].type_id != in_args[0].type_id]
            if conflicting_args:
                candidates = sorted([in_args, *conflicting_args], key=lambda args: args[0].type_id if args else 0)
                listed = ", ".join(
                    f"{schema}.{function.name}(" + ", ".join(
                        f"{arg.name} => {self._type_name(arg.type_id)}" for arg in args) + ")"
                    for args in candidates)
                return (f"Could not choose the best candidate function between: {listed}. Try renaming the "
                        "parameters or the function itself in the database so function overloading can be resolved")
        return None

    def _type_name(self, type_id: int) -> str:
        pg_type = self.types_by_id.get(type_id)
        return pg_type.name if pg_type and pg_type.name else "unknown"

    def _table_row_error(self, function: Function, in_args: list[FunctionArg]) -> bool:
        return (len(in_args) == 1 and in_args[0].name == "" and in_args[0].type_id in self.relation_types
                and not self._returned_table_name(function))

    def _args_type(self, schema: str, in_args: list[FunctionArg]) -> TsType:
        return Obj(tuple(Prop(arg.name, self._type_of(schema, arg.type_id), bool(arg.has_default))
                         for arg in in_args))

    def _signature(self, schema: str, group: list[tuple[Function, list[FunctionArg]]], function: Function,
                   in_args: list[FunctionArg]) -> Obj:
        args: TsType = Generic("Record", (Ref("PropertyKey"), NEVER))
        returns = self.return_type(schema, function)
        conflict = self._conflict(schema, group, function, in_args)
        if conflict is not None:
            if in_args:
                args = self._args_type(schema, in_args)
            returns = Inter((Obj((Prop("error", Ref("true")),)), Lit(conflict)))
        elif self._table_row_error(function, in_args):
            if in_args:
                args = self._args_type(schema, in_args)
            returns = Inter((Obj((Prop("error", Ref("true")),)), Lit(
                f"the function {schema}.{function.name} with parameter or with a single unnamed json/jsonb "
                "parameter, but no matches were found in the schema cache")))
        elif in_args:
            args = self._args_type(schema, in_args)
        return Obj((Prop("Args", args), *self._returns_members(function, returns)))

    def _computed_field_index(self, schema: str) -> tuple[dict[int, list[int]], dict[str, list[int]]]:
        """Computed fields: functions taking one argument of a relation's row type (by relation id), else,
        as postgres-meta falls back to, whose argument list reads as the relation's name (by name); as
        positions in the schema's function list."""
        by_relation: dict[int, list[int]] = {}
        by_name: dict[str, list[int]] = {}
        for position, (function, in_args) in enumerate(self.by_schema[schema].functions):
            arg_type = self.relation_types.get(in_args[0].type_id) if len(in_args) == 1 else None
            if arg_type and arg_type.type_relation_id:
                by_relation.setdefault(arg_type.type_relation_id, []).append(position)
            elif not arg_type:
                by_name.setdefault(function.argument_types, []).append(position)
        return by_relation, by_name

    def _computed_fields(self, schema: str, relation: Relation) -> list[Prop]:
        by_relation, by_name = self.computed_fields[schema]
        positions = sorted(by_relation.get(relation.id, []) + by_name.get(relation.name, []))
        functions = self.by_schema[schema].functions
        return [Prop(functions[position][0].name, nullable(self.return_type(schema, functions[position][0]), True))
                for position in positions]

    # --- the document -------------------------------------------------------------------------------

    def _relationship(self, relationship: Relationship) -> Obj:
        members = [Prop("foreignKeyName", Lit(relationship.foreign_key_name)),
                   Prop("columns", _names(relationship.columns))]
        if self.options.detect_one_to_one_relationships:
            members.append(Prop("isOneToOne", _js_bool(relationship.is_one_to_one)))
        members.append(Prop("referencedRelation", Lit(relationship.referenced_relation)))
        members.append(Prop("referencedColumns", _names(relationship.referenced_columns)))
        return Obj(tuple(members), True)

    def _write_relationships(self, out: list[str], relationships: list[Relationship], indentation: int) -> None:
        """The ``Relationships`` tuple (always expanded: its objects are), its ``[`` at the current position."""
        if not relationships:
            out.append("[]")
            return
        pad = " " * (indentation + 2)
        inner = indentation + 4
        newline = "\n" + " " * inner
        out.append("[")
        for relationship in relationships:
            out.append(f"\n{pad}{{")
            for member in self._relationship(relationship).members:
                out.append(newline)
                if isinstance(member.type, (Lit, Ref)):  # nothing to break: printed as is, however long
                    out.append(f"{member.key}: {flat_text(member.type)}")
                else:
                    emit_member(out, member, inner)
            out.append(f"\n{pad}}},")
        out.append("\n" + " " * indentation + "]")

    def _column_member(self, schema: str, column: Column, mode: str) -> tuple[TsType, bool]:
        """(type, optional) of a column in ``Row``, ``Insert`` or ``Update`` of a table, or in the writes of a
        view."""
        if mode == "row":
            return self.column_type(schema, column, column.is_nullable), False
        if mode == "view_write":
            if not column.is_updatable:
                return NEVER, True
            return self.column_type(schema, column, True), True
        if column.identity_generation == "ALWAYS" or column.is_generated:
            return NEVER, True
        optional = mode == "update" or column.is_nullable or column.is_identity or column.has_default
        return self.column_type(schema, column, column.is_nullable), optional

    def _write_columns(self, out: list[str], schema: str, columns: list[Column], mode: str, indentation: int,
                       extra: Sequence[Prop] = ()) -> None:
        """The object of a relation's columns (``Row: {...}`` and co.), its ``{`` at the current position of a
        line indented ``indentation``: one line per column, without a node per line."""
        if not columns and not extra:
            out.append("{}")
            return
        inner = indentation + 2
        newline = "\n" + " " * inner
        out.append("{")
        for column in columns:
            type_, optional = self._column_member(schema, column, mode)
            text = flat_text(type_)
            line = property_key(column.name) + ("?: " if optional else ": ") + (text or "")
            if text is not None and inner + (len(line) if line.isascii() else string_width(line)) <= 80:
                out.append(newline + line)
            else:
                out.append(newline)
                emit_member(out, Prop(column.name, type_, optional), inner)
        for prop in extra:
            out.append(newline)
            emit_member(out, prop, inner)
        out.append("\n" + " " * indentation + "}")

    def _relation(self, schema: str, relation: Relation, relationships: list[Relationship]) -> Prop:
        """A table or view: Row, Insert and Update (as the relation accepts them), Relationships."""
        columns = self.columns_by_table[relation.id]
        computed = self._computed_fields(schema, relation)
        if relation.kind in ("table", "foreign_table"):
            sections = [("Row", "row"), ("Insert", "insert"), ("Update", "update")]
        else:
            sections = [("Row", "row")]
            if relation.kind == "view" and relation.is_insert_enabled:
                sections.append(("Insert", "view_write"))
            if relation.kind == "view" and relation.is_update_enabled:
                sections.append(("Update", "view_write"))

        def write(out: list[str], indentation: int) -> None:
            inner = indentation + 2
            newline = "\n" + " " * inner
            out.append("{")
            for name, mode in sections:
                out.append(f"{newline}{name}: ")
                self._write_columns(out, schema, columns, mode, inner, computed if mode == "row" else ())
            out.append(newline + "Relationships: ")
            self._write_relationships(out, relationships, inner)
            out.append("\n" + " " * indentation + "}")

        return Prop(relation.name, Written(write))

    def _functions(self, schema: str) -> TsType:
        functions = self.by_schema[schema].functions
        if not functions:
            return NeverMap()
        groups: dict[str, list[tuple[Function, list[FunctionArg]]]] = {}
        for item in functions:
            groups.setdefault(item[0].name, []).append(item)
        for group in groups.values():
            group.sort(key=lambda item: (sort_key(item[0].argument_types), sort_key(item[0].return_type)))
        members = []
        for name in _js_object_key_order(list(groups)):
            group = groups[name]
            signatures = [self._signature(schema, group, function, in_args) for function, in_args in group]
            members.append(Prop(name, signatures[0] if len(signatures) == 1 else Union_(tuple(signatures))))
        return Obj(tuple(members), True)

    def _composite_type(self, schema: str, pg_type: PgType) -> Prop:
        members = []
        for attribute in pg_type.attributes:
            attribute_type = self.types_by_id.get(attribute.type_id)
            ts = nullable(self.ts_type(schema, attribute_type.name, attribute_type.schema), True) \
                if attribute_type else UNKNOWN
            members.append(Prop(attribute.name, ts))
        return Prop(pg_type.name, Obj(tuple(members), True))

    def _schema(self, schema: str) -> Prop:
        objects = self.by_schema[schema]
        tables: TsType = Obj(tuple(self._relation(schema, table, relationships)
                                   for table, relationships in objects.tables), True) if objects.tables else NeverMap()
        views: TsType = Obj(tuple(self._relation(schema, view, relationships)
                                  for view, relationships in objects.views), True) if objects.views else NeverMap()
        enums: TsType = Obj(tuple(Prop(enum.name, union(*(Lit(value) for value in enum.enums)))
                                  for enum in objects.enums), True) if objects.enums else NeverMap()
        composites: TsType = Obj(tuple(self._composite_type(schema, pg_type) for pg_type in objects.composite_types),
                                 True) if objects.composite_types else NeverMap()
        return Prop(schema, Obj((
            Prop("Tables", tables), Prop("Views", views), Prop("Functions", self._functions(schema)),
            Prop("Enums", enums), Prop("CompositeTypes", composites),
        ), True))

    def _database(self) -> str:
        """The ``Database`` type: one expanded object, printed member by member."""
        if not self.catalog.schemas and not self.options.postgrest_version:
            return "{}"
        out = ["{"]
        if self.options.postgrest_version:
            out.append("\n  // Allows to automatically instantiate createClient with right options"
                       "\n  // instead of createClient<Database, { PostgrestVersion: 'XX' }>(URL, KEY)\n  ")
            emit_member(out, Prop("__InternalSupabase", Obj(
                (Prop("PostgrestVersion", Lit(self.options.postgrest_version)),), True)), 2)
        for schema in self.catalog.schemas:
            out.append("\n  ")
            emit_member(out, self._schema(schema.name), 2)
        out.append("\n}")
        return "".join(out)

    def _constants(self) -> Doc:
        entries: list[Doc] = []
        for schema in self.catalog.schemas:
            enums: list[Doc] = [
                Group([property_key(enum.name), ": ", _js_array([string_literal(value) for value in enum.enums])])
                for enum in self.by_schema[schema.name].enums
            ]
            enums_property: Doc = Group(["Enums: ", _js_object(enums)])
            entries.append(Group([property_key(schema.name), ": ", _js_object([enums_property])]))
        return _js_object(entries)

    def generate(self) -> str:
        return (JSON_TYPE + "export type Database = " + self._database() + "\n\n" + HELPER_TYPES
                + "export const Constants = " + print_doc(self._constants()) + " as const\n\n")


def _setof(source: str, target: str, one_to_one: bool, set_return: bool) -> Obj:
    return Obj((Prop("from", Lit(source)), Prop("to", Lit(target)), Prop("isOneToOne", _js_bool(one_to_one)),
                Prop("isSetofReturn", _js_bool(set_return))), True)


def _names(names: tuple[str, ...] | None) -> TsType:
    return NULL if names is None else Tuple_(tuple(Lit(name) for name in names))


def _js_object(properties: list[Doc]) -> Doc:
    """A JavaScript object literal written expanded in the source (trailing comma when broken)."""
    if not properties:
        return "{}"
    return Group(["{", Indent([LINE, join([",", LINE], properties)]), IfBreak(","), LINE, "}"], broken=True)


def _js_array(items: list[Doc]) -> Doc:
    return Group(["[", Indent([SOFTLINE, join([",", LINE], items), IfBreak(",")]), SOFTLINE, "]"])
