"""Local files next to remote history, for `supadeploy migration list`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from supadeploy.migrations.files import Migration
from supadeploy.migrations.history import HistoryRow

TIMESTAMP_DIGITS = 14


@dataclass(frozen=True)
class ListingEntry:
    version: str
    name: str | None
    local: bool
    remote: bool
    status: str  # applied | pending | remote-only | drifted

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "name": self.name, "local": self.local, "remote": self.remote,
                "status": self.status}


def compare(local: list[Migration], history: list[HistoryRow]) -> list[ListingEntry]:
    rows = {row.version: row for row in history}
    files = {m.version: m for m in local}
    entries: list[ListingEntry] = []
    for version in sorted(set(rows) | set(files)):
        migration, row = files.get(version), rows.get(version)
        if migration and row:
            drifted = row.matches(migration) is False
            status = "drifted" if drifted else "applied"
        else:
            status = "pending" if migration else "remote-only"
        name = migration.name if migration else (row.name if row else None)
        entries.append(ListingEntry(version, name, migration is not None, row is not None, status))
    return entries


def _time_of(version: str) -> str:
    if len(version) == TIMESTAMP_DIGITS:
        v = version
        return f"{v[0:4]}-{v[4:6]}-{v[6:8]} {v[8:10]}:{v[10:12]}:{v[12:14]}"
    return version


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
