"""Two environments side by side: their migration histories and their schema fingerprints.

``supadeploy diff ENV_A ENV_B`` prints this comparison; ``supadeploy promote`` uses the history part to decide
what to apply and the schema part to report drift afterwards. Read-only: only ``target.read_history()`` and
``target.query(...)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from supadeploy.fingerprint import (
    Fingerprint,
    FingerprintDifference,
    QueryTarget,
    diff_fingerprints,
    schema_fingerprint,
)
from supadeploy.migrations.history import HistoryRow

if TYPE_CHECKING:
    from supadeploy.config import ProjectConfig
    from supadeploy.targets.base import Target


def row_label(row: HistoryRow) -> str:
    return f"{row.version}_{row.name}" if row.name else row.version


def statements_difference(first: Sequence[str] | None, second: Sequence[str] | None, *, first_name: str,
                          second_name: str) -> str | None:
    """How two recorded statement lists differ, in words (None when they are equal)."""
    if first is None and second is None:
        return None
    if first is None or second is None:
        missing = first_name if first is None else second_name
        return f"no statements recorded in {missing}"
    first, second = tuple(first), tuple(second)
    if first == second:
        return None
    for index, (a, b) in enumerate(zip(first, second, strict=False)):
        if a != b:
            return f"statement {index + 1} differs"
    return f"{first_name}: {len(first)} statement(s), {second_name}: {len(second)}"


@dataclass(frozen=True)
class HistoryMismatch:
    """A version both histories hold, recorded with another name or other statements."""

    first: HistoryRow
    second: HistoryRow

    @property
    def version(self) -> str:
        return self.first.version

    def reasons(self, first_name: str, second_name: str) -> list[str]:
        reasons = []
        if self.first.name != self.second.name:
            reasons.append(f"named {self.first.name!r} in {first_name}, {self.second.name!r} in {second_name}")
        statements = statements_difference(self.first.statements, self.second.statements, first_name=first_name,
                                           second_name=second_name)
        if statements:
            reasons.append(statements)
        return reasons


@dataclass(frozen=True)
class HistoryComparison:
    """``supabase_migrations.schema_migrations`` of two databases, version by version."""

    first: list[HistoryRow]
    second: list[HistoryRow]
    only_in_first: list[HistoryRow]
    only_in_second: list[HistoryRow]
    mismatched: list[HistoryMismatch]

    @property
    def identical(self) -> bool:
        return not (self.only_in_first or self.only_in_second or self.mismatched)

    @property
    def missing_from_second_out_of_order(self) -> list[HistoryRow]:
        """Versions only the first ran that are older than the newest version of the second: applying them
        to the second would run them out of order."""
        newest = max((row.version for row in self.second), default=None)
        return [row for row in self.only_in_first if newest is not None and row.version < newest]

    @property
    def second_is_prefix(self) -> bool:
        """The second ran exactly the first's oldest migrations, and nothing else."""
        return not (self.only_in_second or self.mismatched or self.missing_from_second_out_of_order)

    def as_dict(self, first_name: str, second_name: str) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "counts": {first_name: len(self.first), second_name: len(self.second)},
            "only_in": {first_name: [_row_document(row) for row in self.only_in_first],
                        second_name: [_row_document(row) for row in self.only_in_second]},
            "different": [{**_row_document(m.first), "reasons": m.reasons(first_name, second_name)}
                          for m in self.mismatched],
        }


def _row_document(row: HistoryRow) -> dict[str, Any]:
    return {"version": row.version, "name": row.name}


def compare_histories(first: Iterable[HistoryRow], second: Iterable[HistoryRow]) -> HistoryComparison:
    """Pure: which versions only one side ran, and which both ran differently."""
    first_rows = sorted(first, key=lambda row: row.version)
    second_rows = sorted(second, key=lambda row: row.version)
    first_by_version = {row.version: row for row in first_rows}
    second_by_version = {row.version: row for row in second_rows}
    mismatched = [
        HistoryMismatch(first=row, second=second_by_version[row.version])
        for row in first_rows
        if row.version in second_by_version and _recorded_differently(row, second_by_version[row.version])
    ]
    return HistoryComparison(
        first=first_rows, second=second_rows,
        only_in_first=[row for row in first_rows if row.version not in second_by_version],
        only_in_second=[row for row in second_rows if row.version not in first_by_version],
        mismatched=mismatched,
    )


