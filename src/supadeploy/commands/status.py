"""``supadeploy status [--all]``: where each environment stands (supadeploy.status). An environment that
cannot be resolved or reached is a status with its error, not a failure of the command."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supadeploy.commands.invocation import Invocation
    from supadeploy.migrations.files import Discovery
    from supadeploy.status import EnvironmentStatus


def run_status(invocation: Invocation, *, all_environments: bool, verify: bool,
               types: bool) -> list[EnvironmentStatus]:
    from supadeploy.config import load_project
    from supadeploy.migrations.files import discover_migrations

    project = load_project(invocation.workdir)
    discovery = discover_migrations(project.migrations_dir)
    if not all_environments:
        return [environment_status_of(invocation, discovery, verify=verify, types=types)]
    return [environment_status_of(invocation.for_environment(name), discovery, verify=verify, types=types)
            for name in sorted(project.environments)]


def environment_status_of(invocation: Invocation, discovery: Discovery, *, verify: bool,
                          types: bool) -> EnvironmentStatus:
    """The status of the invocation's environment; one that cannot be resolved or reached is a status with its
    error."""
    from supadeploy.errors import SupadeployError
    from supadeploy.status import EnvironmentStatus, environment_status

    try:
        resolved = invocation.resolve()
    except SupadeployError as error:
        return EnvironmentStatus(invocation.env or "default", invocation.engine or "?", error=error.what)
    target = invocation.open(resolved, "status", for_writing=False)
    try:
        return environment_status(resolved, target, discovery, verify=verify, types=types)
    finally:
        try:
            target.close()
        except SupadeployError as error:  # closing a target that never connected
            invocation.say(f"note: {error.what}")
