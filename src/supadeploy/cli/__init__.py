"""The `supadeploy` command. Thin: flags → library call → render. Heavy imports happen inside commands.

Each command lives in its own module, imported only when that command runs: `supadeploy push` loads the
push command and nothing else (start-up time is part of every no-op push), while `supadeploy --help`, an
unknown command and the test runner (``supadeploy.cli.app``) get every command.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import typer

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 failure (bad input, unreachable database, failed migration, unsafe plan); "
    "2 wrong usage; 3 migrations applied but verification failed; 4 environments differ (promote, diff); "
    "130 interrupted."
)


def _version_callback(value: bool) -> None:
    if value:
        from supadeploy import __version__

        typer.echo(f"supadeploy {__version__}")
        raise typer.Exit()


def root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """supadeploy: deploy a Supabase project's database safely."""


def _init(app: typer.Typer) -> None:
    from supadeploy.cli import init_command

    app.command("init", help=init_command.HELP)(init_command.init)


def _push(app: typer.Typer) -> None:
    from supadeploy.cli import push_command

    app.command("push", help=push_command.HELP, epilog=EXIT_CODES_HELP)(push_command.push)


def _migration(app: typer.Typer) -> None:
    from supadeploy.cli import migration_command

    app.add_typer(migration_command.app, name="migration")


def _local(app: typer.Typer) -> None:
    from supadeploy.cli import local_command

    app.add_typer(local_command.app, name="local")


def _lint(app: typer.Typer) -> None:
    from supadeploy.cli import lint_command

    app.command("lint", help=lint_command.HELP, epilog=EXIT_CODES_HELP)(lint_command.lint)


def _check(app: typer.Typer) -> None:
    from supadeploy.cli import check_command

    app.command("check", help=check_command.HELP, epilog=EXIT_CODES_HELP)(check_command.check)


def _rollback(app: typer.Typer) -> None:
    from supadeploy.cli import rollback_command

    app.command("rollback", help=rollback_command.HELP, epilog=EXIT_CODES_HELP)(rollback_command.rollback)


def _reconcile(app: typer.Typer) -> None:
    from supadeploy.cli import reconcile_command

    app.command("reconcile", help=reconcile_command.HELP, epilog=EXIT_CODES_HELP)(reconcile_command.reconcile)


def _repair(app: typer.Typer) -> None:
    from supadeploy.cli import repair_command

    app.command("repair", help=repair_command.HELP, epilog=EXIT_CODES_HELP)(repair_command.repair)


def _baseline(app: typer.Typer) -> None:
    from supadeploy.cli import baseline_command

    app.command("baseline", help=baseline_command.HELP, epilog=EXIT_CODES_HELP)(baseline_command.baseline)


def _history(app: typer.Typer) -> None:
    from supadeploy.cli import history_command

    app.command("history", help=history_command.HELP)(history_command.history)


def _ci(app: typer.Typer) -> None:
    from supadeploy.cli import ci_command

    app.add_typer(ci_command.app, name="ci")


def _fleet(app: typer.Typer) -> None:
    from supadeploy.cli import fleet_command

    app.add_typer(fleet_command.app, name="fleet")


def _link(app: typer.Typer) -> None:
    from supadeploy.cli import link_command

    app.command("link", help=link_command.LINK_HELP)(link_command.link)


def _projects(app: typer.Typer) -> None:
    from supadeploy.cli import link_command

    app.command("projects", help=link_command.PROJECTS_HELP)(link_command.projects)


def _verify(app: typer.Typer) -> None:
    from supadeploy.cli.verify_command import register

    register(app)


def _types(app: typer.Typer) -> None:
    from supadeploy.cli.types_command import register

    register(app)


def _promote(app: typer.Typer) -> None:
    from supadeploy.cli import promote_command

    app.command("promote", help=promote_command.HELP, epilog=promote_command.EXIT_CODES_HELP)(
        promote_command.promote)


def _diff(app: typer.Typer) -> None:
    from supadeploy.cli import diff_command

    app.command("diff", help=diff_command.HELP, epilog=diff_command.EXIT_CODES_HELP)(diff_command.diff)


def _status(app: typer.Typer) -> None:
    from supadeploy.cli import status_command

    app.command("status", help=status_command.HELP)(status_command.status)


# In the order `supadeploy --help` lists them (Typer lists commands before command groups).
COMMANDS: dict[str, Callable[[typer.Typer], None]] = {
    "init": _init, "status": _status, "push": _push, "migration": _migration, "local": _local, "lint": _lint,
    "check": _check,
    "rollback": _rollback, "reconcile": _reconcile, "repair": _repair, "baseline": _baseline,
    "history": _history, "ci": _ci, "link": _link, "projects": _projects, "verify": _verify, "types": _types,
    "promote": _promote, "diff": _diff, "fleet": _fleet,
}


def build_app(command: str | None = None) -> typer.Typer:
    """The CLI with every command, or with only ``command`` when that is the one being run."""
    app = typer.Typer(
        name="supadeploy",
        help="Deploy a Supabase project's database safely: push supabase/migrations/ with the same history the "
        "Supabase CLI keeps, one transaction per migration, under a deploy lock.\n\n" + EXIT_CODES_HELP,
        no_args_is_help=True,
        add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(root)
    for name, register in COMMANDS.items():
        if command is None or name == command:
            register(app)
    return app


def __getattr__(name: str) -> typer.Typer:
    """``supadeploy.cli.app``: the whole CLI, built on first use (for Typer's test runner and tools)."""
    if name == "app":
        app = build_app()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    import signal

    # A cancelled CI job sends SIGTERM (then SIGKILL): handle it as Ctrl-C, so the migration in flight is
    # cancelled and rolled back by the server, and the deploy log says what was applied.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    arguments = sys.argv[1:]
    build_app(arguments[0] if arguments and arguments[0] in COMMANDS else None)()
