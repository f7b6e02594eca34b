"""``supadeploy baseline --to VERSION``: adopt a database that was migrated by hand.

Teams that pasted their migration files into the SQL editor have the schema but no history, so the first
``push`` would try to run everything again. ``baseline`` replays the migrations up to VERSION on a throwaway
database (:mod:`supadeploy.shadow`), compares its schema fingerprint with the live database's over the
application schemas of both (:mod:`supadeploy.fingerprint`), shows the differences, and only when there are
none (or with ``force``) records those versions as applied, the way ``supabase migration repair --status
applied`` writes them, in one transaction. Versions already in the history are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from supadeploy.errors import PlanError
from supadeploy.fingerprint import FingerprintDifference, application_schemas, diff_fingerprints, schema_fingerprint
from supadeploy.migrations.files import Migration
from supadeploy.migrations.history import HistoryEdit, HistoryEntry
from supadeploy.migrations.plan import newest_versions_text
from supadeploy.shadow import replay, shadow_database
from supadeploy.targets.base import Target
from supadeploy.targets.postgres import PostgresTarget


@dataclass
class BaselineResult:
    to_version: str
    migrations: list[Migration]
    schemas: tuple[str, ...]
    differences: list[FingerprintDifference]
    already_recorded: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)
    forced: bool = False

    @property
    def matches(self) -> bool:
        return not self.differences


def baseline(target: Target, local: list[Migration], to_version: str, *, server_url: str | None = None,
             schemas: list[str] | None = None, force: bool = False, dry_run: bool = False) -> BaselineResult:
    """Compare the live database with a replay up to ``to_version``; record those versions when they match."""
    versions = [m.version for m in local]
    if to_version not in versions:
        raise PlanError(f"version {to_version} is not a local migration",
                        fix=f"pass the version of a file in supabase/migrations/ ({newest_versions_text(versions)})")
    chosen = [m for m in local if m.version <= to_version]
    with shadow_database(server_url) as url:
        outcome = replay(url, chosen, idempotency=False, round_trips=False)
        if outcome.failure is not None:
            raise PlanError(f"migration {outcome.failure.version}_{outcome.failure.name} fails on a fresh database: "
                            f"{outcome.failure.message}", where=outcome.failure.location,
                            fix="fix the migration (supadeploy check shows every problem), then baseline again")
        shadow = PostgresTarget(url, application_name="supadeploy baseline")
        try:
            compared = tuple(sorted(set(schemas) if schemas else
                                    set(application_schemas(shadow)) | set(application_schemas(target))))
            expected = schema_fingerprint(shadow, compared)
        finally:
            shadow.close()
    live = schema_fingerprint(target, compared)
    result = BaselineResult(to_version=to_version, migrations=chosen, schemas=compared,
                            differences=diff_fingerprints(expected, live), forced=force)
    history = {row.version for row in target.read_history()}
    result.already_recorded = [m.version for m in chosen if m.version in history]
    if dry_run or (result.differences and not force):
        return result
    target.ensure_history_table()
    missing = [m for m in chosen if m.version not in history]
    target.edit_history(HistoryEdit(insert_missing=tuple(HistoryEntry.of(m) for m in missing)))
    result.recorded = [m.version for m in missing]
    return result
