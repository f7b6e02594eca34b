"""`supadeploy fleet verify|diff NAME`: every member of a fleet checked, a bounded number at once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from supadeploy.cli.common import (
    DatabaseFlags,
    JsonOption,
    WorkdirOption,
    invocation,
    parse_schema_option,
    print_json,
    user_errors,
)
from supadeploy.cli.fleet_options import FleetArgument, ParallelOption

if TYPE_CHECKING:
    from supadeploy.commands.fleet_checks import FleetCheck


VERIFY_HELP = """Verify Row Level Security on every member of fleet NAME, as `supadeploy verify --env MEMBER` does.

Prints the members that fail (their failing findings and probes) or cannot be reached, and counts the rest.
Exit 1 when a member fails or cannot be reached.
"""

DIFF_HELP = """Compare every member of fleet NAME with one member: migration history and schema.

The reference (--against, default: the canary) is read once; each other member is compared with it, as
`supadeploy diff REFERENCE MEMBER` does: migrations applied on one side only or recorded differently, and
schema objects missing, extra or defined differently (public plus the [verify] schemas, or --schema).
Exit 1 when a member differs or cannot be reached.
"""


def register(app: typer.Typer) -> None:
    """Add `verify` and `diff` to the `fleet` command group."""
    app.command("verify", help=VERIFY_HELP)(fleet_verify)
    app.command("diff", help=DIFF_HELP)(fleet_diff)


def fleet_verify(
    name: FleetArgument,
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
    parallel: ParallelOption = None,
    fail_on: Annotated[str | None, typer.Option(
        "--fail-on", help="Fail on findings at or above this level: error (default), warn, none.",
        show_default=False)] = None,
) -> None:
    with user_errors(json_output):
        from supadeploy.commands.fleet_checks import run_fleet_verify

        _report(run_fleet_verify(invocation(_flags(workdir, json_output)), name, parallel, fail_on), json_output)


def fleet_diff(
    name: FleetArgument,
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
    parallel: ParallelOption = None,
    against: Annotated[str | None, typer.Option(
        "--against", metavar="MEMBER", help="The member the others are compared with (default: the canary).",
        show_default=False)] = None,
    schema: Annotated[list[str] | None, typer.Option(
        "--schema", help="Compare these schemas, comma-separated (default: public plus [verify] schemas).",
        show_default=False)] = None,
) -> None:
    with user_errors(json_output):
        from supadeploy.commands.fleet_checks import run_fleet_diff

        check = run_fleet_diff(invocation(_flags(workdir, json_output)), name, against, parallel,
                               parse_schema_option(schema))
        _report(check, json_output)


def _flags(workdir: Path, json_output: bool) -> DatabaseFlags:
    return DatabaseFlags(env=None, db_url=None, workdir=workdir, json=json_output, yes=False)


def _report(check: FleetCheck, json_output: bool) -> None:
    from supadeploy.report.fleet_checks_text import fleet_check_document, fleet_check_text

    if json_output:
        print_json(fleet_check_document(check))
    else:
        typer.echo(fleet_check_text(check))
    if not check.ok:
        raise typer.Exit(1)
