"""Local files next to remote history, for `supadeploy migration list`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from supadeploy.migrations.files import Migration
from supadeploy.migrations.history import HistoryRow


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
