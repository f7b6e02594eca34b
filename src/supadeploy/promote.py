"""Promotion: apply to TARGET exactly what SOURCE ran, through the whole deploy, then compare the schemas.

1. SOURCE's and TARGET's histories are read; TARGET's must be a prefix of SOURCE's (same versions, names and
   stored statements, nothing TARGET alone ran, nothing SOURCE ran before TARGET's newest version that
   TARGET lacks). Otherwise the promotion stops with a divergence report.
2. The local files must hold exactly what SOURCE recorded for each of its versions (same version, name and
   statements; a file of a version TARGET already ran may differ in comments and whitespace): the migrations
   applied to TARGET are SOURCE's, read back from the folder only because the files carry the directives
   (``-- supadeploy:no-transaction``) and the locations errors are reported at.
3. :func:`supadeploy.deploy.deploy` runs with the folder restricted to SOURCE's versions (local files SOURCE
   never ran are not promoted): TARGET's protections, backup, apply, verify and types, as in push.
4. The schema fingerprints of SOURCE and TARGET are compared over the exposed schemas; a difference is drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from supadeploy.environment_diff import (
    HistoryComparison,
    SchemaComparison,
    compare_histories,
    compare_schemas,
    row_label,
    statements_difference,
)
from supadeploy.errors import PlanError, SupadeployError
from supadeploy.migrations.files import Discovery, Migration

if TYPE_CHECKING:
    from supadeploy.config import EnvironmentConfig, ProjectConfig
    from supadeploy.deploy import DeployHooks, DeployOptions, DeployOutcome
    from supadeploy.migrations.history import HistoryRow
    from supadeploy.targets.base import Target

EXIT_SCHEMA_DRIFT = 4


@dataclass(frozen=True)
class PromotionPlan:
    source: str
    target: str
    history: HistoryComparison
    """SOURCE's history (first) against TARGET's (second)."""
    to_promote: list[Migration]
    """The local files of the versions SOURCE ran and TARGET lacks, oldest first."""
    not_promoted: list[Migration]
    """Local files SOURCE has not run: left out of the promotion."""
    discovery: Discovery
    """The folder as the deploy sees it: only the versions SOURCE ran."""


@dataclass
class PromotionOutcome:
    plan: PromotionPlan
    deploy: DeployOutcome
    schema: SchemaComparison | None = None
    """None when not compared: a dry run, or a failed push."""

    @property
    def drift(self) -> bool:
        return self.schema is not None and not self.schema.identical

    @property
    def ok(self) -> bool:
        return self.deploy.ok and not self.drift


def plan_promotion(source_name: str, source_history: Iterable[HistoryRow], target_name: str,
                   target_history: Iterable[HistoryRow], discovery: Discovery) -> PromotionPlan:
    """Pure: what to promote, or a PlanError saying why nothing can be."""
    history = compare_histories(source_history, target_history)
    refuse_divergence(history, source_name, target_name)
    refuse_untested_files(history, discovery, source_name)
    ran = {row.version for row in history.first}
    pending = {row.version for row in history.only_in_first}
    return PromotionPlan(
        source=source_name, target=target_name, history=history,
        to_promote=[m for m in discovery.migrations if m.version in pending],
        not_promoted=[m for m in discovery.migrations if m.version not in ran],
        discovery=Discovery(migrations=[m for m in discovery.migrations if m.version in ran],
                            warnings=discovery.warnings),
    )


def refuse_divergence(history: HistoryComparison, source: str, target: str) -> None:
    """TARGET's history must be a prefix of SOURCE's."""
    if history.second_is_prefix:
        return
    lines = []
    for row in history.only_in_second:
        lines.append(f"  {row_label(row)}: only in {target}")
    for mismatch in history.mismatched:
        lines.append(f"  {row_label(mismatch.first)}: recorded differently "
                     f"({'; '.join(mismatch.reasons(source, target))})")
    newest = max((row.version for row in history.second), default="")
    for row in history.missing_from_second_out_of_order:
        lines.append(f"  {row_label(row)}: out of order: {source} ran it, {target} has not, but {target} already "
                     f"has the newer {newest}")
    raise PlanError(
        f"cannot promote {source} to {target}: {target}'s migration history is not a prefix of {source}'s:\n"
        + "\n".join(lines),
        fix=f"bring {source} up to {target} first (push the missing files to {source}, or mark a version "
            f"that should not exist reverted with `supadeploy repair VERSION --status reverted --env {target}`); "
            f"`supadeploy diff {source} {target}` shows both sides",
    )


def refuse_untested_files(history: HistoryComparison, discovery: Discovery, source: str) -> None:
    """Every version SOURCE ran must be in the folder exactly as SOURCE recorded it."""
    local = discovery.by_version()
    pending = {row.version for row in history.only_in_first}
    problems = []
    for row in history.first:
        problem = _file_problem(row, local.get(row.version), source, to_promote=row.version in pending)
        if problem:
            problems.append(f"  {problem}")
    if problems:
        raise PlanError(
            f"what was tested on {source} is not what is in your folder:\n" + "\n".join(problems),
            fix=f"restore the files {source} ran (check out the commit it was deployed from: `supadeploy history "
                f"--env {source}`), or push your changes to {source} first and promote after testing them",
        )


def _file_problem(row: HistoryRow, migration: Migration | None, source: str, *, to_promote: bool) -> str | None:
    if migration is None:
        return f"{row_label(row)}: {source} ran it, but there is no file for version {row.version}"
    if row.name is not None and migration.name != row.name:
        return f"{migration.path}: {source} ran version {row.version} as {row_label(row)}"
    if row.statements is None:
        if not to_promote:
            return None  # already on the target; nothing of it is applied
        return (f"{migration.path}: {source}'s history holds no statements for {row.version} (marked applied with "
                "`migration repair`?), so what it ran is unknown")
    difference = statements_difference(row.statements, migration.statement_texts, first_name=source,
                                       second_name="the file")
    if difference is None:
        return None
    from supadeploy.migrations.equivalence import only_comments_differ

    if not only_comments_differ(migration.statement_texts, row.statements):
        return f"{migration.path}: edited after {source} ran it ({difference})"
    if not to_promote:
        return None  # the target runs nothing of it; push reports the edit as a note
    return (f"{migration.path}: changed only in comments/whitespace since {source} ran it, and the target would "
            f"record the new text; record it on {source} first with `supadeploy repair {row.version} --status "
            f"applied --env {source}` (the statements are the same)")


def promote(source: Target, target: Target, project: ProjectConfig, source_environment: EnvironmentConfig,
            target_environment: EnvironmentConfig, discovery: Discovery, options: DeployOptions,
            hooks: DeployHooks, *, schemas: Iterable[str]) -> PromotionOutcome:
    """Promote what ``source`` ran to ``target`` (see the module's docstring); returns data, never prints.

    Raises PlanError (nothing applied) on a divergent history or files that differ from what SOURCE ran.
    """
    from supadeploy.deploy import deploy

    if source_environment.name == target_environment.name:
        raise SupadeployError(f"cannot promote environment '{source_environment.name}' to itself",
                              fix="name two environments, e.g. `supadeploy promote staging production`", exit_code=2)
    plan = plan_promotion(source_environment.name, source.read_history(), target_environment.name,
                          target.read_history(), discovery)
    deployed = deploy(target, project, target_environment, plan.discovery, options, hooks)
    outcome = PromotionOutcome(plan=plan, deploy=deployed)
    if not options.push.dry_run and deployed.push.ok:
        try:
            outcome.schema = compare_schemas(source, target, schemas)
        except SupadeployError as error:
            deployed.failed_after_apply("schema comparison", error)
    return outcome
