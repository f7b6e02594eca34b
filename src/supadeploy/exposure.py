"""What pending migrations change in exposure, found before they are applied.

:func:`exposure_difference` creates a throwaway Supabase-shaped database (:func:`supadeploy.shadow.shadow_database`),
replays the applied migrations, reads what anon and authenticated can do (:mod:`supadeploy.exposure_cells`),
applies the pending migrations, reads it again, drops the database and lists each cell that changed:
``public.notes: authenticated SELECT none → own rows``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from supadeploy.errors import SupadeployError

if TYPE_CHECKING:
    from supadeploy.config import ProjectConfig
    from supadeploy.exposure_cells import CellKey
    from supadeploy.migrations.files import Migration
    from supadeploy.targets.postgres import PostgresTarget
    from supadeploy.types_preview import TypesChange

ACTION_ORDER = {"SELECT": 0, "INSERT": 1, "UPDATE": 2, "DELETE": 3, "EXECUTE": 4}


@dataclass(frozen=True)
class ExposureChange:
    object: str
    """schema.name of a table or view, schema.name(arguments) of a function"""
    role: str
    action: str
    """SELECT | INSERT | UPDATE | DELETE | EXECUTE"""
    before: str
    after: str

    def render(self) -> str:
        return f"{self.object}: {self.role} {self.action} {self.before} → {self.after}"

    def as_dict(self) -> dict[str, Any]:
        return {"object": self.object, "role": self.role, "action": self.action, "before": self.before,
                "after": self.after}


class ExposureReplayFailed(SupadeployError):
    """A migration fails on the throwaway database, so the exposure it changes cannot be computed."""


@dataclass(frozen=True)
class ReplayPreview:
    """What a dry run's replay on a throwaway database shows: exposure cells and generated types that change."""

    exposure: list[ExposureChange]
    types: list[TypesChange] | None
    """None: the types could not be generated (the reason is in ``types_problem``)."""
    types_problem: str | None = None


def exposure_difference(shadow_admin_url: str, project: ProjectConfig, applied_migrations: list[Migration],
                        pending_migrations: list[Migration]) -> list[ExposureChange]:
    """The cells of the access matrix that ``pending_migrations`` change, on top of ``applied_migrations``."""
    return preview_difference(shadow_admin_url, project, applied_migrations, pending_migrations,
                              with_types=False).exposure


def preview_difference(shadow_admin_url: str, project: ProjectConfig, applied_migrations: list[Migration],
                       pending_migrations: list[Migration], *, with_types: bool = True) -> ReplayPreview:
    """Replay ``applied_migrations`` on a throwaway database, read exposure (and the generated types), apply
    ``pending_migrations``, read them again: what changes."""
    from supadeploy.exposure_cells import read_exposure
    from supadeploy.hand_migrated import exposed_schemas
    from supadeploy.shadow import shadow_database
    from supadeploy.targets.postgres import PostgresTarget
    from supadeploy.types_preview import generated_types, preview_outputs, types_difference

    schemas = exposed_schemas(project)
    outputs = preview_outputs(project) if with_types else []
    types_problem: str | None = None
    types_before: list[str] | None = None
    types_after: list[str] | None = None
    with shadow_database(shadow_admin_url) as url:
        target = PostgresTarget(url, application_name="supadeploy exposure")
        try:
            target.ensure_history_table()
            _replay(target, applied_migrations, "an applied migration")
            before = read_exposure(target, schemas)
            try:
                types_before = generated_types(target, outputs) if outputs else None
            except SupadeployError as exc:
                types_problem = exc.what
            _replay(target, pending_migrations, "a pending migration")
            after = read_exposure(target, schemas)
            try:
                types_after = generated_types(target, outputs) if types_before is not None else None
            except SupadeployError as exc:
                types_problem = exc.what
        finally:
            target.close()
    types = (types_difference(project, outputs, types_before, types_after)
             if types_before is not None and types_after is not None else None)
    return ReplayPreview(exposure=diff_exposure(before, after), types=types, types_problem=types_problem)


def split_after(migrations: list[Migration], version: str) -> tuple[list[Migration], list[Migration]]:
    """(the migrations up to and including ``version``, the ones after it): ``check --exposure-since``."""
    if version not in {migration.version for migration in migrations}:
        raise SupadeployError(f"--exposure-since {version}: no migration has that version",
                              fix="pass the version of a migration in supabase/migrations/ (e.g. the newest one "
                                  "already deployed)")
    return ([m for m in migrations if m.version <= version], [m for m in migrations if m.version > version])


def _replay(target: PostgresTarget, migrations: list[Migration], which: str) -> None:
    from supadeploy.migrations.failure import MigrationFailed
    from supadeploy.targets.base import SessionLimits

    for migration in migrations:
        try:
            target.apply_migration(migration, SessionLimits(), durable=False)
        except MigrationFailed as failed:
            failure = failed.failure
            raise ExposureReplayFailed(
                f"{which} fails on the throwaway database, so the exposure difference cannot be computed: "
                f"{failure.message}" + (f" [SQLSTATE {failure.sqlstate}]" if failure.sqlstate else ""),
                where=failure.location,
                fix="`supadeploy check` replays every migration and shows why; fix the migration, or drop "
                    "--shadow-url to skip the exposure difference") from None


def diff_exposure(before: dict[CellKey, str], after: dict[CellKey, str]) -> list[ExposureChange]:
    """Cells whose rendered value differs; a cell missing on one side is ``none`` there."""
    from supadeploy.exposure_cells import NONE

    changes = [ExposureChange(object=key[0], role=key[1], action=key[2], before=before.get(key, NONE),
                              after=after.get(key, NONE))
               for key in before.keys() | after.keys() if before.get(key, NONE) != after.get(key, NONE)]
    return sorted(changes, key=lambda c: (c.object, c.role, ACTION_ORDER.get(c.action, 9), c.action))
