"""Plain dicts for --json output (stable keys; no secrets)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from supadeploy.errors import DatabaseError, SupadeployError

if TYPE_CHECKING:
    from supadeploy.migrations.failure import MigrationFailure
    from supadeploy.migrations.files import Migration
    from supadeploy.migrations.plan import Plan
    from supadeploy.push_result import PushResult


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False, default=str)


def migration_ref(migration: Migration) -> dict[str, Any]:
    return {"version": migration.version, "name": migration.name, "file": str(migration.path)}


def plan_document(plan: Plan) -> dict[str, Any]:
    return {
        "pending": [migration_ref(m) for m in plan.pending],
        "applied": [migration_ref(m) for m in plan.applied],
        "out_of_order": [m.version for m in plan.out_of_order],
        "remote_only": [{"version": r.version, "name": r.name} for r in plan.remote_only],
        "drifted": [migration_ref(d.migration) for d in plan.drifted],
        "comment_only": [migration_ref(d.migration) for d in plan.comment_only],
    }


def failure_document(failure: MigrationFailure) -> dict[str, Any]:
    return {
        "version": failure.version, "name": failure.name, "file": failure.file, "line": failure.line,
        "column": failure.column, "statement": failure.statement_index + 1, "sqlstate": failure.sqlstate,
        "message": failure.message, "detail": failure.detail, "hint": failure.hint,
        "partially_applied": failure.partially_applied,
    }


def push_document(result: PushResult, *, target: str, environment: str | None,
                  warnings: list[str]) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "dry_run": result.dry_run,
        "environment": environment,
        "database": target,
        "plan": plan_document(result.plan),
        "result": {
            "applied": [
                {"version": a.version, "name": a.name, "file": a.file,
                 "duration_ms": round(a.duration_seconds * 1000, 1)}
                for a in result.applied
            ],
            "skipped": [migration_ref(m) for m in result.skipped],
            "not_attempted": [migration_ref(m) for m in result.not_attempted] if not result.dry_run else [],
            "failed": failure_document(result.failed) if result.failed else None,
        },
        "warnings": warnings,
    }


def error_document(error: SupadeployError) -> dict[str, Any]:
    document: dict[str, Any] = {"type": type(error).__name__, "message": error.what, "where": error.where,
                                "fix": error.fix}
    if isinstance(error, DatabaseError):
        document["sqlstate"] = error.diagnostics.sqlstate
    return {"ok": False, "error": document}
