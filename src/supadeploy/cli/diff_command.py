"""`supadeploy diff ENV_A ENV_B`: flags → supadeploy.environment_diff.diff_environments → render."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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

EXIT_DIFFERENT = 4

HELP = """Compare two environments (`supadeploy diff staging production`): their migration histories and their
schemas. Changes nothing.

History: the versions only one of them ran, and the versions both ran but recorded with another name or other
statements (supabase_migrations.schema_migrations). Schema: a fingerprint of every object of the exposed
schemas (public plus the [verify] schemas, or --schema): tables, columns and types, defaults, constraints,
indexes, RLS flags, policies, functions, views, triggers, enums, domains, sequences, extensions; each object
only one side has, or both define differently, is listed. `supadeploy promote` runs the same comparison after
promoting.
"""

EXIT_CODES_HELP = "Exit codes: 0 identical; 1 failure (unreachable database, bad configuration); 2 wrong usage; " \
                  "4 the environments differ."


def diff(
    first: Annotated[str, typer.Argument(metavar="ENV_A", help="First environment (e.g. staging).",
                                         show_default=False)],
    second: Annotated[str, typer.Argument(metavar="ENV_B", help="Second environment (e.g. production).",
                                          show_default=False)],
    schema: Annotated[list[str] | None, typer.Option(
        "--schema", help="Schemas to compare, comma-separated or repeated (default: public plus [verify] schemas).",
        show_default=False)] = None,
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
) -> None:
    flags = DatabaseFlags(env=first, db_url=None, workdir=workdir, json=json_output, yes=False)
    with user_errors(json_output):
        from supadeploy.commands.reads import run_diff
        from supadeploy.report.environments_text import diff_document, diff_text

        run = run_diff(invocation(flags), first, second, parse_schema_option(schema))
        result = run.result
        if json_output:
            print_json(diff_document(result, run.descriptions))
        else:
            typer.echo(diff_text(result, run.descriptions))
    if not result.identical:
        raise typer.Exit(EXIT_DIFFERENT)
