"""The functions PostgREST exposes as RPC, as the Supabase CLI 3's generator (``@supabase/typegen``) sees them:
grouped by schema and name, each overload with its arguments (by name), what it returns, its ``SetofOptions``,
the relation it is a computed field of, and the error PostgREST would answer instead of calling it.

Read by the CLI 3 TypeScript renderer (``typescript_cli3``); postgres-meta 0.99's generator (``typescript``)
decides the same questions inline, with small differences (computed fields must live in the relation's schema
and not shadow one of its columns; a ``ROWS 1`` estimate alone no longer makes a set one row).
"""

from __future__ import annotations

from dataclasses import dataclass

from supadeploy.typegen.catalog import Catalog, Function, FunctionArg, PgType, Relation
from supadeploy.typegen.collation import sort_key

# json, jsonb and text: the types PostgREST accepts for a single unnamed argument.
VALID_UNNAMED_ARG_TYPES = frozenset({114, 3802, 25})
INPUT_MODES = frozenset({"in", "inout", "variadic"})


@dataclass(frozen=True)
class TypedName:
    """An argument or a ``RETURNS TABLE`` column: its name and its type (``format`` None when unknown)."""

    name: str
    format: str | None
    type_schema: str | None
    has_default: bool = False


@dataclass(frozen=True)
class SetofOptions:
    source: str
    target: str
    is_one_to_one: bool
    is_setof_return: bool


@dataclass(frozen=True)
class Overload:
    function: Function
    args: tuple[TypedName, ...]  # input arguments, by name
    returns: TypedName
    returns_relation_id: int | None  # the relation whose row it returns, when that relation is generated
    returns_columns: tuple[TypedName, ...] | None  # RETURNS TABLE columns, by name
    setof: SetofOptions | None
    computed_field_of: int | None  # relation id
    error: str | None


@dataclass(frozen=True)
class RpcFunction:
    schema: str
    name: str
    overloads: tuple[Overload, ...]


def rpc_functions(catalog: Catalog) -> list[RpcFunction]:
    """The RPC functions of the catalog's schemas, sorted by schema and name."""
    return _RpcReader(catalog).read()


_Candidate = tuple[Function, tuple[FunctionArg, ...]]


