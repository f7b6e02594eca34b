"""`supadeploy check`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from supadeploy.cli.common import JsonOption, WorkdirOption, echo_err, print_annotations, print_json, user_errors

if TYPE_CHECKING:
    from supadeploy.exposure import ExposureChange
    from supadeploy.shadow import CheckResult

HELP = """Replay every migration on a throwaway Supabase-shaped database, then drop it.

Applies the migrations from scratch (first failure as file:line:column), runs each one a second time to
prove it idempotent, and for each migration with down SQL runs down then up and compares schema
fingerprints. The database is created on the local server (`supadeploy local start`) or on the server of
--shadow-url, and dropped whatever happens. Exit code 1 when a problem is found.
With --exposure-since VERSION, also shows what the migrations after VERSION change in what anon and
authenticated can do (replayed on a second throwaway database).
"""

ShadowUrlOption = Annotated[str | None, typer.Option(
    "--shadow-url", envvar="SUPADEPLOY_SHADOW_URL", show_envvar=True, show_default=False,
    help="Superuser URL of a server where a throwaway database may be created (default: the local server).")]
SchemaOption = Annotated[list[str] | None, typer.Option(
    "--schema", show_default=False,
    help="Schema to fingerprint (repeatable; default: every schema not managed by Postgres or Supabase).")]


def check(
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
    shadow_url: ShadowUrlOption = None,
    schema: SchemaOption = None,
    no_idempotency: Annotated[bool, typer.Option("--no-idempotency", help="Skip the second runs.")] = False,
    no_rollback: Annotated[bool, typer.Option("--no-rollback", help="Skip the down/up round trips.")] = False,
    exposure_since: Annotated[str | None, typer.Option(
        "--exposure-since", metavar="VERSION", show_default=False,
        help="Show what the migrations after VERSION (e.g. the newest deployed one) change in exposure.")] = None,
) -> None:
    with user_errors(json_output):
        from supadeploy.config import load_project
        from supadeploy.exposure import exposure_difference, split_after
        from supadeploy.migrations.files import discover_migrations
        from supadeploy.report.finding_annotations import replay_annotations
        from supadeploy.shadow import check_migrations, default_shadow_server

        project = load_project(workdir)
        discovery = discover_migrations(project.migrations_dir)
        split = split_after(discovery.migrations, exposure_since) if exposure_since is not None else None
        result = check_migrations(discovery.migrations, server_url=shadow_url, schemas=schema or None,
                                  idempotency=not no_idempotency, round_trips=not no_rollback)
        exposure = None
        if split is not None and result.failure is None:
            exposure = exposure_difference(shadow_url or default_shadow_server(), project, *split)
        if json_output:
            print_json(check_document(result, exposure))
        else:
            typer.echo(check_text(result, exposure))
        print_annotations(replay_annotations(result), json_output=json_output)
        if not result.ok:
            if not json_output:
                echo_err("error: the shadow replay found problems")
            raise typer.Exit(1)


def check_document(result: CheckResult, exposure: list[ExposureChange] | None = None) -> dict[str, object]:
    from supadeploy.report.exposure_text import exposure_document
    from supadeploy.report.json import failure_document

    return {"ok": result.ok, "migrations": result.migrations, "applied": result.applied,
            "failed": failure_document(result.failure) if result.failure else None,
            "problems": [p.as_dict() for p in result.problems],
            "idempotency_checked": result.idempotency_checked, "round_trips_checked": result.round_trips_checked,
            "without_down_sql": result.without_down_sql, "schemas": list(result.schemas),
            "fingerprint": result.fingerprint,
            "exposure": exposure_document(exposure)}


def check_text(result: CheckResult, exposure: list[ExposureChange] | None = None) -> str:
    lines = [f"applied {result.applied} of {result.migrations} migration(s) on a throwaway database"]
    if result.failure is not None:
        lines.append(result.failure.render().splitlines()[0])
    lines.extend(problem.render() for problem in result.problems)
    lines.append(f"idempotency: {result.idempotency_checked} checked; rollback round trips: "
                 f"{result.round_trips_checked} checked, {len(result.without_down_sql)} without down SQL")
    if exposure is not None:
        from supadeploy.report.exposure_text import exposure_text

        lines.append(exposure_text(exposure))
    lines.append("ok" if result.ok else f"{len(result.problems) + (result.failure is not None)} problem(s)")
    return "\n".join(lines)
