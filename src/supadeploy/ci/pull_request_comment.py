"""Post the pull-request comment from inside a GitHub Actions job, updated in place.

Where: the repository of $GITHUB_REPOSITORY, the pull request of the event in $GITHUB_EVENT_PATH, the API of
$GITHUB_API_URL (default https://api.github.com), the token of $GITHUB_TOKEN. The comment that carries the hidden
marker is edited (PATCH); without one, a comment is created (POST). A fork's pull request (head repository other
than the base one, or a read-only token) gets the comment in the job's step summary instead, with a note saying
why; so does a run that is not for a pull request.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supadeploy.errors import SupadeployError
from supadeploy.github_api import DEFAULT_API_URL, ReadOnlyToken
from supadeploy.redact import redact_text

if TYPE_CHECKING:
    import httpx

    from supadeploy.github_api import IssueComments


@dataclass(frozen=True)
class PullRequest:
    repository: str
    number: int | None
    """None: the event is not a pull request's (e.g. workflow_dispatch)."""
    from_fork: bool


@dataclass(frozen=True)
class Posted:
    where: str
    """comment | step summary"""
    action: str
    """created | updated | unchanged | written"""
    url: str | None = None
    note: str | None = None


def read_reports(paths: list[Path]) -> list[tuple[str, dict[str, Any]]]:
    """(label, document) for each ``--json`` report file; the label is the file name without .json. A file that
    is empty or not a JSON object (its command failed before printing) becomes an error document, so the comment
    still says which part is missing."""
    reports = []
    for path in paths:
        label = path.name.removesuffix(".json")
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SupadeployError(f"{path}: no such report file",
                                  fix="pass the files the --json commands wrote, e.g. --from check.json") from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            document = {"ok": False, "error": {"message": f"{path.name} is not a JSON report "
                                                          f"({type(exc).__name__}): its command failed before "
                                                          "printing one", "fix": "see that step's log"}}
        if not isinstance(document, dict):
            document = {"ok": False, "error": {"message": f"{path.name} is not a supadeploy JSON report"}}
        reports.append((label, document))
    return reports


def pull_request_from_event(environ: Mapping[str, str]) -> PullRequest:
    repository = environ.get("GITHUB_REPOSITORY", "")
    if "/" not in repository:
        raise SupadeployError("GITHUB_REPOSITORY is not set to owner/name, so there is no repository to comment on",
                              fix="run `supadeploy ci comment` in a GitHub Actions job (GitHub sets it), or set "
                                  "GITHUB_REPOSITORY and GITHUB_EVENT_PATH")
    event = _read_event(environ.get("GITHUB_EVENT_PATH", ""))
    pull = event.get("pull_request")
    if not isinstance(pull, dict) or not isinstance(pull.get("number"), int):
        return PullRequest(repository, None, from_fork=False)
    head = ((pull.get("head") or {}).get("repo") or {}).get("full_name")
    base = ((pull.get("base") or {}).get("repo") or {}).get("full_name") or repository
    return PullRequest(repository, pull["number"], from_fork=head != base)


def _read_event(path: str) -> dict[str, Any]:
    if not path:
        return {}
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SupadeployError(f"cannot read the event of this run ({path}): {type(exc).__name__}",
                              fix="GITHUB_EVENT_PATH must name the event JSON file GitHub writes") from None
    return document if isinstance(document, dict) else {}


def post_comment(body: str, marker: str, environ: Mapping[str, str] = os.environ, *,
                 transport: httpx.BaseTransport | None = None) -> Posted:
    """Create or update the marked comment of the run's pull request; else write ``body`` to the step summary."""
    pull = pull_request_from_event(environ)
    if pull.number is None:
        return _to_step_summary(body, environ, "this run is not for a pull request, so the comment is shown here")
    if pull.from_fork:
        return _to_step_summary(body, environ, "this pull request comes from a fork, whose token may not comment; "
                                               "the comment is shown here instead")
    token = environ.get("GITHUB_TOKEN", "")
    if not token:
        raise SupadeployError("GITHUB_TOKEN is not set, so the comment cannot be posted",
                              fix="add to the step: env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}")
    from supadeploy.github_api import IssueComments

    with IssueComments(pull.repository, token, api_url=environ.get("GITHUB_API_URL") or DEFAULT_API_URL,
                       transport=transport) as comments:
        try:
            return _upsert(comments, pull.number, body, marker)
        except ReadOnlyToken as exc:
            return _to_step_summary(body, environ, "the token of this run may not comment on the pull request "
                                                   f"({redact_text(exc.what, (token,))}); the comment is shown here")


def _upsert(comments: IssueComments, number: int, body: str, marker: str) -> Posted:
    existing = next((comment for comment in comments.list(number) if marker in comment.body), None)
    if existing is None:
        created = comments.create(number, body)
        return Posted("comment", "created", url=created.html_url)
    if existing.body == body:
        return Posted("comment", "unchanged", url=existing.html_url)
    updated = comments.update(existing.id, body)
    return Posted("comment", "updated", url=updated.html_url)


def _to_step_summary(body: str, environ: Mapping[str, str], note: str) -> Posted:
    path = environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        raise SupadeployError(f"{note.split(',')[0]}, and GITHUB_STEP_SUMMARY is not set",
                              fix="run it in a GitHub Actions job, or print the comment with --print")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"> **Note:** {note}.\n\n{body.rstrip()}\n\n")
    return Posted("step summary", "written", note=note)
