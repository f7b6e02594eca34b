"""`supadeploy diff ENV_A ENV_B`: flags → supadeploy.environment_diff.diff_environments → render."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from supadeploy.cli.common import (
    DatabaseFlags,
    JsonOption,
    WorkdirOption,
    open_target,
    parse_schema_option,
    print_json,
    resolve,
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
        from supadeploy.environment_diff import diff_environments, exposed_schemas
        from supadeploy.errors import SupadeployError
        from supadeploy.report.environments_text import diff_document, diff_text

        if first == second:
            raise SupadeployError(f"cannot compare environment '{first}' with itself",
                                  fix="name two environments, e.g. `supadeploy diff staging production`", exit_code=2)
        first_resolved = resolve(flags)
        second_resolved = resolve(replace(flags, env=second))
        schemas = parse_schema_option(schema) or exposed_schemas(first_resolved.project)
        first_target = open_target(first_resolved, "diff", for_writing=False, json_output=json_output)
        try:
            second_target = open_target(second_resolved, "diff", for_writing=False, json_output=json_output)
            try:
                result = diff_environments(first, first_target, second, second_target, schemas)
                descriptions = (first_target.description, second_target.description)
            finally:
                second_target.close()
        finally:
            first_target.close()
        if json_output:
            print_json(diff_document(result, descriptions))
        else:
            typer.echo(diff_text(result, descriptions))
    if not result.identical:
        raise typer.Exit(EXIT_DIFFERENT)