class _RpcReader:
    def __init__(self, catalog: Catalog) -> None:
        self.schemas = {schema.name for schema in catalog.schemas}
        self.types = {pg_type.id: pg_type for pg_type in catalog.types}
        self.row_types = {pg_type.id: pg_type for pg_type in catalog.types if pg_type.type_relation_id is not None}
        relations = (*catalog.tables, *catalog.foreign_tables, *catalog.views, *catalog.materialized_views)
        self.relations = {relation.id: relation for relation in relations}
        self.relations_by_name: dict[tuple[str, str], Relation] = {}
        for relation in relations:
            self.relations_by_name.setdefault((relation.schema, relation.name), relation)
        self.column_names: dict[int, set[str]] = {}
        for column in catalog.columns:
            self.column_names.setdefault(column.table_id, set()).add(column.name)
        self.functions = catalog.functions

    def read(self) -> list[RpcFunction]:
        groups: dict[tuple[str, str], list[_Candidate]] = {}
        for function in self.functions:
            if function.schema not in self.schemas:
                continue
            in_args = tuple(arg for arg in function.args if arg.mode in INPUT_MODES)
            if _is_callable(in_args, self.row_types):
                groups.setdefault((function.schema, function.name), []).append((function, in_args))
        result = []
        for (schema, name), group in groups.items():
            group.sort(key=lambda item: (sort_key(item[0].argument_types), sort_key(item[0].return_type), item[0].id))
            result.append(RpcFunction(schema, name, tuple(self._overload(item, group) for item in group)))
        result.sort(key=lambda rpc: (sort_key(rpc.schema), sort_key(rpc.name)))
        return result

    def _typed(self, name: str, type_id: int, has_default: bool = False) -> TypedName:
        pg_type = self.types.get(type_id)
        return TypedName(name, pg_type.name if pg_type else None, pg_type.schema if pg_type else None, has_default)

    def _type_name(self, type_id: int) -> str:
        pg_type = self.types.get(type_id)
        return pg_type.name if pg_type else "unknown"

    def _returned_relation_name(self, function: Function) -> str | None:
        if function.return_type_relation_id is None:
            return None
        relation = self.relations.get(function.return_type_relation_id)
        if relation is not None:
            return relation.name
        row_type = self.row_types.get(function.return_type_id)
        return row_type.name if row_type else None

    def _computed_field_of(self, function: Function, in_args: tuple[FunctionArg, ...]) -> int | None:
        if len(in_args) != 1:
            return None
        row_type = self.row_types.get(in_args[0].type_id)
        relation: Relation | None
        if row_type is not None:
            relation = self.relations.get(row_type.type_relation_id or 0)
        elif in_args[0].type_id in self.types:
            relation = None
        else:
            relation = self.relations_by_name.get((function.schema, function.argument_types))
        if relation is None or relation.schema != function.schema:
            return None
        if function.name in self.column_names.get(relation.id, ()):
            return None
        return relation.id

    def _error(self, candidate: _Candidate, group: list[_Candidate]) -> str | None:
        function, in_args = candidate
        only = in_args[0] if len(in_args) == 1 else None
        qualified = f"{function.schema}.{function.name}"
        if len(group) > 1:
            if not in_args:
                other = next((item for item in group if item is not candidate and len(item[1]) == 1
                              and item[1][0].name == "" and item[1][0].has_default is True), None)
                if other is not None:
                    return (f"Could not choose the best candidate function between: {qualified}(), {qualified}( => "
                            f"{self._type_name(other[0].return_type_id)}). Try renaming the parameters or the function "
                            "itself in the database so function overloading can be resolved")
            if only is not None and only.name != "":
                others = [item for item in group if item is not candidate and len(item[1]) == 1
                          and item[1][0].name == only.name and item[1][0].type_id != only.type_id]
                if others:
                    candidates = sorted([candidate, *others], key=lambda item: item[1][0].type_id if item[1] else 0)
                    listed = ", ".join(
                        f"{qualified}(" + ", ".join(f"{arg.name} => {self._type_name(arg.type_id)}" for arg in args)
                        + ")" for _, args in candidates)
                    return (f"Could not choose the best candidate function between: {listed}. Try renaming the "
                            "parameters or the function itself in the database so function overloading can be resolved")
        if only is not None and only.name == "" and only.type_id in self.row_types:
            return (f"the function {qualified} with parameter or with a single unnamed json/jsonb parameter, but no "
                    "matches were found in the schema cache")
        return None

    def _setof(self, function: Function) -> SetofOptions | None:
        target = self._returned_relation_name(function)
        if target is None:
            return None
        many_rows = function.prorows is not None and function.prorows > 1
        source_type = self.row_types.get(function.args[0].type_id) if len(function.args) == 1 else None
        return SetofOptions(
            source=(source_type.format or "") if source_type else "*", target=target,
            is_one_to_one=True if source_type and not function.is_set_returning_function else not many_rows,
            is_setof_return=function.is_set_returning_function)

    def _overload(self, candidate: _Candidate, group: list[_Candidate]) -> Overload:
        function, in_args = candidate
        args = sorted((self._typed(arg.name, arg.type_id, arg.has_default is True) for arg in in_args),
                      key=lambda arg: sort_key(arg.name))
        table_columns = sorted((self._typed(arg.name, arg.type_id) for arg in function.args if arg.mode == "table"),
                               key=lambda column: sort_key(column.name))
        relation_id = function.return_type_relation_id
        return Overload(
            function=function, args=tuple(args), returns=self._typed("", function.return_type_id),
            returns_relation_id=relation_id if relation_id is not None and relation_id in self.relations else None,
            returns_columns=tuple(table_columns) or None, setof=self._setof(function),
            computed_field_of=self._computed_field_of(function, in_args), error=self._error(candidate, group))


def _is_callable(in_args: tuple[FunctionArg, ...], row_types: dict[int, PgType]) -> bool:
    """Whether PostgREST can call the function: named arguments, or unnamed ones it can pass."""
    if not in_args or all(arg.name != "" for arg in in_args):
        return True
    if all(arg.name != "" or (arg.has_default is True and arg.type_id in VALID_UNNAMED_ARG_TYPES) for arg in in_args):
        return True
    return (len(in_args) == 1 and in_args[0].name == ""
            and (in_args[0].type_id in VALID_UNNAMED_ARG_TYPES or in_args[0].type_id in row_types))
