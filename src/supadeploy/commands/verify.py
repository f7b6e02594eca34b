"""``supadeploy verify``: Row Level Security and Data API exposure of an environment (supadeploy.rls.verify),
read through the one resolver (catalog reads over libpq, two at once), findings located in the migration
files; or, with --write-manifest, supabase/policies.toml written from the database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supadeploy.commands.invocation import Invocation
    from supadeploy.rls.verify import VerifyReport


@dataclass(frozen=True)
class VerifyRequest:
    schemas: tuple[str, ...] | None = None
    fail_on: str | None = None


@dataclass(frozen=True)
class VerifyRun:
    description: str
    report: VerifyReport
    fail_on: str


@dataclass(frozen=True)
class ManifestWritten:
    path: Path
    tables: int
    policies: int


def run_verify_command(invocation: Invocation, request: VerifyRequest) -> VerifyRun:
    from supadeploy.errors import SupadeployError
    from supadeploy.migrations.files import discover_migrations
    from supadeploy.rls.verify import VerifyOptions, locate_findings, run_verify

    resolved = invocation.resolve()
    options = VerifyOptions.from_project(resolved.project, schemas=request.schemas, fail_on=request.fail_on,
                                         environment=resolved.environment)
    with invocation.reading("verify", resolved, libpq_reads=True) as (_, target):
        report = run_verify(target, options)
    migrations_dir = resolved.project.migrations_dir
    if migrations_dir.is_dir() and report.findings:
        try:
            locate_findings(report, discover_migrations(migrations_dir).migrations)
        except SupadeployError as error:  # a broken migration file must not hide the findings
            invocation.note(f"warning: findings are not located in migrations: {error.what}")
    return VerifyRun(target.description, report, options.fail_on)


def run_write_manifest(invocation: Invocation, request: VerifyRequest) -> ManifestWritten:
    from supadeploy.rls.catalog import read_catalog
    from supadeploy.rls.manifest import write_manifest
    from supadeploy.rls.verify import VerifyOptions, manifest_location

    resolved = invocation.resolve()
    options = VerifyOptions.from_project(resolved.project, schemas=request.schemas, fail_on=request.fail_on,
                                         environment=resolved.environment)
    path = manifest_location(resolved.project)
    with invocation.reading("verify", resolved, libpq_reads=True) as (_, target):
        tables, policies = write_manifest(path, read_catalog(target, options.schemas))
    return ManifestWritten(path, tables, policies)
