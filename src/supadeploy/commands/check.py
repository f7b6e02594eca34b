"""``supadeploy check``: every migration replayed on a throwaway database (supadeploy.shadow) and, with
--exposure-since, what the migrations after that version change in what anon and authenticated can do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supadeploy.exposure import ExposureChange
    from supadeploy.shadow import CheckResult


@dataclass(frozen=True)
class CheckRequest:
    shadow_url: str | None = None
    schemas: tuple[str, ...] | None = None
    idempotency: bool = True
    round_trips: bool = True
    exposure_since: str | None = None


def run_check(workdir: Path, request: CheckRequest) -> tuple[CheckResult, list[ExposureChange] | None]:
    """The replay's result, and the exposure difference (None without --exposure-since or after a failure)."""
    from supadeploy.config import load_project
    from supadeploy.exposure import exposure_difference, split_after
    from supadeploy.migrations.files import discover_migrations
    from supadeploy.shadow import check_migrations, default_shadow_server

    project = load_project(workdir)
    discovery = discover_migrations(project.migrations_dir)
    split = split_after(discovery.migrations, request.exposure_since) if request.exposure_since is not None else None
    result = check_migrations(discovery.migrations, server_url=request.shadow_url,
                              schemas=list(request.schemas) if request.schemas else None,
                              idempotency=request.idempotency, round_trips=request.round_trips)
    exposure = None
    if split is not None and result.failure is None:
        exposure = exposure_difference(request.shadow_url or default_shadow_server(), project, *split)
    return result, exposure
