"""The few GitHub REST API calls supadeploy makes: a pull request's issue comments (list, create, update).

Authenticated with the workflow's token (``Authorization: Bearer``); the token never appears in a message.
A token that may not write (a fork's pull request: "Resource not accessible by integration") raises
:class:`ReadOnlyToken`, so callers can fall back to the step summary.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from supadeploy.errors import SupadeployError
from supadeploy.redact import redact_text

if TYPE_CHECKING:
    import httpx

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
PER_PAGE = 100
MAX_PAGES = 50
READ_ONLY_MESSAGE = "Resource not accessible by integration"
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class GitHubApiError(SupadeployError):
    """A GitHub API call failed."""


class ReadOnlyToken(GitHubApiError):
    """The token may read but not write comments (a fork's pull request)."""


@dataclass(frozen=True)
class Comment:
    id: int
    body: str
    html_url: str


class IssueComments:
    """Comments of issues and pull requests of one repository (``owner/name``)."""

    def __init__(self, repository: str, token: str, *, api_url: str = DEFAULT_API_URL, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        import httpx

        self.repository = repository
        self._token = token
        self._client = httpx.Client(
            base_url=api_url.rstrip("/"), timeout=timeout, transport=transport,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": API_VERSION, "User-Agent": "supadeploy"})

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> IssueComments:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def list(self, issue_number: int) -> Iterator[Comment]:
        """Every comment of the issue, following the ``Link: rel="next"`` pages."""
        url: str | None = f"/repos/{self.repository}/issues/{issue_number}/comments"
        params: dict[str, int] | None = {"per_page": PER_PAGE}
        for _ in range(MAX_PAGES):
            if url is None:
                return
            response = self._call("GET", url, params=params, what=f"list the comments of #{issue_number}")
            for item in response.json():
                yield _comment(item)
            match = _NEXT_LINK.search(response.headers.get("Link", ""))
            url, params = (match.group(1), None) if match else (None, None)

    def create(self, issue_number: int, body: str) -> Comment:
        response = self._call("POST", f"/repos/{self.repository}/issues/{issue_number}/comments",
                              json={"body": body}, what=f"comment on #{issue_number}")
        return _comment(response.json())

    def update(self, comment_id: int, body: str) -> Comment:
        response = self._call("PATCH", f"/repos/{self.repository}/issues/comments/{comment_id}",
                              json={"body": body}, what=f"update comment {comment_id}")
        return _comment(response.json())

    def _call(self, method: str, url: str, *, what: str, params: dict[str, int] | None = None,
              json: dict[str, Any] | None = None) -> httpx.Response:
        import httpx

        try:
            response = self._client.request(method, url, params=params, json=json)
        except httpx.HTTPError as exc:
            raise GitHubApiError(
                f"cannot reach the GitHub API at {self._client.base_url} to {what}: "
                f"{self._redact(str(exc)) or type(exc).__name__}",
                fix="check GITHUB_API_URL and the runner's network") from None
        if response.is_success:
            return response
        raise self._error(response, what)

    def _error(self, response: httpx.Response, what: str) -> GitHubApiError:
        message = self._redact(_message(response))
        status = response.status_code
        head = f"GitHub API: cannot {what} in {self.repository}: {status} {message}".rstrip()
        if status == 401:
            return GitHubApiError(head, fix="the step needs the workflow's token: env GITHUB_TOKEN: "
                                            "${{ secrets.GITHUB_TOKEN }}")
        if status == 403 and READ_ONLY_MESSAGE.lower() in message.lower():
            return ReadOnlyToken(head, fix="give the job `permissions: pull-requests: write`; a fork's pull "
                                           "request only gets a read-only token")
        if status == 404:
            return GitHubApiError(head, fix="check GITHUB_REPOSITORY and the pull request number, and that the "
                                            "token can read the repository")
        return GitHubApiError(head, fix="rerun the job; if it persists, see https://www.githubstatus.com")

    def _redact(self, text: str) -> str:
        return redact_text(text, (self._token,))


def _message(response: httpx.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        return response.reason_phrase
    if isinstance(document, dict) and isinstance(document.get("message"), str):
        return str(document["message"])[:300]
    return response.reason_phrase


def _comment(item: Any) -> Comment:
    if not isinstance(item, dict) or not isinstance(item.get("id"), int):
        raise GitHubApiError("the GitHub API answered with something that is not an issue comment",
                             fix="check GITHUB_API_URL")
    return Comment(id=item["id"], body=str(item.get("body") or ""), html_url=str(item.get("html_url") or ""))
