"""`supadeploy history` as text: two lines per run (three or four with its backup and error), newest first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supadeploy.deploylog import Deployment


def history_text(deployments: list[Deployment], database: str) -> str:
    if not deployments:
        return f"No deployments recorded on {database}."
    lines: list[str] = []
    for d in deployments:
        finished = f"{d.finished_at:%Y-%m-%d %H:%M:%S}" if d.finished_at else "-"
        commit = (d.git_commit or "-")[:12] + (" (uncommitted changes)" if d.git_dirty else "")
        versions = ", ".join(d.versions_applied) or "nothing applied"
        lines.append(f"#{d.id} {d.command} {d.environment or '-'} {d.status}  started "
                     f"{d.started_at:%Y-%m-%d %H:%M:%S %Z} finished {finished}")
        lines.append(f"    by {d.actor or '-'} at {commit} ({d.git_branch or '-'}): {versions}")
        if d.backup_location:
            lines.append(f"    backup: {d.backup_location}")
        if d.error:
            lines.append(f"    error: {d.error.splitlines()[0]}")
    return "\n".join(lines)


def history_document(deployments: list[Deployment], database: str) -> dict[str, Any]:
    return {"ok": True, "database": database, "deployments": [d.as_dict() for d in deployments]}
