"""`supadeploy check`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supadeploy.cli.common import JsonOption, WorkdirOption, echo_err, print_annotations, print_json, user_errors

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
        from supadeploy.commands.check import CheckRequest, run_check
        from supadeploy.report.check_text import check_document, check_text
        from supadeploy.report.finding_annotations import replay_annotations

        result, exposure = run_check(workdir, CheckRequest(
            shadow_url=shadow_url, schemas=tuple(schema) if schema else None, idempotency=not no_idempotency,
            round_trips=not no_rollback, exposure_since=exposure_since))
        if json_output:
            print_json(check_document(result, exposure))
        else:
            typer.echo(check_text(result, exposure))
        print_annotations(replay_annotations(result), json_output=json_output)
        if not result.ok:
            if not json_output:
                echo_err("error: the shadow replay found problems")
            raise typer.Exit(1)
