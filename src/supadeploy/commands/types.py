"""``supadeploy types``: what to generate (--out, --all, --check, or stdout), generated from one catalog
introspection (native, however the environment is reached), the Management API or `supabase gen types`;
then each file written when its content changed, or compared with it (--check)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from supadeploy.errors import SupadeployError

if TYPE_CHECKING:
    from supadeploy.commands.invocation import Invocation
    from supadeploy.targets.resolve import Resolved
    from supadeploy.typegen.outputs import TypesOutput


@dataclass(frozen=True)
class TypesRequest:
    lang: str | None = None
    schemas: tuple[str, ...] | None = None
    out: Path | None = None
    all_outputs: bool = False
    check: bool = False
    engine: str = "native"
    """The generator: native (supadeploy's), api (the Management API) or cli (`supabase gen types`)."""
    cli_version: str | None = None
    force: bool = False


@dataclass(frozen=True)
class TypesFile:
    """One output file: written (changed or not), or compared (--check: stale, with a short diff)."""

    shown: str
    lang: str
    changed: bool = False
    diff: str | None = None


@dataclass(frozen=True)
class TypesRun:
    outputs: list[TypesOutput]
    contents: list[str]
    to_stdout: bool
    files: list[TypesFile] = field(default_factory=list)

    @property
    def stale(self) -> list[TypesFile]:
        return [file for file in self.files if file.diff is not None]


def run_types(invocation: Invocation, request: TypesRequest,
              on_url: Callable[[str], None] = lambda url: None) -> TypesRun:
    """``on_url``: told the database URL in use, before anything connects (its password is then redacted)."""
    from supadeploy.errors import ConfigError
    from supadeploy.typegen.engines import check_engine
    from supadeploy.typegen.outputs import check_destination, stale_diff, write_if_changed

    # --engine here names the generator; the native one reads the catalog however the environment is reached.
    try:
        resolved = replace(invocation, engine="api" if request.engine == "api" else None).resolve()
    except ConfigError:
        if request.engine != "cli":
            raise
        resolved = replace(invocation, engine="api").resolve()  # `supabase gen types --project-id` needs no URL
    if resolved.url:
        on_url(resolved.url)
    outputs, to_stdout = _outputs(resolved, request)
    for output in outputs:
        check_engine(request.engine, output.lang)
        if not to_stdout and not request.check:
            check_destination(output.path, force=request.force)
    contents = _generate(invocation, resolved, outputs, request.engine)
    if to_stdout:
        return TypesRun(outputs, contents, True)
    files = []
    for output, content in zip(outputs, contents, strict=True):
        shown = shown_path(output.path, resolved.project.workdir)
        if request.check:
            files.append(TypesFile(shown, output.lang, diff=stale_diff(output.path, content)))
        else:
            files.append(TypesFile(shown, output.lang, changed=write_if_changed(output.path, content)))
    return TypesRun(outputs, contents, False, files)


def shown_path(path: Path, workdir: Path) -> str:
    """``path`` relative to the current folder, else to the project's, else as is."""
    for base in (Path.cwd(), workdir):
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)


def _outputs(resolved: Resolved, request: TypesRequest) -> tuple[list[TypesOutput], bool]:
    """What to generate, and whether it goes to stdout."""
    from supadeploy.typegen.outputs import (
        TypesOutput,
        configured_cli_version,
        configured_outputs,
        configured_postgrest_version,
        configured_schemas,
        language_for,
    )

    project = resolved.project
    schemas = request.schemas
    version = configured_cli_version(project, request.cli_version)
    unformatted = TypesOutput("typescript", Path("-"), (), cli_version=version).unformatted
    if request.out is not None:
        if request.all_outputs:
            raise SupadeployError("--out and --all cannot be combined", fix="pass one of them", exit_code=2)
        path = request.out if request.out.is_absolute() else Path.cwd() / request.out
        return [TypesOutput(lang=language_for(path, request.lang), path=path,
                            schemas=schemas or configured_schemas(project, unformatted=unformatted),
                            postgrest_version=configured_postgrest_version(project), cli_version=version)], False
    if request.all_outputs or request.check:
        outputs = configured_outputs(project, request.cli_version)
        if not outputs:
            raise SupadeployError(
                "no types output is configured" + (" to check" if request.check else ""),
                where=str(project.config_path or project.workdir / "supadeploy.toml"),
                fix='pass --out PATH, or add typescript = "src/database.types.ts" under [types] in supadeploy.toml',
            )
        if schemas is not None:
            outputs = [replace(o, schemas=schemas) for o in outputs]
        return outputs, False
    return [TypesOutput(lang=language_for(Path("stdout"), request.lang or "typescript"), path=Path("-"),
                        schemas=schemas or configured_schemas(project, unformatted=unformatted),
                        postgrest_version=configured_postgrest_version(project), cli_version=version)], True


def _generate(invocation: Invocation, resolved: Resolved, outputs: list[TypesOutput], engine: str) -> list[str]:
    """The content of every output, from one introspection (native) or one call per schema set."""
    if engine == "native":
        from supadeploy.typegen.outputs import render_all

        with invocation.reading("types", resolved, libpq_reads=True) as (_, target):
            return render_all(target, outputs)
    from supadeploy.typegen.engines import typescript_from_api, typescript_from_cli

    cache: dict[tuple[str, ...], str] = {}
    for output in outputs:
        if output.schemas in cache:
            continue
        if engine == "api":
            cache[output.schemas] = typescript_from_api(
                resolved.project, resolved.environment.project_ref, resolved.environment.name, output.schemas,
                api_url=invocation.api_url)
        else:
            use_ref = bool(resolved.environment.project_ref) and not invocation.db_url
            cache[output.schemas] = typescript_from_cli(
                output.schemas, project_ref=resolved.environment.project_ref if use_ref else None,
                db_url=None if use_ref else resolved.url or None, workdir=resolved.project.workdir)
    return [cache[output.schemas] for output in outputs]
