"""Which view columns are NOT NULL, as the Supabase CLI 3's generator infers them.

A view column is NOT NULL when its expression is a plain column reference that resolves (through subqueries,
joins, GROUP BY and non-recursive CTEs, and views of views) to a NOT NULL column of a table, and nothing on
the way can make it null: not the nullable side of an outer join, not a UNION, not GROUPING SETS. A comment
``@notNull`` on a view column says so too. postgres-meta 0.99 has none of this: there every view column is
nullable.

The rules come from ``pg_rewrite.ev_action`` (a ``pg_node_tree``), parsed here; which base columns are NOT NULL
comes from ``pg_depend`` (the columns each view's rule depends on), in the same query.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from supadeploy.typegen.node_tree import Node, NodeTreeError, parse_node_tree

# The views of the schemas, and every view or materialized view they read from (of any schema): their rule,
# the NOT NULL columns of relations the rule depends on, and the column comments that say @notNull.
VIEW_RULES_SQL = """
with recursive view_closure(oid) as (
  select c.oid
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = any(%s) and c.relkind in ('v', 'm')
  union
  select dep.refobjid
  from view_closure vc
  join pg_rewrite r on r.ev_class = vc.oid and r.rulename = '_RETURN'
  join pg_depend dep on dep.classid = 'pg_rewrite'::regclass and dep.objid = r.oid
    and dep.refclassid = 'pg_class'::regclass
  join pg_class rc on rc.oid = dep.refobjid and rc.relkind in ('v', 'm')
)
select r.ev_class::int8, r.ev_action::text,
  coalesce((
    select json_agg(json_build_array(dep.refobjid::int8, dep.refobjsubid))
    from pg_depend dep
    join pg_attribute a on a.attrelid = dep.refobjid and a.attnum = dep.refobjsubid
    join pg_type t on t.oid = a.atttypid
    where dep.classid = 'pg_rewrite'::regclass and dep.objid = r.oid and dep.refclassid = 'pg_class'::regclass
      and dep.refobjsubid > 0 and (a.attnotnull or t.typtype = 'd' and t.typnotnull)
  ), '[]'),
  (select json_agg(json_build_array(d.objsubid, d.description))
   from pg_description d
   where d.objoid = r.ev_class and d.classoid = 'pg_class'::regclass and d.objsubid > 0)
