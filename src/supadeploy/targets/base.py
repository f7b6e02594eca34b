"""The Target protocol: the few things every capability needs from a database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # annotations only: a read-only target never loads the migration modules
    from supadeploy.migrations.executable import ExecutableSql
    from supadeploy.migrations.files import Migration
    from supadeploy.migrations.history import HistoryEdit, HistoryRow


@dataclass(frozen=True)
class SessionLimits:
    """Per-migration limits, as Postgres settings values ('10000ms', '0')."""

    lock_timeout: str = "10000ms"
    statement_timeout: str = "0"


class Target(Protocol):
    """A database supadeploy can read and deploy to."""

    @property
    def description(self) -> str:
        """Where this target points, safe to print (no secrets)."""
        ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def query_rolled_back(self, script: str) -> list[tuple[Any, ...]]:
        """Run ``script`` (one or more statements, no parameters) in one transaction that is always rolled
        back; return the rows of its last statement that returns a result set. (verify's probes)"""
        ...

    def read_history(self) -> list[HistoryRow]: ...

    def ensure_history_table(self) -> None: ...

    def acquire_deploy_lock(self, wait_seconds: float) -> None: ...

    def release_deploy_lock(self) -> None: ...

    def apply_migration(self, migration: Migration, limits: SessionLimits, *, durable: bool) -> bool:
        """Apply one migration with its history row; False when it was already in the history."""
        ...

    def edit_history(self, edit: HistoryEdit) -> int:
        """Make ``edit`` in one transaction (call ensure_history_table first); the number of rows deleted."""
        ...

    def undo_migration(self, version: str, down: Migration, executable: ExecutableSql,
                       limits: SessionLimits) -> None:
        """Run the down SQL ``executable`` (of the file ``down``) and delete ``version``'s history row, in one
        transaction; MigrationFailed located in ``down`` when a statement fails (rollback)."""
        ...

    def standard_conforming_strings(self) -> bool: ...

    def close(self) -> None: ...


@runtime_checkable
class ConcurrentTextReads(Protocol):
    """A Target that can run several read-only statements at once, each returning one text value
    (targets.libpq_target; verify's catalog). Other targets run them one after the other with ``query``."""

    def read_texts(self, statements: Sequence[str]) -> list[str | None]: ...
