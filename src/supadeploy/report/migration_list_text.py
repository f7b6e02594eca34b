"""`supadeploy migration list` as text: the table `supabase migration list` prints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supadeploy.migrations.listing import ListingEntry

TIMESTAMP_DIGITS = 14


def listing_table(entries: list[ListingEntry]) -> str:
    header = ("Local", "Remote", "Time (UTC)", "Name", "Status")
    rows = [
        (e.version if e.local else "", e.version if e.remote else "", _time_of(e.version), e.name or "", e.status)
        for e in entries
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return "  " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    separator = "  " + "-|-".join("-" * w for w in widths)
    return "\n".join([line(header), separator, *(line(r) for r in rows)])


def _time_of(version: str) -> str:
    if len(version) == TIMESTAMP_DIGITS:
        v = version
        return f"{v[0:4]}-{v[4:6]}-{v[6:8]} {v[8:10]}:{v[10:12]}:{v[12:14]}"
    return version


def listing_document(entries: list[ListingEntry], database: str, warnings: list[str]) -> dict[str, Any]:
    return {"ok": True, "database": database, "migrations": [entry.as_dict() for entry in entries],
            "warnings": warnings}
