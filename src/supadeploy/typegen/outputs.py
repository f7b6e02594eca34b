"""Where generated types go: ``[types]`` in supadeploy.toml, files written only when their content changes,
and ``--check`` diffs.

```toml
[types]
schemas = ["public", "api"]            # default: public + the [api] schemas of supabase/config.toml
typescript = "src/lib/database.types.ts"   # a path, or a list of paths
python = "backend/db/models.py"
postgrest_version = "12"               # optional: emit __InternalSupabase like `supabase gen types --project-id`
cli_version = "3.1.0"                  # optional: whose `supabase gen types` to match (default: the project's CLI)

[[types.outputs]]                      # or one table per file, each with its own schemas
path = "admin/types.ts"
lang = "typescript"                    # default: from the extension (.py is python)
schemas = ["public", "admin"]
```

Paths are relative to the project directory.
"""

from __future__ import annotations

import contextlib
import difflib
import gc
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supadeploy.errors import ConfigError, SupadeployError

if TYPE_CHECKING:
    from supadeploy.config import ProjectConfig
    from supadeploy.targets.base import Target
    from supadeploy.typegen.introspect import Snapshot

LANGUAGES = ("typescript", "python")
DEFAULT_SCHEMA = "public"
SUPABASE_CONFIG = Path("supabase") / "config.toml"
_TYPES_KEYS = ("schemas", "typescript", "python", "outputs", "postgrest_version", "cli_version")
CLI3_CONFIG_DEFAULT_SCHEMAS = ("public", "graphql_public")  # CLI 3's [api] schemas when config.toml omits them
_OUTPUT_KEYS = ("path", "lang", "schemas")
DIFF_LINES = 60
_EXAMPLE_PATHS = {"typescript": "src/database.types.ts", "python": "backend/models.py"}


@dataclass(frozen=True)
class TypesOutput:
    lang: str
    path: Path
    schemas: tuple[str, ...]
    postgrest_version: str | None = None
    cli_version: str | None = None  # the Supabase CLI whose output is matched; None: CLI 2 (postgres-meta 0.99)

    @property
    def unformatted(self) -> bool:
        """CLI 3's output: @supabase/typegen's template, unformatted."""
        return self.cli_version is not None and int(self.cli_version.split(".")[0]) >= 3


@dataclass(frozen=True)
class TypesFileResult:
    path: Path
    lang: str
    changed: bool


def language_for(path: Path, lang: str | None = None) -> str:
    """The output language: ``lang`` when given, else from the file extension (.py is python)."""
    chosen = lang or ("python" if path.suffix == ".py" else "typescript")
    if chosen not in LANGUAGES:
        raise SupadeployError(f"unknown language '{chosen}'", fix=f"use one of: {', '.join(LANGUAGES)}", exit_code=2)
    return chosen


def default_schemas(workdir: Path, *, unformatted: bool = False) -> tuple[str, ...]:
    """The Supabase CLI's default: ``public`` plus the ``[api] schemas`` of supabase/config.toml (for CLI 3,
    ``unformatted``, config.toml's own default when the file has none)."""
    path = workdir / SUPABASE_CONFIG
    if not path.is_file():
        return (DEFAULT_SCHEMA,)
    document = _read_toml(path)
    api = document.get("api", {})
    missing: list[str] = list(CLI3_CONFIG_DEFAULT_SCHEMAS) if unformatted else []
    schemas = api.get("schemas", missing) if isinstance(api, dict) else missing
    if not isinstance(schemas, list) or not all(isinstance(schema, str) for schema in schemas):
        raise ConfigError("[api] schemas must be a list of schema names", where=str(path),
                          fix='write it like schemas = ["public", "graphql_public"]')
    return tuple(dict.fromkeys([DEFAULT_SCHEMA, *schemas]))


def _read_toml(path: Path) -> dict[str, Any]:
    from supadeploy.toml_files import read_toml_file

    return read_toml_file(path)


def configured_schemas(project: ProjectConfig, *, unformatted: bool = False) -> tuple[str, ...]:
    """``[types] schemas``, else the Supabase CLI's default schemas."""
    section = _types_section(project)
    if "schemas" in section:
        return _schema_list(project, section["schemas"], key="schemas")
    return default_schemas(project.workdir, unformatted=unformatted)


def configured_cli_version(project: ProjectConfig, explicit: str | None = None) -> str:
    """The Supabase CLI version whose ``gen types`` output is generated: ``explicit`` (--cli-version), else
    ``[types] cli_version``, else the project's CLI, else the newest supported."""
    from supadeploy.typegen.cli_version import resolve_cli_version

    configured = _types_section(project).get("cli_version")
    try:
        return resolve_cli_version(explicit, configured, project.workdir).version
    except SupadeployError as exc:
        if explicit:
            raise
        raise project.section_error(exc.what, key="cli_version", fix=exc.fix or "") from None


