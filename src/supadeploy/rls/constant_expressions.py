"""Policy expressions that do not look at the row, decided by asking Postgres to evaluate them.

``coalesce(true, false)``, ``true IS TRUE``, ``(select true)``, ``exists (select 1)``, ``2 > 1``,
``nullif(1, 2) = 1``, ``current_user = current_user``, ``length('x') = 1``: none of these depends on the row,
so its value is the same for every row of a request, and Postgres can tell it without a list of patterns.

A *candidate* is an expression (as ``pg_get_expr`` prints it) that pglast parses as one expression with:

* no column reference, no parameter, no table: a sub-select is allowed only without FROM / WITH;
* no call to an ``auth.*`` function or to ``current_setting`` (they read the request: a constant for one
  request is not one for all of them), nor to any function named like one that Postgres records as volatile,
  or that is stable outside ``pg_catalog`` (a stable function of the project may read tables or the JWT);
* no operator backed by a volatile function.

The function and operator checks are made by Postgres itself, in the same script that evaluates: all
candidates of a run go in ONE ``Target.query_rolled_back`` call (a transaction that is always rolled back,
with a statement timeout). For each candidate and each API role, a temporary function switches to the role
(``set_config('role', …, true)``, the way PostgREST does) inside a subtransaction it always rolls back, runs
``SELECT (<expression>)::boolean``, and returns its value; an expression that fails to evaluate counts as not
true (it would fail for the request too). Volatile functions are never evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from supadeploy.rls import expressions
from supadeploy.rls.catalog import Catalog
from supadeploy.rls.findings import API_ROLES
from supadeploy.rls.sqltext import literal, text_array
from supadeploy.targets.base import Target

EVALUATION_TIMEOUT = "10s"
REQUEST_STATE_FUNCTIONS = ("current_setting", "set_config")
_TABLE_NODES = {"ColumnRef", "ParamRef", "RangeVar", "RangeFunction", "RangeSubselect", "RangeTableFunc",
                "RangeTableSample", "JoinExpr", "CurrentOfExpr", "MultiAssignRef", "GroupingFunc"}
_OPERATOR_KINDS = {"AEXPR_OP", "AEXPR_OP_ANY", "AEXPR_OP_ALL", "AEXPR_DISTINCT", "AEXPR_NOT_DISTINCT",
                   "AEXPR_NULLIF", "AEXPR_IN", "AEXPR_LIKE", "AEXPR_ILIKE", "AEXPR_SIMILAR"}
_BETWEEN_OPERATORS = ("<=", ">=", "<", ">")

EVALUATE_FUNCTION = """
CREATE FUNCTION pg_temp.supadeploy_constant(p_role text, p_expression text, p_qualified text[], p_bare text[],
                                            p_operators text[])
RETURNS boolean
LANGUAGE plpgsql AS $supadeploy_constant$
DECLARE
  v_value boolean;
BEGIN
  IF EXISTS (
      SELECT 1 FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
      WHERE (p.proname = ANY (p_bare) OR n.nspname || '.' || p.proname = ANY (p_qualified))
        AND (p.provolatile = 'v' OR n.nspname = 'auth' OR (p.provolatile = 's' AND n.nspname <> 'pg_catalog')))
    OR EXISTS (
      SELECT 1 FROM pg_catalog.pg_operator AS o JOIN pg_catalog.pg_proc AS p ON p.oid = o.oprcode
      WHERE o.oprname = ANY (p_operators) AND p.provolatile = 'v') THEN
    RETURN NULL;  -- never evaluated
  END IF;
  BEGIN
    PERFORM pg_catalog.set_config('role', p_role, true);
    EXECUTE 'SELECT (' || p_expression || ')::boolean' INTO v_value;
    RAISE EXCEPTION USING ERRCODE = 'SDCST';  -- roll back the role switch and whatever the expression did
  EXCEPTION
    WHEN SQLSTATE 'SDCST' THEN
      RETURN v_value;
    WHEN OTHERS THEN
      RETURN false;
  END;
