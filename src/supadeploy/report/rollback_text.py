"""`supadeploy rollback` as text: the plan (shown before anything runs), then what was rolled back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supadeploy.commands.rollback import RollbackRun
    from supadeploy.rollback import RollbackPlan, RollbackResult
    from supadeploy.typegen.outputs import TypesFileResult


def rollback_steps(plan: RollbackPlan) -> list[dict[str, object]]:
    return [{"version": s.migration.version, "name": s.migration.name, "down_file": str(s.down.path),
             "source": s.down.source, "statements": s.down.migration.statement_texts} for s in plan.steps]


def rollback_document(run: RollbackRun, to: str) -> dict[str, Any]:
    """The --json document of a rollback (or of its plan, with --dry-run or nothing to roll back)."""
    document: dict[str, Any] = {"ok": True, "dry_run": run.dry_run, "database": run.description, "to": to,
                                "steps": rollback_steps(run.plan),
                                "rolled_back": [r.version for r in run.result.rolled_back] if run.result else []}
    if run.result is not None:
        document["types"] = [{"path": str(t.path), "lang": t.lang, "changed": t.changed} for t in run.types]
    return document


def rollback_text(run: RollbackRun, to: str) -> str:
    if run.result is None:
        return plan_text(rollback_steps(run.plan), run.description, to)
    return rolled_back_text(run.result, run.types)


def plan_text(steps: list[dict[str, object]], database: str, to: str) -> str:
    if not steps:
        return f"nothing to roll back on {database}: no applied migration is newer than {to}"
    lines = [f"roll back on {database}, newest first, down to {to}:"]
    for step in steps:
        lines.append(f"  {step['version']}_{step['name']} (down SQL from {step['down_file']}, {step['source']})")
        for statement in step["statements"]:  # type: ignore[attr-defined]
            lines.extend(f"      {line}" for line in str(statement).splitlines())
    return "\n".join(lines)


def rolled_back_text(result: RollbackResult, types: list[TypesFileResult]) -> str:
    lines = [f"rolled back {len(result.rolled_back)} migration(s): "
             + ", ".join(f"{r.version}_{r.name}" for r in result.rolled_back)]
    lines.extend(f"types: {written.path} {'regenerated' if written.changed else 'unchanged'}" for written in types)
    return "\n".join(lines)
