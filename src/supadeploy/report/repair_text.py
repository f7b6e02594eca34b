"""`supadeploy repair` as text: the line `supabase migration repair` prints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supadeploy.commands.repair import RepairRun
    from supadeploy.repair import RepairResult


def repaired_text(result: RepairResult) -> str:
    return f"Repaired migration history: [{' '.join(result.versions)}] => {result.status}"


def repair_document(run: RepairRun) -> dict[str, Any]:
    result = run.result
    return {"ok": True, "database": run.description, "status": result.status, "versions": result.versions,
            "whole_history": result.whole_history, "rows_written": result.rows_written,
            "rows_deleted": result.rows_deleted}
