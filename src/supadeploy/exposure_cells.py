"""What anon and authenticated can do with each object of the exposed schemas, as words a reviewer reads.

One cell per (object, role, action): the access matrix's cells for tables and views (SELECT, INSERT, UPDATE,
DELETE), and EXECUTE for the functions of the exposed schemas. A cell is compared by its rendered value
(``none``, ``every row``, ``own rows``, ``policy-gated (names)``, ``callable``), so a finer classification of
the matrix shows up as a finer word rather than being lost.
"""

from __future__ import annotations

from dataclasses import replace

from supadeploy.rls.catalog import Catalog, Policy, read_catalog
from supadeploy.rls.constant_expressions import evaluate_constants
from supadeploy.rls.expressions import Token, split_comparison, strip_parentheses, tokenize
from supadeploy.rls.findings import ALLOWED, API_ROLES, DENIED, POLICY_GATED, MatrixRow
from supadeploy.rls.matrix import build_matrix
from supadeploy.targets.base import Target

NONE = "none"
EVERY_ROW = "every row"
OWN_ROWS = "own rows"
CALLABLE = "callable"

CellKey = tuple[str, str, str]
"""(object, role, action): ("public.notes", "authenticated", "SELECT")"""

_STATE_WORDS = {DENIED: NONE, ALLOWED: EVERY_ROW}


def read_exposure(target: Target, schemas: tuple[str, ...]) -> dict[CellKey, str]:
    """Every cell of the exposed schemas of the database at ``target`` whose value is not ``none``."""
    catalog = read_catalog(target, schemas)
    catalog = replace(catalog, constant_true=evaluate_constants(target, catalog))
    cells = _relation_cells(catalog)
    cells.update(_function_cells(catalog))
    return {key: value for key, value in cells.items() if value != NONE}


def _relation_cells(catalog: Catalog) -> dict[CellKey, str]:
    by_table = catalog.policies_by_table()
    cells: dict[CellKey, str] = {}
    for row in build_matrix(catalog):
        policies = {policy.name: policy for policy in by_table.get(row.qualified_name, [])}
        for role in API_ROLES:
            for command, state in row.access.get(role, {}).items():
                cells[(row.qualified_name, role, command.upper())] = render_cell(row, role, command, state, policies)
    return cells


def _function_cells(catalog: Catalog) -> dict[CellKey, str]:
    return {(function.signature, role, "EXECUTE"): CALLABLE
            for function in catalog.functions if function.exposed and not function.returns_trigger
            for role in API_ROLES if function.executable_by.get(role)}


def render_cell(row: MatrixRow, role: str, command: str, state: str, policies: dict[str, Policy]) -> str:
    """The words for one matrix cell; a state this module does not know reads as itself (``no-grant``: no grant)."""
    if state == POLICY_GATED:
        names = row.policies.get(role, {}).get(command, [])
        gating = [policies[name] for name in names if name in policies]
        if gating and all(_limits_to_own_rows(policy, command) for policy in gating):
            return OWN_ROWS
        return f"policy-gated ({', '.join(names)})" if names else "policy-gated"
    return _STATE_WORDS.get(state, state.replace("-", " ").replace("_", " "))


def _limits_to_own_rows(policy: Policy, command: str) -> bool:
    """The clauses the command uses compare a column with the signed-in user's id (``auth.uid() = user_id``)."""
    clauses = {"select": [policy.using], "delete": [policy.using], "insert": [_check(policy)],
               "update": [policy.using, _check(policy)]}[command]
    return all(clause is not None and _is_owner_comparison(clause) for clause in clauses)


def _check(policy: Policy) -> str | None:
    if policy.with_check is not None:
        return policy.with_check
    return policy.using if policy.command in ("ALL", "UPDATE") else None


def _is_owner_comparison(expression: str) -> bool:
    comparison = split_comparison(strip_parentheses(tokenize(expression)))
    if comparison is None:
        return False
    left, right = comparison
    return (_is_user_id(left) and _is_column(right)) or (_is_column(left) and _is_user_id(right))


def _without_cast(tokens: tuple[Token, ...]) -> tuple[Token, ...]:
    tokens = strip_parentheses(tokens)
    if len(tokens) >= 2 and tokens[-2].kind == "cast":
        return strip_parentheses(tokens[:-2])
    return tokens


def _is_user_id(tokens: tuple[Token, ...]) -> bool:
    """``auth.uid()``, ``( SELECT auth.uid() AS uid)``, ``(auth.jwt() ->> 'sub'::text)``, cast or not."""
    tokens = _without_cast(tokens)
    if tokens and tokens[0].is_word("SELECT"):
        tokens = tokens[1:-2] if len(tokens) >= 3 and tokens[-2].is_word("AS") else tokens[1:]
        tokens = _without_cast(tokens)
    text = "".join(token.text for token in tokens).lower()
    return text in ("auth.uid()", "auth.jwt()->>'sub'", "auth.jwt()->>'sub'::text")


def _is_column(tokens: tuple[Token, ...]) -> bool:
    tokens = _without_cast(tokens)
    return len(tokens) == 1 and tokens[0].kind in ("word", "quoted") and not tokens[0].is_word("NULL", "TRUE", "FALSE")
