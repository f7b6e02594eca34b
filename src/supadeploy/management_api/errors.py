"""One exception per way a Management API call can fail, each with a message that says what to do.

None of them ever holds the access token: the client never puts it anywhere but the Authorization header.
"""

from __future__ import annotations

from dataclasses import dataclass

from supadeploy.errors import DatabaseError, SupadeployError
from supadeploy.sql_diagnostics import SqlDiagnostics

TOKENS_PAGE = "https://supabase.com/dashboard/account/tokens"


class ManagementApiError(SupadeployError):
    """A Management API call failed."""


class BadToken(ManagementApiError):
    def __init__(self, api_url: str) -> None:
        super().__init__(
            f"the Management API at {api_url} rejected the access token (401 Unauthorized)",
            fix=f"create a token at {TOKENS_PAGE} and set SUPABASE_ACCESS_TOKEN to it",
        )


class NoAccess(ManagementApiError):
    def __init__(self, project_ref: str | None, detail: str) -> None:
        what = f"project {project_ref}" if project_ref else "this resource"
        super().__init__(
            f"the access token has no access to {what} (403 Forbidden{': ' + detail if detail else ''})",
            fix="use a token of an account that belongs to the project's organization, with the needed permissions",
        )


class ProjectNotFound(ManagementApiError):
    def __init__(self, project_ref: str | None) -> None:
        super().__init__(
            f"project {project_ref or '?'} does not exist (404 Not Found)",
            fix="check the project ref: `supadeploy projects` lists the projects this token can see",
        )


class RateLimited(ManagementApiError):
    def __init__(self, attempts: int) -> None:
        super().__init__(
            f"the Management API is still rate limiting after {attempts} attempts (429 Too Many Requests)",
            fix="wait a minute and rerun; other tools using the same token share its rate limit",
        )


class ApiUnreachable(ManagementApiError):
    def __init__(self, api_url: str, reason: str, attempts: int) -> None:
        super().__init__(
            f"cannot reach the Management API at {api_url} after {attempts} attempts: {reason}",
            fix="check the network and the API URL (--api-url, SUPADEPLOY_API_URL or [api] api_url)",
        )


class DeadlineExceeded(ManagementApiError):
    def __init__(self, url: str, seconds: float, reason: str) -> None:
        super().__init__(
            f"no answer from the Management API at {url} for {seconds:g}s: {reason}",
            fix="check the network and https://status.supabase.com; SUPADEPLOY_API_DEADLINE sets how long to wait "
                "(e.g. 300s)",
        )


class ApiServerError(ManagementApiError):
    def __init__(self, status: int, message: str, attempts: int) -> None:
        super().__init__(
            f"the Management API failed with {status} after {attempts} attempts: {message}",
            fix="the platform may be degraded (https://status.supabase.com); rerun later",
        )


class RequestRejected(ManagementApiError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"the Management API refused the request ({status}): {message}",
                         fix="this is likely a supadeploy bug or an API change; please report it")


class UnexpectedResponse(ManagementApiError):
    def __init__(self, what: str) -> None:
        super().__init__(f"unexpected response from the Management API: {what}",
                         fix="check --api-url points at the Supabase Management API")


class AmbiguousOutcome(ManagementApiError):
    """A state-changing request failed after it may have reached the database: it may or may not have run."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"the request may or may not have been applied: {reason}",
            fix="rerun: supadeploy reads the migration history first and never applies a migration twice",
        )


@dataclass(frozen=True)
class SqlError:
    """What Postgres said, as the Management API reports it."""

    sqlstate: str | None
    message: str
    line: int | None = None          # 1-based line of the request's query text
    column: int | None = None        # 1-based column in that line
    detail: str | None = None
    hint: str | None = None
    context: str | None = None

    def diagnostics(self, *, position: int | None = None) -> SqlDiagnostics:
        """The error as every target reports it; ``position`` (1-based) is within the statement that failed."""
        return SqlDiagnostics(sqlstate=self.sqlstate, message=self.message, detail=self.detail, hint=self.hint,
                              context=self.context, position=position if position and position >= 1 else None)


class QueryFailed(DatabaseError, ManagementApiError):
    """The query reached Postgres and failed there (its transaction was rolled back)."""

    def __init__(self, error: SqlError) -> None:
        self.error = error
        diagnostics = error.diagnostics()
        super().__init__(f"query failed: {diagnostics.render()}", diagnostics)
