"""A local GitHub REST API for the tests: a pull request's issue comments (list, create, update).

It serves the three operations supadeploy's pull-request comment uses, with the paths, parameters, bodies,
statuses, `Link` pagination and response shapes of GitHub's published description
(tests/support/reference/github-rest-issue-comments.json, an extract of github/rest-api-description; see the
README there). Every request and every response goes through openapi-core (jsonschema underneath) against it;
whatever does not match is recorded in ``server.violations`` (tests assert it stays empty). Where the
description lists no status for a case GitHub answers anyway (401 Bad credentials on every operation, 403 and 404
on the update, 422 where the request is invalid), the body is checked against the description's ``basic-error``
schema, which is what GitHub sends.

Tokens: ``server.token`` may read and write; a token in ``read_only_tokens`` may read but a write gets GitHub's
403 "Resource not accessible by integration" (a fork's pull request); anything else gets 401.
``max_per_page`` caps ``per_page`` (GitHub caps it at 100), so a test can make pagination happen with few comments.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.support.local_http import LocalHttpServer

DESCRIPTION_PATH = Path(__file__).resolve().parent / "reference" / "github-rest-issue-comments.json"
TEST_TOKEN = "ghs_" + "TestTokenForTheFakeGitHub0123456789ab"
READ_ONLY_TOKEN = "ghs_" + "ReadOnlyForkToken0123456789abcdefghij"
DOCS = "https://docs.github.com/rest/issues/comments"
ROUTES = [
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
]
UNDOCUMENTED_STATUSES = {401, 403, 404, 422}


@lru_cache(maxsize=1)
def _description() -> Any:
    from openapi_core import OpenAPI

    spec = copy.deepcopy(json.loads(DESCRIPTION_PATH.read_text(encoding="utf-8")))
    spec["servers"] = [{"url": "/"}]   # any host: the server runs on 127.0.0.1
    return OpenAPI.from_dict(spec)


@lru_cache(maxsize=1)
def _basic_error_validator() -> Any:
    import jsonschema  # type: ignore[import-untyped]  # no types-jsonschema in the test extras

    schema = json.loads(DESCRIPTION_PATH.read_text(encoding="utf-8"))["components"]["schemas"]["basic-error"]
    return jsonschema.Draft4Validator(schema)


class _Request:
    def __init__(self, host_url: str, method: str, path: str, query: list[tuple[str, str]],
                 headers: dict[str, str], body: bytes | None) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self.host_url = host_url
        self.path = path
        self.full_url_pattern = host_url + path
        self.method = method.lower()
        self.body = body
        self.content_type = headers.get("Content-Type", "application/json").split(";")[0].lower()
        self.parameters = RequestParameters(query=ImmutableMultiDict(query), header=Headers(headers),
                                            cookie=ImmutableMultiDict())


class _Response:
    def __init__(self, status: int, headers: dict[str, str], data: bytes) -> None:
        from werkzeug.datastructures import Headers

        self.status_code = status
        self.headers = Headers(headers)
        self.data = data
        self.content_type = "application/json"


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    authorization: str
    body: Any
    status: int | None = None


@dataclass
class GitHubApiServer:
    repository: str = "octo-org/app"
    token: str = TEST_TOKEN
    read_only_tokens: tuple[str, ...] = (READ_ONLY_TOKEN,)
    max_per_page: int = 100
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1001))
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- lifecycle -------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def start(self) -> GitHubApiServer:
        _description()
        handler = type("Handler", (_Handler,), {"api": self})
        self._server = LocalHttpServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="github-api",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> GitHubApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- state -----------------------------------------------------------------------------------------

    def add_comment(self, issue_number: int, body: str, *, login: str = "a-reviewer") -> dict[str, Any]:
        with self._lock:
            comment = self._comment(issue_number, body, login)
            self.comments.setdefault(issue_number, []).append(comment)
            return comment

    def bodies(self, issue_number: int) -> list[str]:
        return [comment["body"] for comment in self.comments.get(issue_number, [])]

    def _comment(self, issue_number: int, body: str, login: str) -> dict[str, Any]:
        comment_id = next(self._ids)
        base = f"{self.url}/repos/{self.repository}"
        now = "2026-01-01T00:00:00Z"
        return {
            "id": comment_id, "node_id": f"IC_{comment_id}", "url": f"{base}/issues/comments/{comment_id}",
            "html_url": f"https://github.com/{self.repository}/pull/{issue_number}#issuecomment-{comment_id}",
            "body": body, "user": _user(login), "created_at": now, "updated_at": now,
            "issue_url": f"{base}/issues/{issue_number}", "author_association": "NONE",
            "performed_via_github_app": None,
            "reactions": {"url": f"{base}/issues/comments/{comment_id}/reactions", "total_count": 0,
                          **{name: 0 for name in ("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes",
                                                  "rocket")}},
        }

    # --- the description -------------------------------------------------------------------------------

    def check_request(self, request: _Request) -> str | None:
        try:
            _description().validate_request(request)
        except Exception as exc:  # openapi-core raises one of many validation errors
            return _validation_error(exc)
        return None

    def check_response(self, request: _Request, response: _Response) -> None:
        where = f"{request.method.upper()} {request.path} -> {response.status_code}"
        if response.status_code in UNDOCUMENTED_STATUSES and not self._documented(request, response.status_code):
            errors = list(_basic_error_validator().iter_errors(json.loads(response.data)))
            if errors:
                self.violations.append(f"{where}: not a basic-error: {errors[0].message}")
            return
        try:
            _description().validate_response(request, response)
        except Exception as exc:
            self.violations.append(f"{where}: {_validation_error(exc)}")

    @staticmethod
    def _documented(request: _Request, status: int) -> bool:
        spec = json.loads(DESCRIPTION_PATH.read_text(encoding="utf-8"))
        for template, item in spec["paths"].items():
            if _match(template, request.path) is not None and request.method in item:
                return str(status) in item[request.method]["responses"]
        return False

    # --- the operations --------------------------------------------------------------------------------

    def handle(self, method: str, template: str, params: dict[str, str], query: dict[str, str], body: Any,
               ) -> tuple[int, Any, dict[str, str]]:
        if f"{params['owner']}/{params['repo']}" != self.repository:
            return 404, _error("Not Found", "https://docs.github.com/rest", "404"), {}
        if method == "GET":
            return self._list(int(params["issue_number"]), query)
        if method == "POST":
            number = int(params["issue_number"])
            comment = self.add_comment(number, body["body"], login="github-actions[bot]")
            return 201, comment, {"Location": comment["url"]}
        comment_id = int(params["comment_id"])
        with self._lock:
            for comment in itertools.chain.from_iterable(self.comments.values()):
                if comment["id"] == comment_id:
                    comment["body"] = body["body"]
                    comment["updated_at"] = "2026-01-02T00:00:00Z"
                    return 200, comment, {}
        return 404, _error("Not Found", f"{DOCS}#update-an-issue-comment", "404"), {}

    def _list(self, number: int, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        per_page = min(int(query.get("per_page", "30")), self.max_per_page, 100)
        page = int(query.get("page", "1"))
        items = self.comments.get(number, [])
        last = max(1, -(-len(items) // per_page))
        headers: dict[str, str] = {}
        links = []
        base = f"{self.url}/repos/{self.repository}/issues/{number}/comments"
        if page < last:
            links.append(f'<{base}?{urlencode({"per_page": per_page, "page": page + 1})}>; rel="next"')
            links.append(f'<{base}?{urlencode({"per_page": per_page, "page": last})}>; rel="last"')
        if page > 1:
            links.append(f'<{base}?{urlencode({"per_page": per_page, "page": 1})}>; rel="first"')
        if links:
            headers["Link"] = ", ".join(links)
        return 200, items[(page - 1) * per_page:page * per_page], headers


def _user(login: str) -> dict[str, Any]:
    base = f"https://api.github.com/users/{login}"
    return {"login": login, "id": 41898282, "node_id": "MDM6Qm90NDE4OTgyODI=",
            "avatar_url": "https://avatars.githubusercontent.com/in/15368?v=4", "gravatar_id": "", "url": base,
            "html_url": f"https://github.com/{login}", "followers_url": f"{base}/followers",
            "following_url": f"{base}/following{{/other_user}}", "gists_url": f"{base}/gists{{/gist_id}}",
            "starred_url": f"{base}/starred{{/owner}}{{/repo}}", "subscriptions_url": f"{base}/subscriptions",
            "organizations_url": f"{base}/orgs", "repos_url": f"{base}/repos",
            "events_url": f"{base}/events{{/privacy}}", "received_events_url": f"{base}/received_events",
            "type": "Bot", "site_admin": False}


def _error(message: str, documentation_url: str, status: str) -> dict[str, str]:
    return {"message": message, "documentation_url": documentation_url, "status": status}


def _match(template: str, path: str) -> dict[str, str] | None:
    pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
    match = re.match(pattern, path)
    return match.groupdict() if match else None


def _validation_error(exc: Exception) -> str:
    cause = exc.__cause__
    details = getattr(cause, "schema_errors", None) or getattr(exc, "schema_errors", None)
    text = f"{type(exc).__name__}: {exc}"
    if details:
        text += " (" + "; ".join(str(getattr(e, "message", e)) for e in details) + ")"
    elif cause is not None:
        text += f" ({cause})"
    return text


class _Handler(BaseHTTPRequestHandler):
    api: GitHubApiServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def _serve(self) -> None:
        api = self.api
        parts = urlsplit(self.path)
        query_pairs = parse_qsl(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else None
        headers = dict(self.headers.items())
        request = _Request(f"http://{self.headers.get('Host', '127.0.0.1')}", self.command, parts.path, query_pairs,
                           headers, raw_body)
        body = json.loads(raw_body) if raw_body else None
        record = RecordedRequest(self.command, parts.path, dict(query_pairs), headers.get("Authorization", ""), body)
        api.requests.append(record)
        routed = next(((template, params) for method, template in ROUTES if method == self.command
                       for params in [_match(template, parts.path)] if params is not None), None)
        if routed is None:
            api.violations.append(f"{self.command} {parts.path}: not an operation supadeploy should call")
            self._answer(request, record, 404, _error("Not Found", "https://docs.github.com/rest", "404"), {})
            return
        template, params = routed
        token = headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if token != api.token and token not in api.read_only_tokens:
            self._answer(request, record, 401, _error("Bad credentials", "https://docs.github.com/rest", "401"), {})
            return
        problem = api.check_request(request)
        if problem:
            api.violations.append(f"request {self.command} {parts.path}: {problem}")
            self._answer(request, record, 422, {"message": problem, "documentation_url": DOCS}, {})
            return
        if token in api.read_only_tokens and self.command != "GET":
            self._answer(request, record, 403, _error("Resource not accessible by integration",
                                                      f"{DOCS}#create-an-issue-comment", "403"), {})
            return
        status, document, extra = api.handle(self.command, template, params, dict(query_pairs), body)
        self._answer(request, record, status, document, extra)

    def _answer(self, request: _Request, record: RecordedRequest, status: int, document: Any,
                headers: dict[str, str]) -> None:
        record.status = status
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(data)
        self.api.check_response(request, _Response(status, {"Content-Type": "application/json", **headers}, data))


@contextlib.contextmanager
def running(**options: Any) -> Iterator[GitHubApiServer]:
    server = GitHubApiServer(**options).start()
    try:
        yield server
    finally:
        server.stop()
