"""What verify reports: findings (with stable codes and levels), access-matrix rows and probe results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LEVELS = ("info", "warn", "error")
LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}
COMMANDS = ("select", "insert", "update", "delete")
API_ROLES = ("anon", "authenticated")

ALLOWED = "allowed"
POLICY_GATED = "policy-gated"
DENIED = "denied"

# What a cell means for the app, finer than its state (MatrixRow.reach): a denied cell is either "no-grant"
# (the role lacks the privilege: permission denied, 42501) or "no-row" (granted, but RLS lets no row through).
NO_GRANT = "no-grant"
NO_ROW = "no-row"
EVERY_ROW = "every-row"
REACH_OF_STATE = {ALLOWED: EVERY_ROW, POLICY_GATED: POLICY_GATED}


@dataclass
class Finding:
    """One problem, on one object. ``code`` is stable; ``level`` is error, warn or info."""

    code: str
    level: str
    schema: str | None
    object: str | None
    message: str
    remediation: str
    object_type: str = "table"
    policy: str | None = None
    splinter: str | None = None
    """The Supabase splinter lint this corresponds to, when there is one."""
    arguments: str | None = None
    """A function's identity arguments (functions only)."""
    accepted: bool = False
    accepted_reason: str | None = None
    file: str | None = None
    line: int | None = None

    @property
    def qualified_name(self) -> str:
        if self.schema and self.object:
            return f"{self.schema}.{self.object}"
        return self.object or self.schema or ""

    @property
    def rank(self) -> int:
        return LEVEL_RANK[self.level]

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "level": self.level, "schema": self.schema, "object": self.object,
            "object_type": self.object_type, "policy": self.policy, "arguments": self.arguments,
            "message": self.message, "remediation": self.remediation, "splinter": self.splinter,
            "accepted": self.accepted, "accepted_reason": self.accepted_reason,
            "file": self.file, "line": self.line,
        }


@dataclass(frozen=True)
class MatrixRow:
    """What anon and authenticated can do with one relation of an exposed schema."""

    schema: str
    name: str
    kind: str
    rls_enabled: bool
    rls_forced: bool
    access: dict[str, dict[str, str]]
    """role -> command -> allowed | policy-gated | denied"""
    policies: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """role -> command -> the permissive policies that gate it (policy-gated cells only)"""
    reach: dict[str, dict[str, str]] = field(default_factory=dict)
    """role -> command -> no-grant | no-row | policy-gated | every-row (``access`` with denied split in two)"""

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {"schema": self.schema, "table": self.name, "kind": self.kind, "rls_enabled": self.rls_enabled,
                "rls_forced": self.rls_forced, "access": self.access, "policies": self.policies,
                "reach": self.reach}


@dataclass(frozen=True)
class ProbeResult:
    name: str
    role: str
    passed: bool
    expected: str
    got: str
    message: str | None = None
    """The database's error message when the probe (or its setup) raised one."""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "passed": self.passed, "expected": self.expected,
                "got": self.got, "message": self.message}


# Every code verify reports, with its level (see docs/verify.md).
FINDING_CODES: dict[str, str] = {
    "rls_disabled": "error",
    "sensitive_columns_exposed": "error",
    "rls_no_policy": "info",
    "policy_rls_disabled": "error",
    "owner_bypasses_rls": "info",
    "api_role_bypasses_rls": "error",
    "policy_always_true": "warn",
    "policy_null_auth_disjunct": "warn",
    "policy_per_row_auth_call": "warn",
    "multiple_permissive_policies": "warn",
    "policy_user_metadata": "error",
    "security_definer_view": "error",
    "auth_users_exposed": "error",
    "materialized_view_exposed": "warn",
    "foreign_table_exposed": "warn",
    "graphql_table_exposed": "info",
    "function_search_path_mutable": "warn",
    "security_definer_function_executable": "warn",
    "extension_in_exposed_schema": "warn",
    "fkey_to_auth_unique": "error",
    "queue_exposed": "error",
    "public_bucket_allows_listing": "warn",
    "policy_without_grant": "warn",
    "sequence_usage_missing": "error",
    "api_object_unreachable": "warn",
    "manifest_table_missing": "warn",
    "manifest_table_unlisted": "warn",
    "manifest_rls_changed": "error",
    "manifest_policy_missing": "error",
    "manifest_policy_extra": "error",
    "manifest_policy_changed": "error",
    "accept_unused": "info",
    "probe_failed": "error",
    "probes_skipped": "info",
}
