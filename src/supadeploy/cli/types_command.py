"""`supadeploy types`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from supadeploy.cli.common import (
    DatabaseFlags,
    DbUrlOption,
    EnvOption,
    JsonOption,
    WorkdirOption,
    echo_err,
    open_target,
    parse_schema_option,
    print_json,
    resolve,
    user_errors,
)
from supadeploy.errors import SupadeployError

if TYPE_CHECKING:
    from supadeploy.targets.resolve import Resolved
    from supadeploy.typegen.outputs import TypesOutput

HELP = """Generate database types: TypeScript identical to `supabase gen types typescript`, or Python models.

Without --out, prints to stdout. With --out, writes the file only when its content changed. --all
regenerates every output configured under [types] in supadeploy.toml. --check compares what would be
generated with the files on disk (--out, else the configured outputs) and exits 1 with a short diff when
they differ. Default schemas: public plus the [api] schemas of supabase/config.toml. The TypeScript is
what the project's Supabase CLI prints (--cli-version, [types] cli_version, else the CLI in package.json,
$SUPABASE_CLI or the PATH, else 3.1.0): CLI 2.x formatted (postgres-meta 0.99), CLI 3.x unformatted.
"""


def register(app: typer.Typer) -> None:
    from supadeploy.cli import EXIT_CODES_HELP

    app.command("types", help=HELP, epilog=EXIT_CODES_HELP)(types)


def types(
    env: EnvOption = None,
    db_url: DbUrlOption = None,
    workdir: WorkdirOption = Path("."),
    json_output: JsonOption = False,
    lang: Annotated[str | None, typer.Option(
        "--lang", help="typescript or python (default: from --out's extension, else typescript).",
        show_default=False)] = None,
    schema: Annotated[list[str] | None, typer.Option(
        "--schema", help="Schemas to include, comma-separated (default: [types] schemas, else public plus "
        "the [api] schemas of supabase/config.toml).", show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write to this file (only when the content changed).", show_default=False)] = None,
    all_outputs: Annotated[bool, typer.Option(
        "--all", help="Regenerate every output configured under [types] in supadeploy.toml.")] = False,
    check: Annotated[bool, typer.Option(
        "--check", help="Write nothing; exit 1 with a diff when the file(s) differ from what would be "
        "generated.")] = False,
    engine: Annotated[str, typer.Option(
        "--engine", help="native (supadeploy's generator, no Docker), api (Management API: project_ref + "
        "$SUPABASE_ACCESS_TOKEN) or cli (`supabase gen types`).")] = "native",
    api_url: Annotated[str | None, typer.Option(
        "--api-url", help="Management API URL for --engine api.", envvar="SUPADEPLOY_API_URL",
        show_default=False)] = None,
    cli_version: Annotated[str | None, typer.Option(
        "--cli-version", help="Match `supabase gen types` of this CLI version (3.1.0, 2.117.0; default: [types] "
        "cli_version, else the project's CLI, else 3.1.0).", show_default=False)] = None,
) -> None:
    flags = DatabaseFlags(env=env, db_url=db_url, workdir=workdir, json=json_output, yes=True)
    secrets = _Secrets(db_url)
    with user_errors(json_output, secrets):
        _types(flags, lang=lang, schema=schema, out=out, all_outputs=all_outputs, check=check, engine=engine,
               api_url=api_url, secrets=secrets, cli_version=cli_version)


class _Secrets:
    """The values to keep out of messages: passwords of the URLs in use, tokens from the environment."""

    def __init__(self, url: str | None) -> None:
        self.urls = [url] if url else []

    def __call__(self) -> tuple[str, ...]:
        from urllib.parse import unquote, urlsplit

        names = ("SUPABASE_ACCESS_TOKEN", "SUPABASE_DB_PASSWORD")
        values = [os.environ[name] for name in names if os.environ.get(name)]
        for url in self.urls:
            try:
                password = urlsplit(url).password or ""
            except ValueError:
                continue
            if password:
                values += [password, unquote(password)]
        return tuple(values)


def _outputs(resolved: Resolved, *, lang: str | None, schema: list[str] | None, out: Path | None, all_outputs: bool,
             check: bool, cli_version: str | None) -> tuple[list[TypesOutput], bool]:
    """What to generate, and whether it goes to stdout."""
    from dataclasses import replace

    from supadeploy.typegen.outputs import (
        TypesOutput,
        configured_cli_version,
        configured_outputs,
        configured_postgrest_version,
        configured_schemas,
        language_for,
    )

    project = resolved.project
    schemas = parse_schema_option(schema)
    version = configured_cli_version(project, cli_version)
    unformatted = TypesOutput("typescript", Path("-"), (), cli_version=version).unformatted
    if out is not None:
        if all_outputs:
            raise SupadeployError("--out and --all cannot be combined", fix="pass one of them", exit_code=2)
        path = out if out.is_absolute() else Path.cwd() / out
        return [TypesOutput(lang=language_for(path, lang), path=path,
                            schemas=schemas or configured_schemas(project, unformatted=unformatted),
                            postgrest_version=configured_postgrest_version(project), cli_version=version)], False
    if all_outputs or check:
        outputs = configured_outputs(project, cli_version)
        if not outputs:
            raise SupadeployError(
                "no types output is configured" + (" to check" if check else ""),
                where=str(project.config_path or project.workdir / "supadeploy.toml"),
                fix='pass --out PATH, or add typescript = "src/database.types.ts" under [types] in supadeploy.toml',
            )
        if schemas is not None:
            outputs = [replace(o, schemas=schemas) for o in outputs]
        return outputs, False
    return [TypesOutput(lang=language_for(Path("stdout"), lang or "typescript"), path=Path("-"),
                        schemas=schemas or configured_schemas(project, unformatted=unformatted),
                        postgrest_version=configured_postgrest_version(project), cli_version=version)], True


def _types(flags: DatabaseFlags, *, lang: str | None, schema: list[str] | None, out: Path | None, all_outputs: bool,
           check: bool, engine: str, api_url: str | None, secrets: _Secrets, cli_version: str | None) -> None:
    from supadeploy.errors import ConfigError
    from supadeploy.typegen.engines import check_engine
    from supadeploy.typegen.outputs import stale_diff, write_if_changed

    # --engine here names the generator; the native one reads the catalog however the environment is reached.
    try:
        resolved = resolve(flags, "api" if engine == "api" else None)
    except ConfigError:
        if engine != "cli":
            raise
        resolved = resolve(flags, "api")  # `supabase gen types --project-id` needs no URL
    if resolved.url:
        secrets.urls.append(resolved.url)
    outputs, to_stdout = _outputs(resolved, lang=lang, schema=schema, out=out, all_outputs=all_outputs, check=check,
                                  cli_version=cli_version)
    for output in outputs:
        check_engine(engine, output.lang)
    contents = _generate(resolved, outputs, engine=engine, api_url=api_url, flags_db_url=flags.db_url)
    if to_stdout and flags.json:
        print_json({"command": "types", "engine": engine, "lang": outputs[0].lang,
                    "schemas": list(outputs[0].schemas), "content": contents[0]})
        return
    if to_stdout:
        import sys

        sys.stdout.write(contents[0])  # as is (click.echo would scan 4 MB for terminal escapes)
        sys.stdout.flush()
        return
    files: list[dict[str, Any]] = []
    stale = 0
    for output, content in zip(outputs, contents, strict=True):
        shown = _shown(output.path, resolved.project.workdir)
        if check:
            diff = stale_diff(output.path, content)
            stale += diff is not None
            files.append({"path": shown, "lang": output.lang, "stale": diff is not None, "diff": diff})
            if diff is not None and not flags.json:
                echo_err(diff.rstrip("\n"))
        else:
            changed = write_if_changed(output.path, content)
            files.append({"path": shown, "lang": output.lang, "changed": changed})
            if not flags.json:
                echo_err(f"{'wrote' if changed else 'unchanged'} {shown}")
    if flags.json:
        print_json({"command": "types", "engine": engine, "check": check, "files": files})
    if check and stale:
        if not flags.json:
            echo_err(f"error: types are stale ({stale} of {len(outputs)} file(s)): run `supadeploy types"
                     f"{' --out ' + shown if out is not None else ' --all'}` and commit the result")
        raise typer.Exit(1)
    if check and not flags.json:
        echo_err(f"types are up to date ({len(outputs)} file(s))")


def _shown(path: Path, workdir: Path) -> str:
    for base in (Path.cwd(), workdir):
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)


def _generate(resolved: Resolved, outputs: list[TypesOutput], *, engine: str, api_url: str | None,
              flags_db_url: str | None) -> list[str]:
    """The content of every output, from one introspection (native) or one call per schema set."""
    if engine == "native":
        from supadeploy.typegen.outputs import paused_gc, read_outputs_snapshot, render

        target = open_target(resolved, "types", for_writing=False, api_url=api_url)
        with paused_gc():
            try:
                snapshot = read_outputs_snapshot(target, outputs)
            finally:
                target.close()
            return [render(snapshot, output) for output in outputs]
    from supadeploy.typegen.engines import typescript_from_api, typescript_from_cli

    cache: dict[tuple[str, ...], str] = {}
    for output in outputs:
        if output.schemas in cache:
            continue
        if engine == "api":
            cache[output.schemas] = typescript_from_api(
                resolved.project, resolved.environment.project_ref, resolved.environment.name, output.schemas,
                api_url=api_url)
        else:
            use_ref = bool(resolved.environment.project_ref) and not flags_db_url
            cache[output.schemas] = typescript_from_cli(
                output.schemas, project_ref=resolved.environment.project_ref if use_ref else None,
                db_url=None if use_ref else resolved.url or None, workdir=resolved.project.workdir)
    return [cache[output.schemas] for output in outputs]
