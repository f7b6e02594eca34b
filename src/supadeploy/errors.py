"""The one exception type for problems a user can cause and fix."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supadeploy.sql_diagnostics import SqlDiagnostics


class SupadeployError(Exception):
    """A problem the user can fix: what happened, where, and what to do.

    ``where`` is a location such as ``supabase/migrations/001_init.sql:12:5``;
    ``fix`` is one sentence telling the user what to do next.
    Messages must never contain secrets: redact at the boundary.
    """

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None,
                 exit_code: int = 1) -> None:
        self.what = what
        self.where = where
        self.fix = fix
        self.exit_code = exit_code
        super().__init__(self.render())

    def render(self) -> str:
        head = f"{self.where}: {self.what}" if self.where else self.what
        return f"{head}\n  {self.fix}" if self.fix else head


class ConfigError(SupadeployError):
    """supadeploy.toml or environment variables are wrong."""


class MigrationFileError(SupadeployError):
    """A migration file cannot be used (name, encoding, content)."""


class PlanError(SupadeployError):
    """Local files and remote history disagree in a way that stops a push."""


class ConnectionFailed(SupadeployError):
    """The database cannot be reached."""


class DatabaseError(SupadeployError):
    """The database refused a statement supadeploy sent; ``diagnostics`` is what Postgres said (SQLSTATE first)."""

    def __init__(self, what: str, diagnostics: SqlDiagnostics, *, fix: str | None = None) -> None:
        self.diagnostics = diagnostics
        super().__init__(what, fix=fix)


class LockTimeout(SupadeployError):
    """Another deploy held the lock for longer than the configured wait."""


class Interrupted(SupadeployError):
    """Ctrl-C or SIGTERM (a cancelled CI job): says exactly what is applied and what was rolled back."""

    def __init__(self, what: str, *, fix: str | None = None) -> None:
        super().__init__(what, fix=fix, exit_code=130)
