"""A local Supabase Management API for the tests, faithful to the published OpenAPI contract.

It implements exactly the endpoints supadeploy uses (plus the two that `supabase link` needs), with the
paths, methods, parameters, request bodies, status codes and response shapes of
``shared/reference/supabase-management-api.openapi.json``, backed by the real local Postgres: each
project is a real database, ``/database/query`` runs SQL there, ``/types/typescript`` runs the same
generator the hosted API runs (``@supabase/postgres-meta``, when ``.tools`` has it).

Every request and every response goes through openapi-core against the contract; anything that does not
match is recorded in ``server.violations`` (tests assert it stays empty). Where the contract lists no status
for a case the live API answers anyway, the server answers like the live API and validates the body as
``{"message": string}``: 404 for an unknown project ref, and the gateway statuses 502/503/504 that only fault
injection produces. A SQL error is answered with the contract's 500 "Failed to run sql query", its message
shaped as the live API shapes it (``ERROR:  SQLSTATE: message``, ``LINE n:`` and a caret, DETAIL, HINT,
CONTEXT).

Rate limiting: each endpoint allows ``rate_limit`` requests per ``rate_window`` seconds per token and reports
it in ``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` (seconds until the window resets); past it, 429
with ``Retry-After``.

Fault switches (``server.faults``), each for the next N matching requests:
``status(code, retry_after=...)`` answers with that status without running anything; ``slow(seconds)``
delays the answer; ``drop_after_apply()`` runs the request (commits) and then closes the connection
without answering; ``drop_before_apply()`` closes it without running anything.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import re
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import psycopg
from psycopg.types.string import StrDumperUnknown

from supadeploy.management_api.sqlerror import QUERY_FAILED_PREFIX
from supadeploy.sql_diagnostics import SqlDiagnostics
from tests.support.local_http import LocalHttpServer

REPO_ROOT = Path(__file__).resolve().parents[2]
# A copy of the published contract (shared/reference/supabase-management-api.openapi.json), kept in the
# repository so the tests run on any clone.
CONTRACT_PATH = Path(os.environ.get(
    "SUPADEPLOY_MANAGEMENT_API_CONTRACT",
    REPO_ROOT / "tests" / "contract" / "supabase-management-api.openapi.json"))
POSTGRES_META = REPO_ROOT / ".tools" / "node_modules" / "@supabase" / "postgres-meta" / "dist" / "server" / "server.js"
TEST_TOKEN = "sbp_" + "0123456789abcdef" * 2 + "01234567"   # the CLI's format: sbp_ + 40 hex digits

ROUTES: list[tuple[str, str]] = [
    ("GET", "/v1/projects"),
    ("GET", "/v1/projects/{ref}"),
    ("GET", "/v1/projects/{ref}/health"),
    ("GET", "/v1/projects/{ref}/config/database/pooler"),
    ("POST", "/v1/projects/{ref}/database/query"),
    ("GET", "/v1/projects/{ref}/database/migrations"),
    ("GET", "/v1/projects/{ref}/types/typescript"),
    ("POST", "/v1/projects/{ref}/database/backups/restore-point"),
    # What `supabase link` reads besides the above:
    ("GET", "/v1/projects/{ref}/api-keys"),
    ("GET", "/v1/projects/{ref}/postgrest"),
]
# Statuses the live API answers although the contract does not list them for the operation.
UNDOCUMENTED_STATUSES = {404, 502, 503, 504}
_NODE_INTEGER_AS_STRING = {20, 1700}   # int8 and numeric come back as strings, as node-postgres returns them


@dataclass
class Project:
    ref: str
    name: str
    db_url: str
    region: str = "us-east-1"
    status: str = "ACTIVE_HEALTHY"
    organization_slug: str = "supadeploy-tests"
    pooler_host: str = "127.0.0.1"
    pooler_port: int = 6543
    pooler_mode: str = "transaction"
    created_at: str = "2024-01-01T00:00:00.000Z"
    restore_points: list[str] = field(default_factory=list)

    @property
    def database(self) -> str:
        return urlsplit(self.db_url).path.lstrip("/")

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.ref, "ref": self.ref, "organization_id": self.organization_slug,
            "organization_slug": self.organization_slug, "name": self.name, "region": self.region,
            "created_at": self.created_at, "status": self.status,
            "database": {"host": f"db.{self.ref}.supabase.co", "version": "15.8.1.085",
                         "postgres_engine": "15", "release_channel": "ga"},
        }


@dataclass
class Fault:
    kind: str                      # status | slow | drop_after_apply | drop_before_apply
    endpoint: str | None = None    # "POST /v1/projects/{ref}/database/query"; None = any
    status: int = 503
    retry_after: float | None = None
    seconds: float = 0.0
    remaining: int = 1


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[Fault] = []
        self.fired: list[tuple[str, str]] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._queue.append(fault)

    def status(self, code: int, *, endpoint: str | None = None, retry_after: float | None = None,
               times: int = 1) -> None:
        self.add(Fault("status", endpoint, status=code, retry_after=retry_after, remaining=times))

    def slow(self, seconds: float, *, endpoint: str | None = None, times: int = 1) -> None:
        self.add(Fault("slow", endpoint, seconds=seconds, remaining=times))

    def drop_after_apply(self, *, endpoint: str | None = None, times: int = 1) -> None:
        self.add(Fault("drop_after_apply", endpoint, remaining=times))

    def drop_before_apply(self, *, endpoint: str | None = None, times: int = 1) -> None:
        self.add(Fault("drop_before_apply", endpoint, remaining=times))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def take(self, endpoint: str) -> Fault | None:
        with self._lock:
            for fault in self._queue:
                if fault.endpoint in (None, endpoint):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._queue.remove(fault)
                    self.fired.append((fault.kind, endpoint))
                    return fault
        return None


@dataclass
class RecordedRequest:
    endpoint: str
    path: str
    status: int | None
    body: Any


class _DropConnection(Exception):
    pass


@lru_cache(maxsize=1)
def _contract() -> Any:
    from openapi_core import Config, OpenAPI

    spec = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


class _ContractRequest:
    def __init__(self, host_url: str, method: str, path: str, query: list[tuple[str, str]],
                 headers: dict[str, str], body: bytes | None) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self.host_url = host_url
        self.path = path
        self.method = method.lower()
        self.body = body
        self.content_type = headers.get("Content-Type", "application/json").lower()
        self.parameters = RequestParameters(query=ImmutableMultiDict(query), header=Headers(headers),
                                            cookie=ImmutableMultiDict())


class _ContractResponse:
    def __init__(self, status: int, headers: dict[str, str], data: bytes) -> None:
        from werkzeug.datastructures import Headers

        self.status_code = status
        self.headers = Headers(headers)
        self.data = data
        self.content_type = headers.get("Content-Type", "application/json").lower()


def _validation_error(exc: Exception) -> str:
    cause = exc.__cause__
    details = getattr(cause, "schema_errors", None) or getattr(exc, "schema_errors", None)
    text = f"{type(exc).__name__}: {exc}"
    if details:
        text += " (" + "; ".join(str(getattr(e, "message", e)) for e in details) + ")"
    elif cause is not None:
        text += f" ({cause})"
    return text


class ManagementApiServer:
    def __init__(self, projects: list[Project], *, token: str = TEST_TOKEN, rate_limit: int = 120,
                 rate_window: float = 60.0, tokens_without_access: tuple[str, ...] = ()) -> None:
        self.projects = {project.ref: project for project in projects}
        self.token = token
        self.tokens_without_access = tokens_without_access
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.faults = Faults()
        self.violations: list[str] = []
        self.requests: list[RecordedRequest] = []
        self.unimplemented: list[str] = []
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def start(self) -> ManagementApiServer:
        _contract()
        handler = type("Handler", (_Handler,), {"api": self})
        self._server = LocalHttpServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="management-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ManagementApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def profile(self, path: Path) -> Path:
        """A Supabase CLI profile (`supabase --profile FILE`) pointing at this server."""
        path.write_text(json.dumps({"name": "supadeploy-tests", "api_url": self.url,
                                    "dashboard_url": f"{self.url}/dashboard", "project_host": "127.0.0.1"}))
        return path

    def count(self, endpoint: str) -> int:
        return sum(1 for request in self.requests if request.endpoint == endpoint)

    # --- contract --------------------------------------------------------------------------------------

    def validate_request(self, request: _ContractRequest) -> str | None:
        try:
            _contract().validate_request(request)
        except Exception as exc:  # openapi-core raises one of many validation errors
            return _validation_error(exc)
        return None

    def validate_response(self, request: _ContractRequest, response: _ContractResponse) -> None:
        if response.status_code in UNDOCUMENTED_STATUSES:
            try:
                document = json.loads(response.data)
                ok = isinstance(document, dict) and isinstance(document.get("message"), str)
            except ValueError:
                ok = False
            if not ok:
                self.violations.append(f"{request.method.upper()} {request.path} -> {response.status_code}: "
                                       "body is not {\"message\": string}")
            return
        try:
            _contract().validate_response(request, response)
        except Exception as exc:
            self.violations.append(f"{request.method.upper()} {request.path} -> {response.status_code}: "
                                   f"{_validation_error(exc)}")

    # --- rate limit ------------------------------------------------------------------------------------

    def rate_headers(self, token: str, endpoint: str) -> tuple[bool, dict[str, str]]:
        now = time.monotonic()
        with self._lock:
            started, used = self._windows.get((token, endpoint), (now, 0))
            if now - started >= self.rate_window:
                started, used = now, 0
            allowed = used < self.rate_limit
            if allowed:
                used += 1
            self._windows[(token, endpoint)] = (started, used)
        reset = max(1, math.ceil(started + self.rate_window - now))
        headers = {"X-RateLimit-Limit": str(self.rate_limit),
                   "X-RateLimit-Remaining": str(max(0, self.rate_limit - used)),
                   "X-RateLimit-Reset": str(reset)}
        if not allowed:
            headers["Retry-After"] = str(reset)
        return allowed, headers

    # --- endpoints -------------------------------------------------------------------------------------

    def handle(self, endpoint: str, ref: str | None, query: dict[str, list[str]], body: Any,
               fault: Fault | None, connection: socket.socket) -> tuple[int, Any]:
        if endpoint == "GET /v1/projects":
            return 200, [project.as_json() for project in self.projects.values()]
        project = self.projects.get(ref or "")
        if project is None:
            return 404, {"message": "Project not found"}
        if fault is not None and fault.kind == "drop_before_apply":
            raise _DropConnection
        result = self._project_endpoint(endpoint, project, query, body)
        if fault is not None and fault.kind == "drop_after_apply":
            raise _DropConnection
        return result

    def _project_endpoint(self, endpoint: str, project: Project, query: dict[str, list[str]],
                          body: Any) -> tuple[int, Any]:
        if endpoint == "GET /v1/projects/{ref}":
            return 200, project.as_json()
        if endpoint == "GET /v1/projects/{ref}/health":
            return 200, [self._health(project, name) for name in query.get("services", [])]
        if endpoint == "GET /v1/projects/{ref}/config/database/pooler":
            return 200, [self._pooler(project)]
        if endpoint == "POST /v1/projects/{ref}/database/query":
            return run_sql(project.db_url, body["query"], body.get("parameters") or [])
        if endpoint == "GET /v1/projects/{ref}/database/migrations":
            status, rows = run_sql(project.db_url, "select version, name from supabase_migrations.schema_migrations "
                                                   "order by version")
            if status != 201 and "42P01" in str(rows):
                return 200, []   # no history table yet: nothing applied
            if status != 201:
                return 500, {"message": "Failed to list database migrations"}
            return 200, [{k: v for k, v in row.items() if v is not None} for row in rows]
        if endpoint == "GET /v1/projects/{ref}/types/typescript":
            schemas = (query.get("included_schemas") or ["public"])[0]
            return generate_typescript(project.db_url, schemas.split(","))
        if endpoint == "POST /v1/projects/{ref}/database/backups/restore-point":
            project.restore_points.append(body["name"])
            return 201, {"name": body["name"], "status": "AVAILABLE",
                         "completed_on": dt.datetime.now(dt.timezone.utc).isoformat()}
        if endpoint == "GET /v1/projects/{ref}/api-keys":
            return 200, [{"name": "anon", "api_key": "test-anon-key", "type": "legacy", "id": "anon"},
                         {"name": "service_role", "api_key": "test-service-role-key", "type": "legacy",
                          "id": "service_role"}]
        if endpoint == "GET /v1/projects/{ref}/postgrest":
            return 200, {"db_schema": "public,graphql_public", "max_rows": 1000,
                         "db_extra_search_path": "public,extensions", "db_pool": None,
                         "jwt_secret": "test-jwt-secret-that-is-long-enough-000000"}
        return 404, {"message": "Not found"}

    def _health(self, project: Project, name: str) -> dict[str, Any]:
        if name in ("db", "pooler", "db_postgres_user"):
            healthy = run_sql(project.db_url, "select 1")[0] == 201
        else:
            healthy = project.status == "ACTIVE_HEALTHY"
        return {"name": name, "healthy": healthy, "status": "ACTIVE_HEALTHY" if healthy else "UNHEALTHY"}

    def _pooler(self, project: Project) -> dict[str, Any]:
        user = urlsplit(project.db_url).username or "postgres"
        connection = (f"postgresql://{user}:[YOUR-PASSWORD]@{project.pooler_host}:{project.pooler_port}/"
                      f"{project.database}")
        return {"identifier": project.ref, "database_type": "PRIMARY", "is_using_scram_auth": True,
                "db_user": user, "db_host": project.pooler_host, "db_port": project.pooler_port,
                "db_name": project.database, "connection_string": connection, "connectionString": connection,
                "default_pool_size": 15, "max_client_conn": 200, "pool_mode": project.pooler_mode}


def _route(method: str, path: str) -> tuple[str, str | None] | None:
    for route_method, template in ROUTES:
        if route_method != method:
            continue
        pattern = "^" + re.escape(template).replace(re.escape("{ref}"), "(?P<ref>[^/]+)") + "$"
        match = re.match(pattern, path)
        if match:
            return f"{method} {template}", match.groupdict().get("ref")
    return None


class _Handler(BaseHTTPRequestHandler):
    api: ManagementApiServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        api = self.api
        parts = urlsplit(self.path)
        query_pairs = parse_qsl(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else None
        headers = {key: value for key, value in self.headers.items()}
        routed = _route(self.command, parts.path)
        if routed is None:
            api.unimplemented.append(f"{self.command} {parts.path}")
            self._send(404, {"message": "Not found"}, {})
            return
        endpoint, ref = routed
        contract_request = _ContractRequest(f"http://{self.headers.get('Host', '127.0.0.1')}", self.command,
                                            parts.path, query_pairs, headers, raw_body)
        body = json.loads(raw_body) if raw_body else None
        record = RecordedRequest(endpoint, parts.path, None, body)
        api.requests.append(record)
        token = headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if token != api.token and token not in api.tokens_without_access:
            self._answer(contract_request, record, 401, {"message": "Unauthorized"}, {})
            return
        problem = api.validate_request(contract_request)
        if problem:
            api.violations.append(f"request {endpoint}: {problem}")
            self._answer(contract_request, record, 400, {"message": problem}, {})
            return
        allowed, rate_headers = api.rate_headers(token, endpoint)
        if not allowed:
            self._answer(contract_request, record, 429, {"message": "Too many requests"}, rate_headers)
            return
        if token in api.tokens_without_access and endpoint != "GET /v1/projects":
            self._answer(contract_request, record, 403,
                         {"message": "Your account does not have the necessary privileges to access this endpoint."},
                         rate_headers)
            return
        fault = api.faults.take(endpoint)
        if fault is not None and fault.kind == "status":
            extra = dict(rate_headers)
            if fault.retry_after is not None:
                extra["Retry-After"] = f"{fault.retry_after:g}"
            message = "Too many requests" if fault.status == 429 else "Service Unavailable"
            self._answer(contract_request, record, fault.status, {"message": message}, extra)
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.seconds)
        query: dict[str, list[str]] = {}
        for key, value in query_pairs:
            query.setdefault(key, []).append(value)
        try:
            status, document = api.handle(endpoint, ref, query, body, fault, self.connection)
        except _DropConnection:
            record.status = None
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._answer(contract_request, record, status, document, rate_headers)

    def _answer(self, request: _ContractRequest, record: RecordedRequest, status: int, document: Any,
                headers: dict[str, str]) -> None:
        record.status = status
        data = self._send(status, document, headers)
        self.api.validate_response(request, _ContractResponse(status, {"Content-Type": "application/json"}, data))

    def _send(self, status: int, document: Any, headers: dict[str, str]) -> bytes:
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(data)
        return data


# --- the database side ---------------------------------------------------------------------------------


def _parameter_text(value: Any) -> str | None:
    """A JSON parameter as node-postgres sends it: text of unknown type."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "{" + ",".join("NULL" if item is None else '"' + str(_parameter_text(item)).replace("\\", "\\\\")
                              .replace('"', '\\"') + '"' for item in value) + "}"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _json_value(value: Any, type_oid: int | None = None) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return str(value) if type_oid in _NODE_INTEGER_AS_STRING else value
    if isinstance(value, float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return "\\x" + bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return value
    return str(value)


def run_sql(db_url: str, sql: str, parameters: list[Any] | None = None) -> tuple[int, Any]:
    """Run ``sql`` the way the API does: one connection, one implicit transaction; rows of the last result."""
    try:
        connection = psycopg.connect(db_url, autocommit=True, application_name="management-api-test-server")
    except psycopg.OperationalError:
        return 500, {"message": "Failed to run sql query: Connection terminated due to connection timeout"}
    connection.adapters.register_dumper(str, StrDumperUnknown)
    try:
        if parameters:
            cursor: psycopg.Cursor[Any] = psycopg.RawCursor(connection)
            cursor.execute(sql, [_parameter_text(value) for value in parameters])
        else:
            cursor = connection.cursor()
            cursor.execute(sql)
        rows: list[dict[str, Any]] = []
        while True:
            if cursor.description is not None:
                names = [column.name for column in cursor.description]
                oids = [column.type_code for column in cursor.description]
                rows = [{name: _json_value(value, oid) for name, value, oid in zip(names, record, oids, strict=True)}
                        for record in cursor.fetchall()]
            if not cursor.nextset():
                break
        return 201, rows
    except psycopg.Error as exc:
        return 500, {"message": format_query_error(SqlDiagnostics.of_psycopg(exc), sql)}
    finally:
        connection.close()


def format_query_error(error: SqlDiagnostics, query: str) -> str:
    """The hosted API's message for a query Postgres refused, shaped the way psql prints errors
    (what supadeploy.management_api.sqlerror reads)."""
    text = f"{QUERY_FAILED_PREFIX} ERROR:  {error.sqlstate + ': ' if error.sqlstate else ''}{error.message}"
    if error.position is not None:
        offset = error.position - 1
        start = query.rfind("\n", 0, offset) + 1
        end = query.find("\n", offset)
        line_text = query[start:end if end >= 0 else len(query)]
        number = query.count("\n", 0, offset) + 1
        text += f"\nLINE {number}: {line_text}\n{' ' * (len(f'LINE {number}: ') + offset - start)}^"
    if error.detail:
        text += f"\nDETAIL: {error.detail}"
    if error.hint:
        text += f"\nHINT: {error.hint}"
    if error.context:
        text += f"\nCONTEXT: {error.context}"
    return text


def generate_typescript(db_url: str, schemas: list[str]) -> tuple[int, Any]:
    """The hosted API's generator: @supabase/postgres-meta in type-generation mode."""
    if not POSTGRES_META.exists():
        return 500, {"message": "Failed to generate TypeScript types"}
    environment = {**os.environ, "PG_META_GENERATE_TYPES": "typescript", "PG_META_DB_URL": db_url,
                   "PG_META_GENERATE_TYPES_INCLUDED_SCHEMAS": ",".join(schemas)}
    completed = subprocess.run(["node", str(POSTGRES_META)], env=environment, capture_output=True, text=True,
                               timeout=120)
    if completed.returncode != 0:
        return 500, {"message": "Failed to generate TypeScript types"}
    return 200, {"types": completed.stdout}


@contextlib.contextmanager
def running(projects: list[Project], **options: Any) -> Iterator[ManagementApiServer]:
    server = ManagementApiServer(projects, **options).start()
    try:
        yield server
    finally:
        server.stop()


def make_ref(seed: str) -> str:
    """A valid 20-letter project ref derived from ``seed``."""
    letters = "".join(chr(ord("a") + (ord(c) % 26)) for c in (seed * 20))
    return letters[:20]
