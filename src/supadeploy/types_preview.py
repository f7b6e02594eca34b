"""What pending migrations change in the generated types, found on the throwaway database of a dry run.

:func:`generated_types` renders the configured ``[types]`` outputs (else TypeScript for the default schemas) from a
database; :func:`types_difference` compares two such renderings and returns a short unified diff per output that
changes. The dry run renders them before and after replaying the pending migrations
(:func:`supadeploy.exposure.preview_difference`), so a pull request shows the types it changes without any
database of the project.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supadeploy.config import ProjectConfig
    from supadeploy.targets.base import Target
    from supadeploy.typegen.outputs import TypesOutput

DIFF_LINES = 40


@dataclass(frozen=True)
class TypesChange:
    path: str
    """The output file relative to the project (``database.types.ts`` when no output is configured)."""
    lang: str
    diff: str
    """A unified diff (at most DIFF_LINES lines, then a line saying how many more)."""

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "lang": self.lang, "diff": self.diff}


def preview_outputs(project: ProjectConfig) -> list[TypesOutput]:
    """The configured outputs; without any, TypeScript for the default schemas, formatted (one field a line, as
    CLI 2 prints it) so that its diff reads line by line."""
    from supadeploy.typegen.outputs import (
        TypesOutput,
        configured_outputs,
        configured_postgrest_version,
        configured_schemas,
    )

    outputs = configured_outputs(project)
    if outputs:
        return outputs
    return [TypesOutput("typescript", Path("database.types.ts"), configured_schemas(project),
                        postgrest_version=configured_postgrest_version(project), cli_version=None)]


def generated_types(target: Target, outputs: list[TypesOutput]) -> list[str]:
    from supadeploy.typegen.outputs import render_all

    return render_all(target, outputs)


def types_difference(project: ProjectConfig, outputs: list[TypesOutput], before: list[str],
                     after: list[str]) -> list[TypesChange]:
    changes = []
    for output, old, new in zip(outputs, before, after, strict=True):
        if old == new:
            continue
        shown = _relative(output.path, project.workdir)
        lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), fromfile=f"{shown} (base)",
                                          tofile=f"{shown} (with the pending migrations)", n=1, lineterm=""))
        kept = lines[:DIFF_LINES]
        if len(lines) > DIFF_LINES:
            kept.append(f"... {len(lines) - DIFF_LINES} more diff lines")
        changes.append(TypesChange(path=shown, lang=output.lang, diff="\n".join(kept)))
    return changes


def _relative(path: Path, workdir: Path) -> str:
    try:
        return str(path.resolve().relative_to(workdir.resolve()))
    except ValueError:
        return str(path)
