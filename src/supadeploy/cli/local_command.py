"""`supadeploy local start|stop|status|reset`: a Supabase-shaped Postgres on this machine, no Docker."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from supadeploy.cli.common import (
    DatabaseFlags,
    JsonOption,
    WorkdirOption,
    YesOption,
    invocation,
    print_json,
    user_errors,
)

if TYPE_CHECKING:
    from supadeploy.commands.invocation import Invocation
    from supadeploy.local import LocalServer, LocalStatus

app = typer.Typer(
    help="A local Supabase-shaped Postgres (roles anon/authenticated/service_role, auth schema, extensions) "
    "at postgresql://postgres:postgres@127.0.0.1:54322/postgres, the same URL as `supabase start`.",
    no_args_is_help=True,
)
PortOption = Annotated[int, typer.Option("--port", help="TCP port (default 54322, as `supabase start`).")]
DataDirOption = Annotated[Path | None, typer.Option("--data-dir", help="Where the server keeps its data.",
                                                    show_default=False)]
GrantsModelOption = Annotated[str, typer.Option(
    "--grants-model", help="explicit (Supabase today: new tables and sequences in public are not granted to "
    "the API roles; migrations GRANT them) or legacy (everything granted by default, as before 2026-10-30).")]


def _server(port: int, data_dir: Path | None, grants_model: str = "explicit") -> LocalServer:
    from supadeploy.local import LocalServer

    return LocalServer(data_dir=data_dir, port=port, grants_model=grants_model)


def _invocation(workdir: Path, *, yes: bool, json_output: bool) -> Invocation:
    return invocation(DatabaseFlags(env="local", db_url=None, workdir=workdir, json=json_output, yes=yes))


def _show(status: LocalStatus, json_output: bool) -> None:
    from supadeploy.redact import redact_url

    url = redact_url(status.url)
    if json_output:
        print_json({"ok": True, "running": status.running, "url": url, "port": status.port,
                    "data_dir": str(status.data_dir), "pid": status.pid, "server_version": status.server_version})
        return
    state = "running" if status.running else "stopped"
    typer.echo(f"local database: {state}\n  url:      {url}\n  data dir: {status.data_dir}")
    if status.server_version:
        typer.echo(f"  version:  {status.server_version}")


@app.command("start")
def start(port: PortOption = 54322, data_dir: DataDirOption = None, grants_model: GrantsModelOption = "explicit",
          json_output: JsonOption = False) -> None:
    """Start the local database (initialised and prepared like a Supabase project on first start)."""
    with user_errors(json_output):
        _show(_server(port, data_dir, grants_model).start(), json_output)


@app.command("stop")
def stop(port: PortOption = 54322, data_dir: DataDirOption = None, json_output: JsonOption = False) -> None:
    """Stop the local database; its data is kept."""
    with user_errors(json_output):
        _show(_server(port, data_dir).stop(), json_output)


@app.command("status")
def status(port: PortOption = 54322, data_dir: DataDirOption = None, json_output: JsonOption = False) -> None:
    """Say whether the local database is up, and its URL (password redacted)."""
    with user_errors(json_output):
        current = _server(port, data_dir).status()
        _show(current, json_output)
        if not current.running:
            raise typer.Exit(1)


@app.command("reset")
def reset(
    port: PortOption = 54322,
    data_dir: DataDirOption = None,
    grants_model: GrantsModelOption = "explicit",
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
    yes: YesOption = False,
) -> None:
    """Drop and recreate the local database, then apply every migration of the project again."""
    with user_errors(json_output):
        from supadeploy.commands.local_reset import run_local_reset
        from supadeploy.report.json import push_document

        run = run_local_reset(_invocation(workdir, yes=yes, json_output=json_output),
                              _server(port, data_dir, grants_model))
        result = run.result
        if json_output:
            print_json(push_document(result, target=run.description, environment="local", warnings=run.warnings))
        else:
            from supadeploy.report.human import push_summary

            typer.echo(f"reset {run.description}")
            typer.echo(push_summary(result, run.description))
        if not result.ok:
            raise typer.Exit(1)
