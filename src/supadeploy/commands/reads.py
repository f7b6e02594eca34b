"""The commands that only read an environment: ``history`` (the deploy log), ``migration list`` (files next
to the history) and ``diff`` (two environments' schemas). Each returns data; cli/ renders it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supadeploy.commands.invocation import Invocation
    from supadeploy.deploylog import Deployment
    from supadeploy.environment_diff import EnvironmentDiff
    from supadeploy.migrations.listing import ListingEntry


@dataclass(frozen=True)
class HistoryRun:
    description: str
    deployments: list[Deployment]


def run_history(invocation: Invocation, limit: int) -> HistoryRun:
    from supadeploy.deploylog import list_deployments

    with invocation.reading("history") as (_, target):
        return HistoryRun(target.description, list_deployments(target, limit=limit))


@dataclass(frozen=True)
class MigrationListRun:
    description: str
    entries: list[ListingEntry]
    warnings: list[str]


def run_migration_list(invocation: Invocation) -> MigrationListRun:
    from supadeploy.migrations.files import discover_migrations
    from supadeploy.migrations.listing import compare

    resolved = invocation.resolve()
    discovery = discover_migrations(resolved.project.migrations_dir)
    with invocation.reading("migration list", resolved) as (_, target):
        history = target.read_history()
    return MigrationListRun(target.description, compare(discovery.migrations, history), discovery.warnings)


@dataclass(frozen=True)
class DiffRun:
    result: EnvironmentDiff
    descriptions: tuple[str, str]


def run_diff(invocation: Invocation, first: str, second: str, schemas: tuple[str, ...] | None) -> DiffRun:
    """The schemas of environments ``first`` and ``second`` compared (default: public plus [verify] schemas)."""
    from supadeploy.environment_diff import diff_environments, exposed_schemas
    from supadeploy.errors import SupadeployError

    if first == second:
        raise SupadeployError(f"cannot compare environment '{first}' with itself",
                              fix="name two environments, e.g. `supadeploy diff staging production`", exit_code=2)
    first_resolved = invocation.for_environment(first).resolve()
    second_resolved = invocation.for_environment(second).resolve()
    compared = schemas or exposed_schemas(first_resolved.project)
    with invocation.reading("diff", first_resolved) as (_, first_target), \
            invocation.reading("diff", second_resolved) as (_, second_target):
        result = diff_environments(first, first_target, second, second_target, compared)
        return DiffRun(result, (first_target.description, second_target.description))
