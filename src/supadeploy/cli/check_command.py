"""`supadeploy check`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from supadeploy.cli.common import JsonOption, WorkdirOption, echo_err, print_json, user_errors

if TYPE_CHECKING:
    from supadeploy.shadow import CheckResult

HELP = """Replay every migration on a throwaway Supabase-shaped database, then drop it.

Applies the migrations from scratch (first failure as file:line:column), runs each one a second time to
prove it idempotent, and for each migration with down SQL runs down then up and compares schema
fingerprints. The database is created on the local server (`supadeploy local start`) or on the server of
--shadow-url, and dropped whatever happens. Exit code 1 when a problem is found.
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
) -> None:
    with user_errors(json_output):
        from supadeploy.config import load_project
        from supadeploy.migrations.files import discover_migrations
        from supadeploy.shadow import check_migrations

        project = load_project(workdir)
        discovery = discover_migrations(project.migrations_dir)
        result = check_migrations(discovery.migrations, server_url=shadow_url, schemas=schema or None,
                                  idempotency=not no_idempotency, round_trips=not no_rollback)
        if json_output:
            print_json(check_document(result))
        else:
            typer.echo(check_text(result))
        if not result.ok:
            if not json_output:
                echo_err("error: the shadow replay found problems")
            raise typer.Exit(1)


def check_document(result: CheckResult) -> dict[str, object]:
    from supadeploy.report.json import failure_document

    return {"ok": result.ok, "migrations": result.migrations, "applied": result.applied,
            "failed": failure_document(result.failure) if result.failure else None,
            "problems": [p.as_dict() for p in result.problems],
            "idempotency_checked": result.idempotency_checked, "round_trips_checked": result.round_trips_checked,
            "without_down_sql": result.without_down_sql, "schemas": list(result.schemas),
            "fingerprint": result.fingerprint}


def check_text(result: CheckResult) -> str:
    lines = [f"applied {result.applied} of {result.migrations} migration(s) on a throwaway database"]
    if result.failure is not None:
        lines.append(result.failure.render().splitlines()[0])
    lines.extend(problem.render() for problem in result.problems)
    lines.append(f"idempotency: {result.idempotency_checked} checked; rollback round trips: "
                 f"{result.round_trips_checked} checked, {len(result.without_down_sql)} without down SQL")
    lines.append("ok" if result.ok else f"{len(result.problems) + (result.failure is not None)} problem(s)")
    return "\n".join(lines)