def configured_postgrest_version(project: ProjectConfig) -> str | None:
    value = _types_section(project).get("postgrest_version")
    return value if isinstance(value, str) else None


def configured_outputs(project: ProjectConfig, cli_version: str | None = None) -> list[TypesOutput]:
    """The outputs configured under ``[types]`` in supadeploy.toml (none when the section is absent), for the
    CLI version ``cli_version`` (--cli-version) or the configured one."""
    section = _types_section(project)
    if not section:
        return []
    cli_version = configured_cli_version(project, cli_version)
    schemas = configured_schemas(project, unformatted=_is_unformatted(cli_version))
    version = configured_postgrest_version(project)
    outputs: list[TypesOutput] = []
    for lang in LANGUAGES:
        for path in _path_list(project, section.get(lang), key=lang):
            outputs.append(TypesOutput(lang=lang, path=_resolve(project, path), schemas=schemas,
                                       postgrest_version=version, cli_version=cli_version))
    tables = section.get("outputs", [])
    if not isinstance(tables, list) or not all(isinstance(table, dict) for table in tables):
        raise project.section_error("outputs in [types] must be [[types.outputs]] tables", key="outputs",
                                    fix='write [[types.outputs]] with path = "..." (and lang, schemas)')
    for table in tables:
        outputs.append(_output_table(project, table, schemas, version, cli_version))
    seen: set[Path] = set()
    for output in outputs:
        if output.path in seen:
            raise project.section_error(f"{output.path} is configured twice in [types]", key="path",
                                        fix="give every output its own path")
        seen.add(output.path)
    return outputs


def _types_section(project: ProjectConfig) -> dict[str, Any]:
    section = project.section("types")
    for key in section:
        if key not in _TYPES_KEYS:
            raise project.section_error(f"unknown key '{key}' in [types]", key=key,
                                        fix=f"allowed keys: {', '.join(_TYPES_KEYS)}")
    for key, example in (("postgrest_version", "12"), ("cli_version", "3.1.0")):
        if key in section and not isinstance(section[key], str):
            raise project.section_error(f"{key} in [types] must be a string", key=key,
                                        fix=f'for example: {key} = "{example}"')
    return section


def _is_unformatted(cli_version: str) -> bool:
    return TypesOutput("typescript", Path("-"), (), cli_version=cli_version).unformatted


def _output_table(project: ProjectConfig, table: dict[str, Any], schemas: tuple[str, ...],
                  version: str | None, cli_version: str) -> TypesOutput:
    for key in table:
        if key not in _OUTPUT_KEYS:
            raise project.section_error(f"unknown key '{key}' in [[types.outputs]]", key=key,
                                        fix=f"allowed keys: {', '.join(_OUTPUT_KEYS)}")
    path = table.get("path")
    if not isinstance(path, str) or not path.strip():
        raise project.section_error("every [[types.outputs]] needs a path", key="outputs",
                                    fix='add path = "src/database.types.ts"')
    lang = table.get("lang")
    if lang is not None and lang not in LANGUAGES:
        raise project.section_error(f"unknown lang '{lang}' in [[types.outputs]]", key="lang",
                                    fix=f"use one of: {', '.join(LANGUAGES)}")
    own_schemas = _schema_list(project, table["schemas"], key="schemas") if "schemas" in table else schemas
    resolved = _resolve(project, path)
    return TypesOutput(lang=language_for(resolved, lang), path=resolved, schemas=own_schemas,
                       postgrest_version=version, cli_version=cli_version)


def _schema_list(project: ProjectConfig, value: Any, *, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(item, str) and item for item in value):
        raise project.section_error(f"{key} in [types] must be a non-empty list of schema names", key=key,
                                    fix='write it like schemas = ["public", "api"]')
    return tuple(dict.fromkeys(value))


def _path_list(project: ProjectConfig, value: Any, *, key: str) -> list[str]:
    if value is None:
        return []
    paths = [value] if isinstance(value, str) else value
    if not isinstance(paths, list) or not all(isinstance(path, str) and path.strip() for path in paths):
        raise project.section_error(f"{key} in [types] must be a path or a list of paths", key=key,
                                    fix=f'for example: {key} = "{_EXAMPLE_PATHS[key]}"')
    return paths


