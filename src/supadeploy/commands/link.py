"""``supadeploy link ENV --project-ref REF`` and ``supadeploy projects``: the Management API (token in
$SUPABASE_ACCESS_TOKEN) from the command line (supadeploy.linking)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supadeploy.linking import LinkResult
    from supadeploy.management_api.models import Project


def run_link(workdir: Path, environment: str, project_ref: str, *, api_url: str | None,
             run_cli: bool = True) -> LinkResult:
    """Check the project over the API, record its ref for ``environment``, then `supabase link` (``run_cli``)."""
    from supadeploy.config import load_project
    from supadeploy.engines import open_client
    from supadeploy.linking import link_environment
    from supadeploy.management_api.client import check_project_ref
    from supadeploy.targets.supabase_cli import cli_is_installed

    check_project_ref(project_ref)
    folder = workdir.resolve()
    with open_client(load_project(workdir), api_url) as client:
        cli = cli_is_installed(folder) if run_cli else None
        return link_environment(folder, environment, project_ref, client, cli=cli)


def run_projects(workdir: Path, *, api_url: str | None) -> list[Project]:
    """The projects the access token can see."""
    from supadeploy.config import load_project
    from supadeploy.engines import open_client

    with open_client(load_project(workdir), api_url) as client:
        return client.list_projects()
