"""verify: catalog lints, manifest drift, probes and the access matrix, as one library call.

Round trips: one catalog query (``Target.query``), plus one ``Target.query_rolled_back`` when some policy
expression does not look at the row (Postgres evaluates them all at once, rls/constant_expressions.py), plus
one when the manifest declares probes, whatever the number of tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from supadeploy.config import EnvironmentConfig, ProjectConfig
from supadeploy.migrations.files import Migration
from supadeploy.rls.catalog import Catalog, read_catalog
from supadeploy.rls.constant_expressions import evaluate_constants
from supadeploy.rls.findings import LEVEL_RANK, LEVELS, Finding, MatrixRow, ProbeResult
from supadeploy.rls.lints import lint_catalog
from supadeploy.rls.locate import locate
from supadeploy.rls.manifest import drift_findings, load_manifest
from supadeploy.rls.matrix import build_matrix
from supadeploy.rls.probes import ProbeLimits, run_or_skip_probes
from supadeploy.rls.settings import AcceptedFinding, check_fail_on, load_settings
from supadeploy.targets.base import Target

__all__ = ["AcceptedFinding", "VerifyOptions", "VerifyReport", "locate_findings", "manifest_location", "run_verify"]


def manifest_location(project: ProjectConfig) -> Path:
    """Where the manifest lives (it may not exist yet): [verify] manifest, default supabase/policies.toml."""
    return project.workdir / load_settings(project).manifest


@dataclass(frozen=True)
class VerifyOptions:
    schemas: tuple[str, ...]
    """The exposed schemas (what the Data API serves)."""
    fail_on: str = "error"
    """error | warn | none"""
    accepted: tuple[AcceptedFinding, ...] = ()
    manifest_path: Path | None = None
    """supabase/policies.toml when present: drift and probes."""
    sensitive_columns: tuple[str, ...] = ()
    """[verify] sensitive_columns: column names that are personal or secret besides the built-in words."""
    probe_limits: ProbeLimits = field(default_factory=ProbeLimits)

    @classmethod
    def from_project(cls, project: ProjectConfig, *, schemas: tuple[str, ...] | None = None,
                     fail_on: str | None = None, environment: EnvironmentConfig | None = None) -> VerifyOptions:
        """Options from supadeploy.toml's [verify] and supabase/config.toml's [api] schemas; ``schemas``
        (--schema) adds to them. Reads no database: a bad configuration is refused before anything connects."""
        settings = load_settings(project)
        manifest = project.workdir / settings.manifest
        return cls(
            schemas=settings.exposed_schemas(schemas or ()),
            fail_on=check_fail_on(fail_on) if fail_on is not None else settings.fail_on,
            accepted=settings.accepted,
            manifest_path=manifest if manifest.is_file() else None,
            sensitive_columns=settings.sensitive_columns,
            probe_limits=ProbeLimits.for_environment(project, environment),
        )


@dataclass
class VerifyReport:
    findings: list[Finding]
    matrix: list[MatrixRow]
    probes: list[ProbeResult]
    schemas: tuple[str, ...] = ()
    manifest: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    """relations, tables, policies and functions read from the catalog"""

    def failing(self, fail_on: str) -> list[Finding]:
        """Findings that fail a run: not accepted, at or above ``fail_on`` (failed probes are apart)."""
        if check_fail_on(fail_on) == "none":
            return []
        threshold = LEVEL_RANK[fail_on]
        return [finding for finding in self.findings if not finding.accepted and finding.rank >= threshold]

    def failing_probes(self, fail_on: str) -> list[ProbeResult]:
        """Probes that failed: each fails the run like an error does (nothing can accept one)."""
        if check_fail_on(fail_on) == "none":
            return []
        return [probe for probe in self.probes if not probe.passed]

    def fails(self, fail_on: str) -> bool:
        return bool(self.failing(fail_on) or self.failing_probes(fail_on))

    def summary(self) -> dict[str, int]:
        counts = {level: sum(1 for f in self.findings if f.level == level and not f.accepted) for level in LEVELS}
        counts["accepted"] = sum(1 for f in self.findings if f.accepted)
        counts["probes_passed"] = sum(1 for p in self.probes if p.passed)
        counts["probes_failed"] = sum(1 for p in self.probes if not p.passed)
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": [finding.to_dict() for finding in self.findings],
            "matrix": [row.to_dict() for row in self.matrix],
            "probes": [probe.to_dict() for probe in self.probes],
            "schemas": list(self.schemas),
            "manifest": self.manifest,
            "summary": self.summary(),
            "counts": self.counts,
        }


def apply_accepted(findings: list[Finding], accepted: tuple[AcceptedFinding, ...]) -> list[Finding]:
    """Mark accepted findings; an accept entry that matches nothing becomes an info finding."""
    used: set[int] = set()
    for finding in findings:
        for index, entry in enumerate(accepted):
            if entry.matches(finding.code, finding.qualified_name, finding.policy):
                finding.accepted, finding.accepted_reason = True, entry.reason
                used.add(index)
                break
    unused = [
        Finding(code="accept_unused", level="info", schema=None, object=entry.object, object_type="configuration",
                policy=entry.policy,
                message=f"[[verify.accept]] {entry.code} on {entry.object} matches no finding any more",
                remediation="remove it from supadeploy.toml so it cannot hide a future finding")
        for index, entry in enumerate(accepted) if index not in used
    ]
    return findings + unused


def _counts(catalog: Catalog) -> dict[str, int]:
    return {
        "relations": len(catalog.relations),
        "tables": sum(1 for r in catalog.relations if r.is_table and not r.is_partition),
        "policies": len(catalog.policies),
        "functions": len(catalog.functions),
    }


def _sort_key(finding: Finding) -> tuple[Any, ...]:
    return (-finding.rank, finding.code, finding.schema or "", finding.object or "", finding.policy or "")


def run_verify(target: Target, options: VerifyOptions) -> VerifyReport:
    """Lint the catalog, compare it with the manifest, run the manifest's probes, build the access matrix."""
    catalog = read_catalog(target, options.schemas, options.sensitive_columns)
    catalog = replace(catalog, constant_true=evaluate_constants(target, catalog))
    findings = lint_catalog(catalog)
    probes: list[ProbeResult] = []
    if options.manifest_path is not None:
        manifest = load_manifest(options.manifest_path)
        findings += drift_findings(manifest, catalog)
        probes, skipped = run_or_skip_probes(target, manifest.probes, options.probe_limits)
        findings += skipped
    findings = apply_accepted(sorted(findings, key=_sort_key), options.accepted)
    return VerifyReport(findings=findings, matrix=build_matrix(catalog), probes=probes, schemas=options.schemas,
                        manifest=str(options.manifest_path) if options.manifest_path else None,
                        counts=_counts(catalog))


def locate_findings(report: VerifyReport, migrations: list[Migration]) -> None:
    """Set ``file``/``line`` of each finding to the migration statement that created its object, when found."""
    locate(report.findings, migrations)
