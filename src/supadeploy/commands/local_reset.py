"""``supadeploy local reset``: erase the local database (after a yes), then push every migration again with
the [push] settings of supadeploy.toml, like every push."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supadeploy.commands.invocation import Invocation
    from supadeploy.local import LocalServer
    from supadeploy.push_result import PushResult


@dataclass(frozen=True)
class LocalResetRun:
    description: str
    result: PushResult
    warnings: list[str]


def run_local_reset(invocation: Invocation, server: LocalServer) -> LocalResetRun:
    from supadeploy.commands.writing import push_options_for
    from supadeploy.config import load_project
    from supadeploy.migrations.files import discover_migrations
    from supadeploy.pipeline import push
    from supadeploy.redact import redact_url
    from supadeploy.targets.connection_url import default_application_name
    from supadeploy.targets.resolve import open_url

    project = load_project(invocation.workdir)
    discovery = discover_migrations(project.migrations_dir)
    options = push_options_for(project, dry_run=False)
    invocation.confirm("Erase the local database and re-apply all migrations?",
                       refuse_message="local reset erases every row in the local database")
    status = server.reset()
    target = open_url(status.url, application_name=default_application_name("local reset"))
    try:
        result = push(target, discovery, options)
    finally:
        target.close()
    return LocalResetRun(redact_url(status.url), result, discovery.warnings)
