"""ManagementApiClient: the Supabase Management API over httpx, with retries, rate-limit pacing and a deadline.

* Every request has timeouts, cut to what is left of the client's deadline (management_api.deadline): an API
  that accepts connections and never answers fails the command once the deadline passes, naming the URL.
* Connect errors, 5xx and 429 are retried with jittered exponential backoff, up to ``RetryPolicy.attempts``.
  ``Retry-After`` and rate-limit waits are honoured up to ``max_retry_after_seconds`` and announced (``on_wait``,
  stderr by default); a wait that would outlast the deadline fails at once instead.
* A state-changing request (``idempotent=False``) is retried only when it provably never reached the server
  (connect error, 429). Any other failure raises ``AmbiguousOutcome``: the caller re-reads the state it
  wanted to change instead of sending the request again blindly.
* 401, 403, 404, exhausted retries and an unreachable API each raise their own ``ManagementApiError``.
* The access token lives in the Authorization header only: never in a message, repr or exception.
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from supadeploy import __version__
from supadeploy.errors import SupadeployError
from supadeploy.management_api import models
from supadeploy.management_api.deadline import DEFAULT_DEADLINE_SECONDS, Deadline
from supadeploy.management_api.errors import (
    AmbiguousOutcome,
    ApiServerError,
    ApiUnreachable,
    BadToken,
    DeadlineExceeded,
    ManagementApiError,
    NoAccess,
    ProjectNotFound,
    QueryFailed,
    RateLimited,
    RequestRejected,
    UnexpectedResponse,
)
from supadeploy.management_api.ratelimit import RateLimitPacer
from supadeploy.management_api.sqlerror import parse_query_error
from supadeploy.redact import redact_text

DEFAULT_API_URL = "https://api.supabase.com"
PROJECT_REF_PATTERN = re.compile(r"^[a-z]{20}$")

LIST_PROJECTS = "GET /v1/projects"
GET_PROJECT = "GET /v1/projects/{ref}"
PROJECT_HEALTH = "GET /v1/projects/{ref}/health"
POOLER_CONFIG = "GET /v1/projects/{ref}/config/database/pooler"
RUN_QUERY = "POST /v1/projects/{ref}/database/query"
LIST_MIGRATIONS = "GET /v1/projects/{ref}/database/migrations"
TYPESCRIPT_TYPES = "GET /v1/projects/{ref}/types/typescript"
CREATE_RESTORE_POINT = "POST /v1/projects/{ref}/database/backups/restore-point"


def check_project_ref(ref: str, *, where: str | None = None) -> str:
    """A project ref is 20 lowercase letters (the `abcdefghijklmnopqrst` in db.<ref>.supabase.co)."""
    if not PROJECT_REF_PATTERN.match(ref):
        shown = ref if len(ref) <= 40 else ref[:40] + "..."
        raise SupadeployError(
            f"'{shown}' is not a Supabase project ref (20 lowercase letters)", where=where,
            fix="copy it from the dashboard URL (supabase.com/dashboard/project/<ref>) or from `supadeploy projects`",
        )
    return ref


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    backoff_seconds: float = 1.0          # the jittered wait doubles from here ...
    max_backoff_seconds: float = 30.0     # ... up to this
    max_retry_after_seconds: float = 60.0  # a longer Retry-After or rate-limit reset is waited for this long


@dataclass(frozen=True)
class Timeouts:
    connect: float = 10.0
    read: float = 120.0   # a migration may take a while; the API has its own limit too
    write: float = 30.0


class _Transient(Exception):
    """A failure worth another attempt."""

    def __init__(self, kind: str, reason: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class _Pairs(list):  # type: ignore[type-arg]
    """A JSON object kept as its (key, value) pairs: column order and duplicate names survive."""


@dataclass(frozen=True)
class QueryResult:
    rows: list[list[tuple[str, Any]]]

    @property
    def columns(self) -> list[str]:
        return [key for key, _ in self.rows[0]] if self.rows else []

    def tuples(self) -> list[tuple[Any, ...]]:
        return [tuple(value for _, value in row) for row in self.rows]


class ManagementApiClient:
    def __init__(self, token: str, *, api_url: str = DEFAULT_API_URL, retry: RetryPolicy | None = None,
                 timeouts: Timeouts | None = None, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 budgets: Mapping[str, tuple[int, float]] | None = None,
                 deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
                 on_wait: Callable[[str], None] | None = None) -> None:
        if not token.strip():
            raise SupadeployError("SUPABASE_ACCESS_TOKEN is empty",
                                  fix="create a token at https://supabase.com/dashboard/account/tokens")
        self._token = token.strip()
        self.api_url = api_url.rstrip("/")
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._pacer = RateLimitPacer(clock=clock, wall_clock=time.time, budgets=budgets)
        self._timeouts = timeouts or Timeouts()
        self._deadline = Deadline(deadline_seconds, clock)
        self._on_wait = on_wait or _print_to_stderr
        self._http = httpx.Client(
            base_url=self.api_url, transport=transport,
            headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json",
                     "User-Agent": f"supadeploy/{__version__}"},
        )
        self.requests_sent = 0

    def __repr__(self) -> str:
        return f"ManagementApiClient(api_url={self.api_url!r})"

    def secrets(self) -> tuple[str, ...]:
        return (self._token,)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ManagementApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- endpoints -------------------------------------------------------------------------------------

    def list_projects(self) -> list[models.Project]:
        return models.projects_from_json(self._json(self._request(LIST_PROJECTS)))

    def get_project(self, ref: str) -> models.Project:
        return models.Project.from_json(self._json(self._request(GET_PROJECT, ref)))

    def project_health(self, ref: str, services: Sequence[str] = ("db",)) -> list[models.ServiceHealth]:
        response = self._request(PROJECT_HEALTH, ref, params={"services": list(services)})
        return models.health_from_json(self._json(response))

    def pooler_config(self, ref: str) -> list[models.PoolerConfig]:
        return models.pooler_configs_from_json(self._json(self._request(POOLER_CONFIG, ref)))

    def list_migrations(self, ref: str) -> list[models.MigrationVersion]:
        """Only available to selected partner OAuth apps: supadeploy reads the history table instead."""
        return models.migrations_from_json(self._json(self._request(LIST_MIGRATIONS, ref)))

    def typescript_types(self, ref: str, schemas: Sequence[str] = ("public",)) -> str:
        response = self._request(TYPESCRIPT_TYPES, ref, params={"included_schemas": ",".join(schemas)})
        return models.typescript_from_json(self._json(response))

    def create_restore_point(self, ref: str, name: str) -> models.RestorePoint:
        response = self._request(CREATE_RESTORE_POINT, ref, body={"name": name}, idempotent=False)
        return models.RestorePoint.from_json(self._json(response))

    def run_query(self, ref: str, sql: str, parameters: Sequence[Any] = (), *, read_only: bool = False,
                  idempotent: bool = True) -> QueryResult:
        """POST /database/query. ``idempotent=False`` for a request that changes state (never blindly retried)."""
        body: dict[str, Any] = {"query": sql}
        if parameters:
            body["parameters"] = list(parameters)
        if read_only:
            body["read_only"] = True
        response = self._request(RUN_QUERY, ref, body=body, idempotent=idempotent)
        return QueryResult(rows=decode_rows(response.text))

    # --- transport -------------------------------------------------------------------------------------

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise UnexpectedResponse(f"{response.request.method} {response.request.url.path} did not return JSON") \
                from None

    def _request(self, endpoint: str, ref: str | None = None, *, params: Mapping[str, Any] | None = None,
                 body: Any = None, idempotent: bool = True) -> httpx.Response:
        method, template = endpoint.split(" ", 1)
        if ref is not None:
            check_project_ref(ref)
        path = template.replace("{ref}", ref or "")

        def attempt() -> httpx.Response:
            self._pause(self._pacer.delay_before(endpoint), path,
                        lambda wait: f"pacing requests to stay inside the Management API's rate limit: waiting "
                                     f"{wait:.0f}s")
            self._pacer.record_request(endpoint)
            self.requests_sent += 1
            try:
                response = self._http.request(method, path, params=params, json=body, timeout=self._request_timeout())
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                raise _Transient("unreachable", self._describe(exc)) from None  # never sent: safe to resend
            except httpx.TransportError as exc:
                if not idempotent:
                    raise AmbiguousOutcome(f"{self._describe(exc)} after the request was sent") from None
                raise _Transient("unreachable", self._describe(exc)) from None
            if response.status_code != 429 and response.status_code < 500:
                self._deadline.answered()
            self._pacer.observe(endpoint, response.headers)
            return self._check(response, ref, idempotent=idempotent)

        attempt_number = 0
        while True:
            attempt_number += 1
            if self._deadline.remaining() <= 0:
                raise self._deadline_exceeded(path, "the deadline had passed before this request was sent")
            try:
                return attempt()
            except _Transient as failure:
                if self._deadline.remaining() <= 0:
                    raise self._deadline_exceeded(path, failure.reason) from None
                if attempt_number >= self._retry.attempts:
                    raise self._final_error(failure, attempt_number) from None
                self._pause_before_retry(failure, attempt_number, path)

    def _request_timeout(self) -> httpx.Timeout:
        """The configured timeouts, none longer than what is left of the deadline."""
        left = max(0.001, self._deadline.remaining())
        limits = self._timeouts
        return httpx.Timeout(connect=min(limits.connect, left), read=min(limits.read, left),
                             write=min(limits.write, left), pool=min(limits.connect, left))

    def _pause_before_retry(self, failure: _Transient, attempt_number: int, path: str) -> None:
        if failure.retry_after is None:  # jittered exponential backoff, not announced
            ceiling = min(self._retry.max_backoff_seconds, self._retry.backoff_seconds * 2 ** (attempt_number - 1))
            self._pause(random.uniform(0, ceiling), path, None)
            return
        asked = failure.retry_after
        self._pause(asked, path, lambda wait: f"the Management API asked to wait {asked:.0f}s "
                                              f"({failure.status or 429}, Retry-After); waiting"
                                              + (f" {wait:.0f}s" if wait < asked else ""))

    def _pause(self, asked: float, path: str, announcement: Callable[[float], str] | None) -> None:
        """Wait ``asked`` seconds, at most max_retry_after_seconds. DeadlineExceeded at once when that would
        outlast the deadline; a wait of a second or more is announced (it would otherwise look like a hang)."""
        if asked <= 0:
            return
        wait = min(asked, self._retry.max_retry_after_seconds)
        if wait >= self._deadline.remaining():
            raise self._deadline_exceeded(path, f"it asks to wait {asked:.0f}s more")
        if announcement is not None and wait >= 1:
            self._on_wait(announcement(wait))
        self._sleep(wait)

    def _deadline_exceeded(self, path: str, reason: str) -> DeadlineExceeded:
        return DeadlineExceeded(f"{self.api_url}{path}", self._deadline.seconds, reason)

    def _check(self, response: httpx.Response, ref: str | None, *, idempotent: bool) -> httpx.Response:
        status = response.status_code
        if status < 400:
            return response
        message = self._message(response)
        if status == 401:
            raise BadToken(self.api_url)
        if status == 403:
            raise NoAccess(ref, message)
        if status == 404 and ref is not None:
            raise ProjectNotFound(ref)
        if status == 429:
            raise _Transient("rate_limited", message, status, _retry_after(response.headers.get("retry-after")))
        sql_error = parse_query_error(message) if message else None
        if sql_error is not None:
            raise QueryFailed(sql_error)  # Postgres refused it: its transaction rolled back
        if status >= 500:
            if not idempotent:
                raise AmbiguousOutcome(f"{status} {message}".strip())
            raise _Transient("server", message or response.reason_phrase, status)
        raise RequestRejected(status, message or response.reason_phrase)

    def _message(self, response: httpx.Response) -> str:
        try:
            document = response.json()
        except ValueError:
            return redact_text(response.text.strip()[:300], self.secrets())
        value = document.get("message") or document.get("error") if isinstance(document, dict) else None
        return redact_text(str(value if value is not None else document)[:2000], self.secrets())

    def _describe(self, exc: Exception) -> str:
        reason = str(exc).strip() or type(exc).__name__
        return redact_text(f"{type(exc).__name__}: {reason}", self.secrets())

    def _final_error(self, failure: _Transient, attempts: int) -> ManagementApiError:
        if failure.kind == "rate_limited":
            return RateLimited(attempts)
        if failure.kind == "server":
            return ApiServerError(failure.status or 500, failure.reason, attempts)
        return ApiUnreachable(self.api_url, failure.reason, attempts)


def _print_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (a number, or an HTTP date)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def decode_rows(text: str) -> list[list[tuple[str, Any]]]:
    """A JSON array of row objects, each kept as its (column, value) pairs in order."""
    text = text.strip()
    if not text or text == "null":
        return []
    try:
        document = json.loads(text, object_pairs_hook=_Pairs)
    except ValueError:
        raise UnexpectedResponse("the query result is not JSON") from None
    if not isinstance(document, list):
        raise UnexpectedResponse("the query result is not an array of rows")
    return [[(key, _plain(value)) for key, value in row] for row in document if isinstance(row, _Pairs)]


def _plain(value: Any) -> Any:
    if isinstance(value, _Pairs):
        return {key: _plain(item) for key, item in value}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
