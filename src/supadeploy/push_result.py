"""What a push is asked to do and what it did: plain data, light to import (the report of a push with nothing
to do needs these and nothing of the machinery in supadeploy.pipeline)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from supadeploy.targets.base import SessionLimits

if TYPE_CHECKING:
    from supadeploy.migrations.failure import MigrationFailure
    from supadeploy.migrations.files import Migration
    from supadeploy.migrations.plan import Plan


@dataclass(frozen=True)
class PushOptions:
    dry_run: bool = False
    include_all: bool = False
    allow_drift: bool = False
    allow_existing_objects: bool = False
    """Push although the database holds tables the migrations would create (supadeploy.hand_migrated)."""
    exposed_schemas: tuple[str, ...] = ("public",)
    """Where a database without history is looked at for tables (the deploy sets them from the project)."""
    deploy_lock_wait_seconds: float = 300.0
    limits: SessionLimits = field(default_factory=SessionLimits)


@dataclass(frozen=True)
class AppliedMigration:
    version: str
    name: str
    file: str
    duration_seconds: float


@dataclass
class PushResult:
    plan: Plan
    dry_run: bool
    applied: list[AppliedMigration] = field(default_factory=list)
    skipped: list[Migration] = field(default_factory=list)
    failed: MigrationFailure | None = None
    deployment_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.failed is None

    @property
    def not_attempted(self) -> list[Migration]:
        done = {m.version for m in self.applied} | {m.version for m in self.skipped}
        failed = {self.failed.version} if self.failed else set()
        return [m for m in self.plan.pending if m.version not in done | failed]


class PushListener:
    """Progress callbacks; the CLI renders them, the library ignores them."""

    def starting(self, migration: Migration, index: int, total: int) -> None: ...

    def finished(self, migration: Migration, seconds: float, applied: bool) -> None: ...

    def failed(self, migration: Migration) -> None: ...