def _resolve(project: ProjectConfig, path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else project.workdir / candidate


def check_writable(project: ProjectConfig, outputs: Iterable[TypesOutput]) -> None:
    """Refuse an output that cannot be written, at its line in supadeploy.toml, before anything is generated."""
    for output in outputs:
        problem = _write_problem(output.path)
        if problem:
            configured = output.path.relative_to(project.workdir) if output.path.is_relative_to(project.workdir) \
                else output.path
            raise project.value_error(f"cannot write {output.path}: {problem}", value=str(configured),
                                      fix="change the path in [types] or make its folder writable; "
                                          "--no-types skips the type files")


def _write_problem(path: Path) -> str | None:
    """Why ``write_if_changed`` could not write ``path`` (it creates missing folders, and writes a temporary file
    in the folder that it then renames over the file), or None."""
    if path.is_dir():
        return "it is a folder"
    if path.exists() and not path.is_file():
        return "it is not a regular file"
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is not a folder"
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return f"no file can be created in {folder} ({exc.strerror or exc.__class__.__name__})"
    return None


# --- generating and writing -------------------------------------------------------------------------------


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: generating a large schema allocates hundreds of thousands of small
    objects that all stay alive until the end, and the collector's passes over them cost a third of the time.
    Reference counting still frees everything that is not in a cycle."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def render(snapshot: Snapshot, output: TypesOutput) -> str:
    """The content of one output file, from an introspection that covers its schemas."""
    catalog = snapshot.catalog(output.schemas)
    if output.lang == "python":
        from supadeploy.typegen.python import generate_python

        return generate_python(catalog, output.schemas)
    if output.unformatted:
        from supadeploy.typegen.typescript_cli3 import Cli3Options, generate_typescript_cli3
        from supadeploy.typegen.view_nullability import not_null_view_columns

        return generate_typescript_cli3(catalog, Cli3Options(
            postgrest_version=output.postgrest_version, not_null_view_columns=not_null_view_columns(
                snapshot.view_rules)))
    from supadeploy.typegen.typescript import TypescriptOptions, generate_typescript

    return generate_typescript(catalog, TypescriptOptions(postgrest_version=output.postgrest_version))


def all_schemas(outputs: Iterable[TypesOutput]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(schema for output in outputs for schema in output.schemas))


def read_outputs_snapshot(target: Target, outputs: Iterable[TypesOutput]) -> Snapshot:
    """One introspection covering every output (with the view rules CLI 3's output needs)."""
    from supadeploy.typegen.introspect import read_snapshot

    listed = list(outputs)
    return read_snapshot(target, all_schemas(listed),
                         with_view_rules=any(output.lang == "typescript" and output.unformatted for output in listed))


def write_if_changed(path: Path, content: str) -> bool:
    """Write ``content`` to ``path`` unless the file already holds exactly it (its mtime then stays)."""
    data = content.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise SupadeployError(f"cannot read {path}: {exc.strerror or exc.__class__.__name__}",
                              fix="check the path and its permissions") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            if path.exists():
                os.chmod(temporary, path.stat().st_mode & 0o7777)
            else:
                os.chmod(temporary, 0o666 & ~_umask())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise SupadeployError(f"cannot write {path}: {exc.strerror or exc.__class__.__name__}",
                              fix="check the path and its permissions") from None
    return True


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def stale_diff(path: Path, content: str, *, max_lines: int = DIFF_LINES) -> str | None:
    """A short unified diff from the file on disk to ``content``; None when they are equal."""
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise SupadeployError(f"cannot read {path}: {exc.__class__.__name__}",
                              fix="check the path and that the file is UTF-8") from None
    if current == content:
        return None
    lines = list(difflib.unified_diff(current.splitlines(keepends=True), content.splitlines(keepends=True),
                                      fromfile=f"{path} (on disk)", tofile=f"{path} (generated)", n=2))
    if not path.exists():
        lines = [f"--- {path} (missing)\n", f"+++ {path} (generated)\n", f"@@ {len(content.splitlines())} lines @@\n"]
    shown = [line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines[:max_lines]]
    if len(lines) > max_lines:
        shown.append(f"... {len(lines) - max_lines} more diff lines\n")
    return "".join(shown)


def regenerate_outputs(target: Target, outputs: list[TypesOutput]) -> list[TypesFileResult]:
    """Generate every output from one introspection of the database; write only the files that change."""
    if not outputs:
        return []
    with paused_gc():
        snapshot = read_outputs_snapshot(target, outputs)
        return [TypesFileResult(path=output.path, lang=output.lang,
                                changed=write_if_changed(output.path, render(snapshot, output)))
                for output in outputs]
