"""`supadeploy rollback` as text: the plan (shown before anything runs), then what was rolled back."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supadeploy.rollback import RollbackResult
    from supadeploy.typegen.outputs import TypesFileResult


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
