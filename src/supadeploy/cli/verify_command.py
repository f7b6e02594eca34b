"""`supadeploy verify`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from supadeploy.cli.common import (
    ApiUrlOption,
    DatabaseFlags,
    DbUrlOption,
    EngineOption,
    EnvOption,
    JsonOption,
    WorkdirOption,
    echo_err,
    invocation,
    parse_schema_option,
    print_json,
    user_errors,
)

if TYPE_CHECKING:
    from supadeploy.rls.verify import VerifyReport

HELP = """Verify Row Level Security on an environment's database.

Reads the catalog (pg_policies, pg_class, privileges, functions, views) in one query and reports every table
the Data API exposes without RLS, policies that do nothing or let everything through, policies that trust
user-editable JWT data or call auth.uid() per row, SECURITY DEFINER views and functions, and the other ways
data leaves through the API. With supabase/policies.toml present it also reports drift from that manifest
and runs its probes (in a transaction that is always rolled back). Prints an access matrix: what anon and
authenticated can SELECT / INSERT / UPDATE / DELETE on each table.

Exits 1 when a finding at or above --fail-on (default: error) is not accepted in supadeploy.toml, or a
probe fails.
"""

SchemaOption = Annotated[list[str] | None, typer.Option(
    "--schema", help="More exposed schemas, comma-separated (always checked: the [api] schemas of "
    "supabase/config.toml, else public, plus [verify] schemas).",
    show_default=False)]
FailOnOption = Annotated[str | None, typer.Option(
    "--fail-on", help="Fail on findings at or above this level: error (default), warn, none.", show_default=False)]
WriteManifestOption = Annotated[bool, typer.Option(
    "--write-manifest", help="Write supabase/policies.toml from the database (keeps its probes) and exit.")]
MarkdownOption = Annotated[Path | None, typer.Option(
    "--markdown", help="Also append the report as markdown to this file (e.g. $GITHUB_STEP_SUMMARY).",
    show_default=False)]


def verify(
    env: EnvOption = None,
    db_url: DbUrlOption = None,
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
    schema: SchemaOption = None,
    fail_on: FailOnOption = None,
    write_manifest: WriteManifestOption = False,
    markdown: MarkdownOption = None,
    engine: EngineOption = None,
    api_url: ApiUrlOption = None,
) -> None:
    flags = DatabaseFlags(env=env, db_url=db_url, workdir=workdir, json=json_output, yes=False)
    with user_errors(json_output):
        _verify(flags, schema=schema, fail_on=fail_on, write_manifest=write_manifest, markdown=markdown,
                engine=engine, api_url=api_url)


def _verify(flags: DatabaseFlags, *, schema: list[str] | None, fail_on: str | None, write_manifest: bool,
            markdown: Path | None, engine: str | None, api_url: str | None) -> None:
    from supadeploy.commands.verify import VerifyRequest, run_verify_command, run_write_manifest

    request = VerifyRequest(schemas=parse_schema_option(schema), fail_on=fail_on)
    if write_manifest:
        written = run_write_manifest(invocation(flags, engine=engine, api_url=api_url), request)
        if flags.json:
            print_json({"ok": True, "manifest": str(written.path), "tables": written.tables,
                        "policies": written.policies})
        else:
            typer.echo(f"Wrote {written.path}: {written.tables} tables, {written.policies} policies. Review and "
                       "commit it; `supadeploy verify` now reports any drift from it.")
        return
    run = run_verify_command(invocation(flags, engine=engine, api_url=api_url), request)
    _render(flags, run.report, run.fail_on, run.description, markdown)


def _render(flags: DatabaseFlags, report: VerifyReport, fail_on: str, database: str, markdown: Path | None) -> None:
    from supadeploy.report import rls_text

    failing = report.fails(fail_on)
    if markdown is not None:
        try:
            with markdown.open("a", encoding="utf-8") as stream:
                stream.write(rls_text.report_markdown(report) + "\n")
        except OSError as exc:
            echo_err(f"warning: cannot write {markdown}: {exc.strerror or exc}")
    if flags.json:
        # One line: a schema of thousands of tables makes a large document, and json.dumps with indent
        # cannot use the C encoder (4x slower).
        typer.echo(json.dumps({"ok": not failing, "database": database, "fail_on": fail_on, **report.to_dict()},
                              default=str))
    else:
        typer.echo(rls_text.findings_text(report))
        typer.echo("")
        typer.echo(rls_text.matrix_text(report))
    if failing:
        reasons = rls_text.failure_text(report.failing(fail_on), report.failing_probes(fail_on), repr(fail_on))
        echo_err(f"error: verify failed: {reasons}")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    from supadeploy.cli import EXIT_CODES_HELP

    app.command("verify", help=HELP, epilog=EXIT_CODES_HELP)(verify)