END
$supadeploy_constant$
"""


@dataclass(frozen=True)
class Candidate:
    """An expression without a column, and the names of what it calls (for Postgres to check)."""

    expression: str
    qualified_functions: tuple[str, ...]
    bare_functions: tuple[str, ...]
    operators: tuple[str, ...]


def _nodes(value: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(node type, fields) of every node of a pglast JSON parse tree (node types are capitalised keys)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key[:1].isupper() and isinstance(item, dict):
                yield key, item
            yield from _nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _nodes(item)


def _names(items: list[dict[str, Any]]) -> list[str]:
    return [item.get("String", {}).get("sval", "") for item in items]


@lru_cache(maxsize=65536)
def candidate(expression: str) -> Candidate | None:
    """The expression as a :class:`Candidate`, or None when it depends on the row or the request."""
    if expressions.is_always_true(expression) or "auth." in expression.lower():
        return None
    from pglast.parser import ParseError, parse_sql_json  # 20 ms to import: only when an expression needs it

    try:
        tree = json.loads(parse_sql_json(f"SELECT ({expression})"))
    except ParseError:
        return None
    statements = tree.get("stmts", [])
    if len(statements) != 1:
        return None
    select = statements[0]["stmt"].get("SelectStmt", {})
    if len(select.get("targetList", [])) != 1 or set(select) - {"targetList", "limitOption", "op"}:
        return None
    qualified: set[str] = set()
    bare: set[str] = set()
    operators: set[str] = set()
    for node_type, fields in _nodes(select["targetList"]):
        if node_type in _TABLE_NODES:
            return None
        if node_type == "SelectStmt" and (fields.get("fromClause") or fields.get("withClause")
                                          or fields.get("intoClause") or fields.get("lockingClause")):
            return None
        if node_type == "FuncCall":
            name = [part.lower() for part in _names(fields.get("funcname", []))]
            if name[-1] in REQUEST_STATE_FUNCTIONS or (len(name) > 1 and name[-2] == "auth"):
                return None
            if len(name) > 1:
                qualified.add(".".join(name[-2:]))
            else:
                bare.add(name[-1])
        elif node_type == "A_Expr":
            kind = fields.get("kind", "")
            if kind in _OPERATOR_KINDS:
                operators.add(_names(fields.get("name", []))[-1])
            elif kind.startswith("AEXPR_BETWEEN") or kind.startswith("AEXPR_NOT_BETWEEN"):
                operators.update(_BETWEEN_OPERATORS)
    return Candidate(expression=expression, qualified_functions=tuple(sorted(qualified)),
                     bare_functions=tuple(sorted(bare)), operators=tuple(sorted(operators)))


def candidates(catalog: Catalog) -> list[Candidate]:
    """The distinct candidate expressions of the catalog's policies (USING and WITH CHECK)."""
    texts = dict.fromkeys(text for policy in catalog.policies for text in (policy.using, policy.with_check)
                          if text is not None)
    return [found for found in map(candidate, texts) if found is not None]


def evaluation_script(found: list[Candidate]) -> str:
    rows = ",\n  ".join(
        f"({index}, {literal(item.expression)}::text, {text_array(item.qualified_functions)}, "
        f"{text_array(item.bare_functions)}, {text_array(item.operators)})"
        for index, item in enumerate(found)
    )
    calls = ", ".join(f"pg_temp.supadeploy_constant({literal(role)}, v.e, v.q, v.b, v.o)" for role in API_ROLES)
    return (
        f"SET LOCAL statement_timeout = {literal(EVALUATION_TIMEOUT)};\n"
        + EVALUATE_FUNCTION + ";\n"
        f"SELECT v.n, {calls}\nFROM (VALUES\n  {rows}\n) AS v(n, e, q, b, o)\nORDER BY v.n"
    )


def evaluate_constants(target: Target, catalog: Catalog) -> dict[str, frozenset[str]]:
    """role -> the candidate expressions that are true for every request of that role (one round trip, none
    when no policy has a candidate)."""
    found = candidates(catalog)
    if not found:
        return {}
    true_for: dict[str, set[str]] = {role: set() for role in API_ROLES}
    for row in target.query_rolled_back(evaluation_script(found)):
        expression = found[int(row[0])].expression
        for role, value in zip(API_ROLES, row[1:], strict=True):
            if value is True or value in ("t", "true"):
                true_for[role].add(expression)
    return {role: frozenset(texts) for role, texts in true_for.items()}
