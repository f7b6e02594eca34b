"""`supadeploy repair` as text: the line `supabase migration repair` prints."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supadeploy.repair import RepairResult


def repaired_text(result: RepairResult) -> str:
    return f"Repaired migration history: [{' '.join(result.versions)}] => {result.status}"
