"""The `supadeploy` command. Thin: flags → library call → render. Heavy imports happen inside commands."""

from __future__ import annotations

import typer

from supadeploy import __version__

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 failure (bad input, unreachable database, failed migration, unsafe plan); "
    "2 wrong usage; 3 migrations applied but verification failed; 4 environments differ (promote, diff); "
    "130 interrupted."
)

app = typer.Typer(
    name="supadeploy",
    help="Deploy a Supabase project's database safely: push supabase/migrations/ with the same history the "
    "Supabase CLI keeps, one transaction per migration, under a deploy lock.\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"supadeploy {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """supadeploy: deploy a Supabase project's database safely."""


def _register() -> None:
    from supadeploy.cli import init_command, local_command, migration_command, push_command

    app.command("init", help=init_command.HELP)(init_command.init)
    app.command("push", help=push_command.HELP, epilog=EXIT_CODES_HELP)(push_command.push)
    app.add_typer(migration_command.app, name="migration")
    app.add_typer(local_command.app, name="local")
    from supadeploy.cli import baseline_command, check_command, lint_command, reconcile_command, repair_command, rollback_command  # noqa: E501,I001
    app.command("lint", help=lint_command.HELP, epilog=EXIT_CODES_HELP)(lint_command.lint)
    app.command("check", help=check_command.HELP, epilog=EXIT_CODES_HELP)(check_command.check)
    app.command("rollback", help=rollback_command.HELP, epilog=EXIT_CODES_HELP)(rollback_command.rollback)
    app.command("reconcile", help=reconcile_command.HELP, epilog=EXIT_CODES_HELP)(reconcile_command.reconcile)
    app.command("repair", help=repair_command.HELP, epilog=EXIT_CODES_HELP)(repair_command.repair)
    app.command("baseline", help=baseline_command.HELP, epilog=EXIT_CODES_HELP)(baseline_command.baseline)
    from supadeploy.cli import history_command
    app.command("history", help=history_command.HELP)(history_command.history)
    from supadeploy.cli import ci_command
    app.add_typer(ci_command.app, name="ci")
    from supadeploy.cli.link_command import register as register_link_and_projects
    register_link_and_projects(app)
    from supadeploy.cli.verify_command import register as register_verify
    register_verify(app)
    from supadeploy.cli.types_command import register as register_types
    register_types(app)
    from supadeploy.cli import diff_command, promote_command
    app.command("promote", help=promote_command.HELP, epilog=promote_command.EXIT_CODES_HELP)(promote_command.promote)
    app.command("diff", help=diff_command.HELP, epilog=diff_command.EXIT_CODES_HELP)(diff_command.diff)


_register()


def main() -> None:
    app()
