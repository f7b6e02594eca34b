"""Flags every database command shares, and turning errors into one clear message and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.exceptions import TyperException

from supadeploy.errors import SupadeployError

if TYPE_CHECKING:
    from supadeploy.commands.invocation import Invocation

EnvOption = Annotated[str | None, typer.Option(
    "--env", "-e", help="Environment from supadeploy.toml (default: the project's default, 'local').",
    show_default=False)]
DbUrlOption = Annotated[str | None, typer.Option(
    "--db-url", help="Database URL; overrides the environment's. Its password is never printed.",
    envvar="SUPADEPLOY_DB_URL", show_default=False, show_envvar=True)]
WorkdirOption = Annotated[Path, typer.Option(
    "--workdir", help="Project directory holding supabase/ and supadeploy.toml (default: current directory).",
    show_default=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")]
DEBUG_VARIABLE = "SUPADEPLOY_DEBUG"
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Answer yes to every prompt (for CI).")]
EngineOption = Annotated[str | None, typer.Option(
    "--engine", help="How to reach the environment: native (a database connection), api (the Management API: "
    "project_ref + $SUPABASE_ACCESS_TOKEN) or cli (push applies with `supabase db push`; other commands connect "
    "natively). Default: the environment's engine, else inferred (a URL: native; project_ref + "
    "$SUPABASE_DB_PASSWORD: native over the pooler; project_ref + $SUPABASE_ACCESS_TOKEN: api).",
    show_default=False)]
ApiUrlOption = Annotated[str | None, typer.Option(
    "--api-url", help="Management API URL (default: https://api.supabase.com, or [api] api_url).",
    envvar="SUPADEPLOY_API_URL", show_default=False, show_envvar=True)]


@dataclass(frozen=True)
class DatabaseFlags:
    env: str | None
    db_url: str | None
    workdir: Path
    json: bool
    yes: bool


def invocation(flags: DatabaseFlags, *, engine: str | None = None, api_url: str | None = None) -> Invocation:
    """The command's Invocation (supadeploy.commands): messages on stderr, questions on the terminal."""
    from supadeploy.commands.invocation import Invocation

    return Invocation(workdir=flags.workdir, env=flags.env, db_url=flags.db_url, engine=engine, api_url=api_url,
                      yes=flags.yes, quiet=flags.json, say=echo_err,
                      ask=ask_on_terminal if sys.stdin.isatty() else None)


def ask_on_terminal(question: str) -> bool:
    return bool(typer.confirm(question, default=False, err=True))


def parse_schema_option(values: list[str] | None) -> tuple[str, ...] | None:
    """``--schema public,api --schema other`` -> ('public', 'api', 'other'), without duplicates; None when absent."""
    if not values:
        return None
    schemas = tuple(dict.fromkeys(name.strip() for value in values for name in value.split(",") if name.strip()))
    if not schemas:
        raise SupadeployError("--schema names no schema", fix="pass schema names separated by commas, e.g. "
                              "--schema public,api", exit_code=2)
    return schemas


def echo_err(message: str) -> None:
    typer.echo(message, err=True)


def print_json(document: dict[str, Any]) -> None:
    from supadeploy.report.json import dumps

    typer.echo(dumps(document))


def print_annotations(lines: list[str], *, json_output: bool) -> None:
    """GitHub annotations, only in GitHub Actions; on stderr with --json (stdout holds the one document)."""
    from supadeploy.report.github import in_github_actions

    if in_github_actions():
        for line in lines:
            typer.echo(line, err=json_output)


@contextmanager
def user_errors(json_output: bool, secrets: Callable[[], tuple[str, ...]] = lambda: ()) -> Iterator[None]:
    """Print a SupadeployError as one clear message (and a JSON document with --json), exit non-zero.
    The secret environment variables and ``secrets()`` are redacted from it."""
    try:
        yield
    except SupadeployError as error:
        from supadeploy.redact import environment_secrets, redact_text

        hidden = (*environment_secrets(), *secrets())
        message = redact_text(error.render(), hidden)
        if json_output:
            from supadeploy.report.json import error_document

            document = error_document(error)
            document["error"]["message"] = redact_text(str(document["error"]["message"]), hidden)
            print_json(document)
        echo_err(f"error: {message}")
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        message = ("interrupted: migrations applied before this point stay applied; see `supadeploy migration list`, "
                   "then rerun to continue")
        if json_output:  # --json: still one document (a cancelled CI job's report says what happened)
            print_json({"ok": False, "error": {"type": "Interrupted", "message": message, "where": None,
                                               "fix": "rerun to continue"}})
        echo_err(message)
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort, TyperException):
        raise
    except Exception as unexpected:
        internal_error(unexpected, json_output=json_output)
        raise typer.Exit(1) from None


def internal_error(unexpected: Exception, *, json_output: bool) -> None:
    """A bug: one line on stderr (and still one JSON document with --json), the traceback only with
    SUPADEPLOY_DEBUG=1. The exception's text is left out: it may hold anything, a password included."""
    import os

    message = (f"internal error ({type(unexpected).__name__}): this is a supadeploy bug; rerun with "
               f"{DEBUG_VARIABLE}=1 for the traceback and report it")
    if json_output:
        print_json({"ok": False, "error": {"type": "InternalError", "message": message, "where": None, "fix": None}})
    if os.environ.get(DEBUG_VARIABLE) == "1":
        import traceback

        traceback.print_exception(unexpected, file=sys.stderr)
    echo_err(f"error: {message}")