from view_closure vc
join pg_rewrite r on r.ev_class = vc.oid and r.rulename = '_RETURN'
"""

_NOT_NULL_COMMENT = re.compile(r"^\s*@notNull\s*$", re.MULTILINE)
# RangeTblEntry kinds and join types, as pg_node_tree prints them.
_RTE_RELATION, _RTE_SUBQUERY, _RTE_JOIN, _RTE_CTE, _RTE_GROUP = "0", "1", "2", "6", "9"
_JOIN_INNER, _JOIN_LEFT, _JOIN_RIGHT = "0", "1", "3"


@dataclass(frozen=True)
class ViewRule:
    view_id: int
    definition: str
    not_null_dependencies: tuple[tuple[int, int], ...]  # (relation id, column number) NOT NULL in its table
    not_null_comments: tuple[int, ...]  # column numbers whose comment says @notNull


def parse_view_rules(rows: Iterable[Sequence[Any]]) -> tuple[ViewRule, ...]:
    """The rows of VIEW_RULES_SQL (its JSON columns as text or parsed)."""
    rules = []
    for view_id, definition, dependencies, comments in rows:
        dependencies = json.loads(dependencies) if isinstance(dependencies, str) else dependencies
        comments = json.loads(comments) if isinstance(comments, str) else comments
        rules.append(ViewRule(
            view_id=view_id, definition=definition or "",
            not_null_dependencies=tuple((int(relation), int(number)) for relation, number in dependencies or ()),
            not_null_comments=tuple(int(number) for number, text in comments or ()
                                    if _NOT_NULL_COMMENT.search(text or ""))))
    return tuple(rules)


def not_null_view_columns(rules: Iterable[ViewRule]) -> frozenset[tuple[int, int]]:
    """(view id, column number) of every view column known to be NOT NULL."""
    rules = list(rules)
    inference = _Inference(rules)
    result = {(rule.view_id, number) for rule in rules for number in rule.not_null_comments}
    for rule in rules:
        result.update((rule.view_id, number) for number in inference.view_columns(rule.view_id))
    return frozenset(result)


# --- pg_node_tree ------------------------------------------------------------------------------------------


def _is(node: Any, type_: str | None = None) -> bool:
    return isinstance(node, Node) and (type_ is None or node.type == type_)


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _is_plain_query(query: Node) -> bool:
    return query.fields.get("setOperations") is None and not _items(query.fields.get("groupingSets"))


def _nullable_range_entries(query: Node) -> set[int]:
    """The range-table indexes of a query on the nullable side of an outer join."""
    nullable: set[int] = set()

    def walk(node: Any, on_nullable_side: bool) -> None:
        if _is(node, "RANGETBLREF"):
            if on_nullable_side:
                nullable.add(int(node.fields.get("rtindex") or 0))
        elif _is(node, "FROMEXPR"):
            for item in _items(node.fields.get("fromlist")):
                walk(item, on_nullable_side)
        elif _is(node, "JOINEXPR"):
            join_type = node.fields.get("jointype")
            if on_nullable_side:
                nullable.add(int(node.fields.get("rtindex") or 0))
            walk(node.fields.get("larg"), on_nullable_side or join_type not in (_JOIN_INNER, _JOIN_LEFT))
            walk(node.fields.get("rarg"), on_nullable_side or join_type not in (_JOIN_INNER, _JOIN_RIGHT))

    walk(query.fields.get("jointree"), False)
    return nullable


class _Inference:
    def __init__(self, rules: list[ViewRule]) -> None:
        self.definitions = {rule.view_id: rule.definition for rule in rules}
        self.not_null = {dependency for rule in rules for dependency in rule.not_null_dependencies}
        self.by_view: dict[int, set[int]] = {}
        self.nullable_entries: dict[int, tuple[Node, set[int]]] = {}  # by id(query), the query kept alive

    def view_columns(self, view_id: int) -> set[int]:
        """The NOT NULL output columns of a view (empty while it is being computed: a cycle)."""
        known = self.by_view.get(view_id)
        if known is not None:
            return known
        columns: set[int] = set()
        self.by_view[view_id] = columns
        try:
            tree = parse_node_tree(self.definitions.get(view_id, ""))
            query = tree[0] if isinstance(tree, list) and tree else tree
            if _is(query, "QUERY") and _is_plain_query(query):
                for entry in _items(query.fields.get("targetList")):
                    if (_is(entry, "TARGETENTRY") and entry.fields.get("resjunk") != "true"
                            and self._is_not_null(entry.fields.get("expr"), [query])):
                        columns.add(int(entry.fields.get("resno") or 0))
        except (NodeTreeError, ValueError, RecursionError):
            columns.clear()
        return columns

    def _nullable(self, query: Node) -> set[int]:
        known = self.nullable_entries.get(id(query))
        if known is None or known[0] is not query:
            known = self.nullable_entries[id(query)] = (query, _nullable_range_entries(query))
        return known[1]

    def _relation_column(self, relation_id: int, number: int) -> bool:
        if relation_id in self.definitions:
            return number in self.view_columns(relation_id)
        return (relation_id, number) in self.not_null

    def _is_not_null(self, expression: Any, queries: list[Node]) -> bool:
        query = queries[-1] if queries else None
        if query is None or not _is(expression, "VAR") or expression.fields.get("varlevelsup") != "0":
            return False
        entry_index = int(expression.fields.get("varno") or 0)
        number = int(expression.fields.get("varattno") or 0)
        if number <= 0 or entry_index in self._nullable(query):
            return False
        range_table = _items(query.fields.get("rtable"))
        entry = range_table[entry_index - 1] if 0 < entry_index <= len(range_table) else None
        if not isinstance(entry, Node) or entry.type != "RANGETBLENTRY":
            return False
        kind = entry.fields.get("rtekind")
        if kind == _RTE_RELATION:
            relation = entry.fields.get("relid")
            return isinstance(relation, str) and relation.isdigit() and self._relation_column(int(relation), number)
        if kind == _RTE_SUBQUERY:
            return self._output_is_not_null(entry.fields.get("subquery"), number, queries)
        if kind in (_RTE_JOIN, _RTE_GROUP):
            expressions = _items(entry.fields.get("joinaliasvars" if kind == _RTE_JOIN else "groupexprs"))
            return 0 < number <= len(expressions) and self._is_not_null(expressions[number - 1], queries)
        if kind == _RTE_CTE:
            levels_up = int(entry.fields.get("ctelevelsup") or 0)
            owner = queries[-1 - levels_up] if levels_up < len(queries) else None
            cte = next((item for item in _items(owner.fields.get("cteList") if owner else None)
                        if _is(item, "COMMONTABLEEXPR") and item.fields.get("ctename") == entry.fields.get("ctename")),
                       None)
            outer = queries[:len(queries) - levels_up]
            return (cte is not None and cte.fields.get("cterecursive") != "true"
                    and self._output_is_not_null(cte.fields.get("ctequery"), number, outer))
        return False

    def _output_is_not_null(self, query: Any, number: int, queries: list[Node]) -> bool:
        if not _is(query, "QUERY") or not _is_plain_query(query):
            return False
        entry = next((item for item in _items(query.fields.get("targetList"))
                      if _is(item, "TARGETENTRY") and _int(item.fields.get("resno")) == number), None)
        return entry is not None and self._is_not_null(entry.fields.get("expr"), [*queries, query])


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
