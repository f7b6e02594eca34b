"""`supadeploy link` and `supadeploy projects` as text."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supadeploy.linking import LinkResult
    from supadeploy.management_api.models import Project


def linked_text(result: LinkResult) -> str:
    project = result.project
    where = result.config_path.name
    return (f"linked environment '{result.environment}' to {project.name} ({project.ref}, {project.region}, "
            f"{project.status})" + ("" if result.config_changed else f"; {where} already had it"))


def projects_text(found: list[Project]) -> str:
    if not found:
        return "no projects: this token sees none (create one at https://supabase.com/dashboard)"
    rows = [("NAME", "REF", "REGION", "STATUS")] + [(p.name, p.ref, p.region, p.status) for p in found]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in rows)
