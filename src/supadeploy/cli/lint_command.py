"""`supadeploy lint`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from supadeploy.cli.common import JsonOption, WorkdirOption, echo_err, print_annotations, print_json, user_errors

if TYPE_CHECKING:
    from supadeploy.config import ProjectConfig
    from supadeploy.migrations.files import Migration

HELP = """Lint migrations with the real PostgreSQL parser: idempotency, destructive changes, locking hazards,
security (RLS, user_metadata, anon grants) and hygiene, each with a stable code, file:line:column and a fix.

Without FILES, every migration in supabase/migrations/. Suppress a finding inline with
`-- supadeploy:ignore CODE reason`, or per project in [lint.ignore] of supadeploy.toml (docs/safety.md).
Exit code 1 when an error-level finding is not suppressed.
"""


def lint(
    files: Annotated[list[Path] | None, typer.Argument(help="Migration files (default: all).", show_default=False)]
    = None,
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
    show_suppressed: Annotated[bool, typer.Option("--show-suppressed", help="Also list suppressed findings.")]
    = False,
) -> None:
    with user_errors(json_output):
        from supadeploy.config import load_project
        from supadeploy.lint.report import error_findings, findings_text, lint_document, lint_migrations
        from supadeploy.migrations.files import discover_migrations
        from supadeploy.report.finding_annotations import lint_annotations

        project = load_project(workdir)
        everything = discover_migrations(project.migrations_dir).migrations if project.migrations_dir.is_dir() \
            else []
        chosen = _chosen(files, everything, project) if files else everything
        findings = lint_migrations(chosen, project, context=everything)
        if json_output:
            print_json(lint_document(findings, [str(m.path) for m in chosen]))
        else:
            typer.echo(findings_text(findings, show_suppressed=show_suppressed))
        print_annotations(lint_annotations(findings), json_output=json_output)
        if error_findings(findings):
            if not json_output:
                echo_err("error: lint found error-level findings (suppress with a reason only when it is safe)")
            raise typer.Exit(1)


def _chosen(files: list[Path], everything: list[Migration], project: ProjectConfig) -> list[Migration]:
    from supadeploy.errors import MigrationFileError
    from supadeploy.migrations.files import MIGRATION_FILE_PATTERN, discover_migrations, read_migration

    known = {m.path.resolve(): m for m in everything}
    chosen: list[Migration] = []
    for file in files:
        path = file if file.is_absolute() else Path.cwd() / file
        if path.is_dir():  # a folder: its migrations, as push would read them
            chosen.extend(known.get(m.path.resolve(), m) for m in discover_migrations(path).migrations)
            continue
        if not path.is_file():
            raise MigrationFileError("no such file or folder", where=str(file),
                                     fix="pass migration files or a folder of them (default: the project's "
                                         f"{project.migrations_folder}/)")
        if path.resolve() in known:
            chosen.append(known[path.resolve()])
            continue
        match = MIGRATION_FILE_PATTERN.match(path.name)
        version, name = (match.group(1), match.group(2)) if match else ("", path.stem)
        chosen.append(read_migration(path, version, name))
    return chosen
