"""The exposure difference of pending migrations, as text and as JSON."""

from __future__ import annotations

from typing import Any

from supadeploy.exposure import ExposureChange

HOW_TO_GET_IT = ("Exposure difference: not computed; pass --shadow-url (or set SUPADEPLOY_SHADOW_URL) with a "
                 "superuser URL of a server where a throwaway database may be created to see what anon and "
                 "authenticated gain or lose.")


def exposure_text(changes: list[ExposureChange] | None) -> str:
    """None: not computed (no shadow server), which says in one line how to get it."""
    if changes is None:
        return HOW_TO_GET_IT
    if not changes:
        return "Exposure difference: anon and authenticated gain and lose nothing."
    return f"Exposure difference ({len(changes)} change(s)):\n" + "\n".join(
        f"  {change.render()}" for change in changes)


def exposure_document(changes: list[ExposureChange] | None) -> list[dict[str, Any]] | None:
    return [change.as_dict() for change in changes] if changes is not None else None
