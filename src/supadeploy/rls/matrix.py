"""The access matrix: what anon and authenticated can do with each relation of the exposed schemas.

A cell combines the privilege (GRANT, and USAGE on the schema), the RLS state and the policies:

* ``denied``: no privilege; or RLS on and no permissive policy grants that command to the role;
* ``allowed``: privilege and no RLS (or the role bypasses it), or a permissive policy that lets every row
  through for the role (``Catalog.every_row``: always true; for authenticated, also true for every signed-in
  user) with no restrictive policy; a security-definer view, a materialized view or a foreign table;
* ``policy-gated``: privilege, and rows pass only where a permissive policy's condition holds (and every
  restrictive one's).

``MatrixRow.reach`` splits ``denied`` in two: ``no-grant`` (no privilege: the request fails with permission
denied) and ``no-row`` (granted, but RLS lets no row through); the other cells are ``policy-gated`` and
``every-row``.

A security_invoker view combines the cells of the relations it reads (the caller's privileges and their
RLS apply): denied if one is denied, allowed if all are allowed, policy-gated otherwise.
"""

from __future__ import annotations

from supadeploy.rls.catalog import Catalog, Policy, Relation
from supadeploy.rls.findings import (
    ALLOWED,
    API_ROLES,
    COMMANDS,
    DENIED,
    NO_GRANT,
    NO_ROW,
    POLICY_GATED,
    REACH_OF_STATE,
    MatrixRow,
)

# pg_relation_is_updatable: 1 << CMD_UPDATE (2), 1 << CMD_INSERT (3), 1 << CMD_DELETE (4)
_UPDATABLE_BIT = {"update": 4, "insert": 8, "delete": 16}


def _effective_check(policy: Policy) -> str | None:
    """WITH CHECK as Postgres applies it: an ALL or UPDATE policy without one reuses its USING."""
    if policy.with_check is not None:
        return policy.with_check
    return policy.using if policy.command in ("ALL", "UPDATE") else None


def _grants(policy: Policy, command: str) -> bool:
    """The policy can let some row through for ``command`` (a missing clause grants nothing)."""
    if command == "insert":
        return _effective_check(policy) is not None
    return policy.using is not None


def _opens_every_row(catalog: Catalog, policy: Policy, role: str, command: str) -> bool:
    using_true = catalog.every_row(policy.using, role)
    check_true = catalog.every_row(_effective_check(policy), role)
    if command == "insert":
        return check_true
    if command == "update":
        return using_true and check_true
    return using_true


def table_cell(catalog: Catalog, relation: Relation, policies: list[Policy], role: str,
               command: str) -> tuple[str, list[str]]:
    if not relation.can(role, command):
        return DENIED, []
    if catalog.role_bypasses_rls.get(role) or (relation.api_role_owns.get(role) and not relation.rls_forced):
        return ALLOWED, []
    if not relation.rls_enabled:
        return ALLOWED, []
    word = command.upper()
    permissive: list[Policy] = []
    restricted = False
    for policy in policies:
        if (policy.command == "ALL" or policy.command == word) and policy.applies_to.get(role):
            if not policy.permissive:
                restricted = True
            elif _grants(policy, command):
                permissive.append(policy)
    if not permissive:
        return DENIED, []
    if not restricted and any(_opens_every_row(catalog, p, role, command) for p in permissive):
        return ALLOWED, []
    return POLICY_GATED, sorted(p.name for p in permissive)


def _combine(states: list[str]) -> str:
    if DENIED in states:
        return DENIED
    return ALLOWED if states and all(state == ALLOWED for state in states) else POLICY_GATED


class _Matrix:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.by_table = catalog.policies_by_table()

    def cell(self, relation: Relation, role: str, command: str, depth: int = 0) -> tuple[str, list[str]]:
        if relation.is_table:
            return table_cell(self.catalog, relation, self.by_table.get(relation.qualified_name, []), role, command)
        if not relation.can(role, command):
            return DENIED, []
        if command != "select" and not relation.updatable & _UPDATABLE_BIT[command]:
            return DENIED, []
        if relation.kind == "v" and relation.security_invoker:
            # The caller's privileges and the RLS of the relations the view reads apply.
            states = []
            for name in relation.reads:
                base = self.catalog.relation_by_name.get(name)
                if base is None or depth > 8:
                    states.append(POLICY_GATED)
                else:
                    states.append(self.cell(base, role, command if base.is_table else "select", depth + 1)[0])
            return _combine(states), []
        return ALLOWED, []  # security-definer view, materialized view, foreign table: no RLS applies


def _reach(catalog: Catalog, relation: Relation, role: str, command: str, state: str) -> str:
    """``state`` with denied split in no-grant and no-row; a security_invoker view is no-grant when the role
    lacks SELECT on a relation the view reads (the read fails with permission denied)."""
    if state != DENIED:
        return REACH_OF_STATE[state]
    if not relation.can(role, command):
        return NO_GRANT
    if relation.kind == "v" and relation.security_invoker and any(
            (base := catalog.relation_by_name.get(name)) is not None and not base.can(role, "select")
            for name in relation.reads):
        return NO_GRANT
    return NO_ROW


def build_matrix(catalog: Catalog) -> list[MatrixRow]:
    matrix = _Matrix(catalog)
    rows: list[MatrixRow] = []
    exposed = [r for r in catalog.relations if r.exposed and not r.is_partition]
    for relation in sorted(exposed, key=lambda r: (r.schema, r.name)):
        access: dict[str, dict[str, str]] = {}
        reach: dict[str, dict[str, str]] = {}
        gating: dict[str, dict[str, list[str]]] = {}
        for role in API_ROLES:
            access[role] = {}
            reach[role] = {}
            for command in COMMANDS:
                state, names = matrix.cell(relation, role, command)
                if names:
                    gating.setdefault(role, {})[command] = names
                access[role][command] = state
                reach[role][command] = _reach(catalog, relation, role, command, state)
        rows.append(MatrixRow(schema=relation.schema, name=relation.name, kind=relation.kind_name,
                              rls_enabled=relation.rls_enabled, rls_forced=relation.rls_forced, access=access,
                              policies=gating, reach=reach))
    return rows
