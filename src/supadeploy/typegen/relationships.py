"""Relationships as PostgREST's schema cache sees them (and postgres-meta lists them).

* Table to table: every foreign key of the generated schemas. It is one-to-one when its columns, in order,
  are exactly the columns of a primary key or unique constraint of its table. PostgREST's query compares
  ``regnamespace::text`` (a name double-quoted when it needs quotes) with the schema names, so a foreign key
  whose schema name needs quotes gets no column lists, and is never one-to-one, in postgres-meta's output;
  so here.
* Through views: a view that selects every column of a foreign key (or every column it references) inherits
  the relationship, view to table, table to view and view to view; a view on a view is followed down to its
  base table. When a view selects a key column twice, every combination is a relationship.

Everything here works on numbers read once (constraint column numbers, view output origins) and column
names, so any subset of the introspected schemas is derived without another query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from supadeploy.typegen.catalog import Relationship

Names = Mapping[int, Mapping[int, str]]  # relation id -> column number -> column name


@dataclass(slots=True)
class Constraint:
    """A foreign key (``f``), primary key (``p``) or unique (``u``) constraint."""

    type: str
    name: str
    namespace: str  # the constraint's schema as regnamespace::text
    schema: str  # the constraint's schema
    table_id: int
    table: str
    table_schema: str
    columns: tuple[int, ...]
    referenced_id: int  # foreign keys only
    referenced: str
    referenced_schema: str
    referenced_columns: tuple[int, ...]
    is_partition_copy: bool  # a foreign key a partition inherited from its parent


@dataclass(frozen=True)
class ViewDefinition:
    """A view's (or materialized view's) output columns and the base columns they select, from one rule."""

    id: int
    schema: str
    name: str
    origins: tuple[tuple[int, int, int], ...]  # (view column number, origin relation, origin column number)
    column_names: tuple[tuple[int, str], ...]


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


def table_relationships(constraints: Iterable[Constraint], names: Names, included: set[str]) -> list[Relationship]:
    """Foreign keys of the schemas in ``included``, in catalog order."""
    keys: dict[tuple[str, int], list[tuple[int, ...]]] = {}
    for constraint in constraints:
        if constraint.type in ("p", "u") and constraint.namespace in included and constraint.namespace != "pg_catalog":
            keys.setdefault((constraint.namespace, constraint.table_id), []).append(tuple(sorted(constraint.columns)))
    relationships = []
    for constraint in constraints:
        if constraint.type != "f" or constraint.is_partition_copy or constraint.schema not in included:
            continue
        columns = referenced = None
        one_to_one = False
        if constraint.namespace in included:
            own, referenced_names = names.get(constraint.table_id, {}), names.get(constraint.referenced_id, {})
            pairs = [(column, reference)
                     for column, reference in zip(constraint.columns, constraint.referenced_columns, strict=False)
                     if column in own and reference in referenced_names]
            if pairs:
                columns = tuple(names[constraint.table_id][column] for column, _ in pairs)
                referenced = tuple(names[constraint.referenced_id][reference] for _, reference in pairs)
                numbers = tuple(column for column, _ in pairs)
                one_to_one = numbers in keys.get((constraint.namespace, constraint.table_id), ())
        relationships.append(Relationship(
            foreign_key_name=constraint.name, schema=constraint.schema, relation=constraint.table, columns=columns,
            is_one_to_one=one_to_one, referenced_schema=constraint.referenced_schema,
            referenced_relation=constraint.referenced, referenced_columns=referenced))
    return relationships


# --- views ------------------------------------------------------------------------------------------------



def target_list_origins(node_tree: str) -> list[tuple[int, int, int]]:
    """(resno, resorigtbl, resorigcol) of each output column of the first query of a rule's ``ev_action``.

    ``ev_action`` is a pg_node_tree: nested ``{NODE :field value ...}`` and ``( ... )`` lists, with special
    characters of names backslash-escaped. The first query's own ``:targetList`` is the first one at its
    nesting depth (those of subqueries are deeper); the depth before each candidate is counted in C
    (``str.count``), which at 200 views is several times faster than walking every brace in Python.
    """
    query = node_tree.find("{QUERY")
    if query < 0:
        return []
    # an escaped backslash is two characters that escape nothing: blanked out, keeping every offset
    text = node_tree.replace("\\\\", "\x00\x00") if "\\" in node_tree else node_tree
    query_depth = _depth(text, 0, query + 1)
    start = query
    while True:
        found = text.find(":targetList ", start)
        if found < 0:
            return []
        depth = _depth(text, 0, found)
        if depth == query_depth:
            return _entries_of_list(text, found + len(":targetList ")) or _parsed_origins(node_tree)
        if depth < query_depth:  # past the end of the first query
            return []
        start = found + 1


def _depth(text: str, start: int, end: int) -> int:
    """How many braces and parentheses open between ``start`` and ``end`` are still open at ``end`` (escaped
    ones are names' characters)."""
    head = text[start:end]
    opened = head.count("{") + head.count("(")
    closed = head.count("}") + head.count(")")
    if "\\" in head:
        escaped_open = head.count("\\{") + head.count("\\(")
        escaped_close = head.count("\\}") + head.count("\\)")
        opened, closed = opened - escaped_open, closed - escaped_close
    return opened - closed


# The fields of a TargetEntry after its expression, as PostgreSQL 13-17 print them.
_ENTRY_FIELDS = re.compile(r":resno (\d+) :resname (?:\\.|[^\s\\])+ :ressortgroupref \d+ :resorigtbl (\d+) "
                           r":resorigcol (\d+)", re.DOTALL)


def _entries_of_list(text: str, start: int) -> list[tuple[int, int, int]]:
    """(resno, resorigtbl, resorigcol) of the TargetEntries of the list at ``start`` (its own: those of
    subqueries inside their expressions are deeper), found by a regular expression; none when the fields are
    not printed as expected (the caller then parses the tree)."""
    if not text.startswith("(", start):
        return []
    entries = []
    for match in _ENTRY_FIELDS.finditer(text, start):
        depth = _depth(text, start, match.start())
        if depth < 1:  # past the end of the list
            break
        if depth == 2:
            entries.append((int(match.group(1)), int(match.group(2)), int(match.group(3))))
    return entries


def _parsed_origins(node_tree: str) -> list[tuple[int, int, int]]:
    """The origins read from the parsed tree (typegen.node_tree): the slow way, for a tree whose target entries
    the regular expression does not match."""
    from supadeploy.typegen.node_tree import Node, NodeTreeError, parse_node_tree

    try:
        tree = parse_node_tree(node_tree)
    except NodeTreeError:
        return []
    query = tree[0] if isinstance(tree, list) and tree else tree
    if not isinstance(query, Node):
        return []
    entries = query.fields.get("targetList")
    return [(_number(entry.fields.get("resno")), _number(entry.fields.get("resorigtbl")),
             _number(entry.fields.get("resorigcol")))
            for entry in (entries if isinstance(entries, list) else []) if isinstance(entry, Node)]


def _number(value: object) -> int:
    return int(value) if isinstance(value, str) and value.isdigit() else 0


def _exposed_columns(definitions: list[ViewDefinition]) -> dict[tuple[int, int, int], list[str]]:
    """(view, base relation, base column) -> the view's columns selecting it, following views of views."""
    column_names = {definition.id: dict(definition.column_names) for definition in definitions}
    results = [(definition.id, resno, table, column)
               for definition in definitions for resno, table, column in definition.origins]
    by_view_column: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for view_id, view_column, table, column in results:
        by_view_column.setdefault((view_id, view_column), []).append((table, column))
    recursion: list[tuple[int, int, int, int]] = []
    frontier: list[tuple[int, int, int, int, tuple[int, ...]]] = [
        (view_id, view_column, table, column, (table,)) for view_id, view_column, table, column in results]
    while frontier:
        next_frontier: list[tuple[int, int, int, int, tuple[int, ...]]] = []
        for view_id, view_column, table, column, path in frontier:
            recursion.append((view_id, view_column, table, column))
            if len(path) > 1 and path[-1] in path[:-1]:  # a cycle: stop
                continue
            for origin_table, origin_column in by_view_column.get((table, column), ()):
                next_frontier.append((view_id, view_column, origin_table, origin_column, (*path, origin_table)))
        frontier = next_frontier
    exposed: dict[tuple[int, int, int], list[str]] = {}
    for view_id, view_column, table, column in recursion:
        attname = column_names.get(view_id, {}).get(view_column)
        if attname is not None:
            exposed.setdefault((view_id, table, column), []).append(attname)
    return exposed


def view_key_dependencies(definitions: list[ViewDefinition], constraints: Iterable[Constraint], names: Names,
                          included: set[str]) -> list[ViewKeyDependency]:
    """Which foreign keys (and referenced keys) each view exposes in full, column by column."""
    exposed = _exposed_columns(definitions)
    tables_of_view: dict[int, set[int]] = {}
    for view_id, table, _column in exposed:
        tables_of_view.setdefault(view_id, set()).add(table)
    # (table, name, type, column count, schema, table name) -> {(position, column number)}; same-named keys of
    # several tables referencing one table merge, as in PostgREST's query.
    groups: dict[tuple[int, str, str, int, str, str], set[tuple[int, int]]] = {}
    for constraint in constraints:
        if constraint.type != "f":
            continue
        key = (constraint.table_id, constraint.name, "f", len(constraint.columns), constraint.table_schema,
               constraint.table)
        groups.setdefault(key, set()).update(enumerate(constraint.columns, start=1))
        if constraint.namespace in included:
            key = (constraint.referenced_id, constraint.name, "f_ref", len(constraint.referenced_columns),
                   constraint.referenced_schema, constraint.referenced)
            groups.setdefault(key, set()).update(enumerate(constraint.referenced_columns, start=1))
    groups_by_table: dict[int, list[tuple[int, str, str, int, str, str]]] = {}
    for key in groups:
        groups_by_table.setdefault(key[0], []).append(key)
    dependencies = []
    for definition in definitions:
        for table_id in sorted(tables_of_view.get(definition.id, ())):
            for key in groups_by_table.get(table_id, ()):
                _, name, kind, count, table_schema, table_name = key
                matched = [(names.get(table_id, {}).get(attnum, ""), exposed[(definition.id, table_id, attnum)])
                           for _position, attnum in sorted(groups[key]) if (definition.id, table_id, attnum) in exposed]
                if matched and len(matched) == count:
                    dependencies.append(ViewKeyDependency(
                        table_schema=table_schema, table_name=table_name, view_schema=definition.schema,
                        view_name=definition.name, constraint_name=name, constraint_type=kind,
                        column_dependencies=tuple((attname, tuple(columns)) for attname, columns in matched)))
    return dependencies


def _cartesian(lists: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    combinations: list[tuple[str, ...]] = [()]
    for entries in lists:
        combinations = [(*combination, entry) for combination in combinations for entry in entries]
    return combinations


def expand_view_relationships(relationships: list[Relationship],
                              dependencies: list[ViewKeyDependency]) -> list[Relationship]:
    """The relationships views inherit (view to table, table to view, view to view), in PostgREST's order."""
    index: dict[tuple[str, str, str, str], list[ViewKeyDependency]] = {}
    for dependency in dependencies:
        key = (dependency.table_schema, dependency.table_name, dependency.constraint_name, dependency.constraint_type)
        index.setdefault(key, []).append(dependency)
    expanded: list[Relationship] = []
    for rel in relationships:
        to_table = index.get((rel.schema, rel.relation, rel.foreign_key_name, "f"), [])
        to_view = index.get((rel.referenced_schema, rel.referenced_relation, rel.foreign_key_name, "f_ref"), [])
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