def _recorded_differently(first: HistoryRow, second: HistoryRow) -> bool:
    return first.name != second.name or first.statements != second.statements


@dataclass(frozen=True)
class SchemaComparison:
    """Schema fingerprints of two databases over the same schemas (see supadeploy.fingerprint)."""

    schemas: tuple[str, ...]
    first_digest: str
    second_digest: str
    objects: int
    """objects in the first fingerprint"""
    differences: list[FingerprintDifference]
    """``removed`` = only in the first, ``added`` = only in the second, ``changed`` = defined differently"""

    @property
    def identical(self) -> bool:
        return not self.differences

    def as_dict(self, first_name: str, second_name: str) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "schemas": list(self.schemas),
            "digests": {first_name: self.first_digest, second_name: self.second_digest},
            "objects": self.objects,
            "differences": [
                {"kind": d.kind, "name": d.name, "only_in": only_in(d, first_name, second_name),
                 "definitions": {first_name: d.before, second_name: d.after}}
                for d in self.differences
            ],
        }


def only_in(difference: FingerprintDifference, first_name: str, second_name: str) -> str | None:
    """The environment that alone has the object; None when both have it, defined differently."""
    if difference.change == "removed":
        return first_name
    if difference.change == "added":
        return second_name
    return None


def compare_schemas(first: QueryTarget, second: QueryTarget, schemas: Iterable[str]) -> SchemaComparison:
    chosen = tuple(dict.fromkeys(schemas))
    return _schema_comparison(chosen, schema_fingerprint(first, chosen), schema_fingerprint(second, chosen))


def _schema_comparison(schemas: tuple[str, ...], first: Fingerprint, second: Fingerprint) -> SchemaComparison:
    return SchemaComparison(schemas=schemas, first_digest=first.digest, second_digest=second.digest,
                            objects=len(first), differences=diff_fingerprints(first, second))


def exposed_schemas(project: ProjectConfig) -> tuple[str, ...]:
    """public plus the [verify] schemas: what the Data API serves, so what must not drift."""
    from supadeploy.rls.settings import load_settings

    return tuple(dict.fromkeys(["public", *load_settings(project).extra_schemas]))


@dataclass(frozen=True)
class EnvironmentDiff:
    first: str
    second: str
    history: HistoryComparison
    schema: SchemaComparison

    @property
    def identical(self) -> bool:
        return self.history.identical and self.schema.identical

    def as_dict(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "environments": [self.first, self.second],
            "history": self.history.as_dict(self.first, self.second),
            "schema": self.schema.as_dict(self.first, self.second),
        }


def diff_environments(first_name: str, first: Target, second_name: str, second: Target,
                      schemas: Iterable[str]) -> EnvironmentDiff:
    """The history and schema comparison of two environments (read-only)."""
    return EnvironmentDiff(
        first=first_name, second=second_name,
        history=compare_histories(first.read_history(), second.read_history()),
        schema=compare_schemas(first, second, schemas),
    )


@dataclass(frozen=True)
class EnvironmentSide:
    """One environment's half of a comparison, read once (a fleet compares every member with one of them)."""

    history: list[HistoryRow]
    fingerprint: Fingerprint


def read_side(target: Target, schemas: Iterable[str]) -> EnvironmentSide:
    return EnvironmentSide(list(target.read_history()), schema_fingerprint(target, tuple(dict.fromkeys(schemas))))


def compare_sides(first_name: str, first: EnvironmentSide, second_name: str, second: EnvironmentSide,
                  schemas: Iterable[str]) -> EnvironmentDiff:
    return EnvironmentDiff(
        first=first_name, second=second_name, history=compare_histories(first.history, second.history),
        schema=_schema_comparison(tuple(dict.fromkeys(schemas)), first.fingerprint, second.fingerprint))
