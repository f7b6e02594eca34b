"""Where the types come from.

* ``native`` (default): supadeploy's own generator over one catalog introspection (a few queries through
  the Target); no Docker, no network beyond the database. TypeScript and Python.
* ``api``: ``GET /v1/projects/{ref}/types/typescript`` through the Management API client (needs the
  environment's ``project_ref`` and ``SUPABASE_ACCESS_TOKEN``). TypeScript only.
* ``cli``: the project's Supabase CLI (``supadeploy.targets.supabase_cli.find_supabase_cli``) runs
  ``supabase gen types --lang typescript``, pointed at the environment's project_ref or at the database URL
  (2.x: ``--project-id`` / ``--db-url``, which runs postgres-meta in Docker; 3.x: ``--remote=``, in-process).
  The password travels in ``PGPASSWORD``, never on the command line. TypeScript only.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from supadeploy.errors import SupadeployError
from supadeploy.redact import redact_text, redact_url, url_secrets

if TYPE_CHECKING:
    from supadeploy.config import ProjectConfig

CLI_TIMEOUT_SECONDS = 600


def check_engine(engine: str, lang: str) -> None:
    """One of the engines every command knows (supadeploy.engines); only ``native`` writes more than TypeScript."""
    from supadeploy.engines import check_engine as check_known_engine

    check_known_engine(engine)
    if engine != "native" and lang != "typescript":
        raise SupadeployError(f"--engine {engine} generates TypeScript only",
                              fix=f"use --engine native for --lang {lang}", exit_code=2)


def typescript_from_cli(schemas: Sequence[str], *, project_ref: str | None, db_url: str | None,
                        workdir: Path) -> str:
    """Run the project's ``supabase gen types --lang typescript`` and return what it prints."""
    from supadeploy.targets.supabase_cli import CliNotInstalled, cli_environment, find_supabase_cli

    try:
        cli = find_supabase_cli(workdir)
    except CliNotInstalled as error:
        raise SupadeployError(error.what.replace("the Supabase CLI", "the Supabase CLI (`supabase`)", 1),
                              where=error.where, fix=f"{error.fix}; or use --engine native, which needs neither "
                                                     "the CLI nor Docker") from None
    command = [str(cli.path), "gen", "types", "--lang", "typescript", "--schema", ",".join(schemas),
               "--output-format", "text", "--workdir", str(workdir)]
    environment: dict[str, str] | None = None
    secrets: tuple[str, ...] = ()
    if project_ref:
        command += cli.project_flags(project_ref)
        target = f"project {project_ref}"
    elif db_url:
        bare_url, environment, secrets = cli_environment(db_url)
        command += cli.database_flags(bare_url)
        target = redact_url(db_url)
    else:
        raise SupadeployError("--engine cli needs a project_ref or a database URL",
                              fix="pass --db-url, or set project_ref for the environment in supadeploy.toml")
    secrets += url_secrets(db_url) if db_url else ()
    try:
        completed = subprocess.run(command, cwd=workdir, capture_output=True, text=True, env=environment,
                                   timeout=CLI_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise SupadeployError(f"supabase gen types did not finish within {CLI_TIMEOUT_SECONDS} s",
                              fix="check the connection, or use --engine native") from None
    except OSError as exc:
        raise SupadeployError(f"cannot run the Supabase CLI at {cli.path}: {exc.strerror or exc}",
                              fix="reinstall it, or use --engine native") from None
    if completed.returncode != 0:
        raise SupadeployError(
            f"supabase gen types failed for {target} (Supabase CLI {cli.version_text}): "
            f"{_last_lines(redact_text(completed.stderr, secrets))}",
            fix=_cli_fix(completed.stderr, project_ref))
    return completed.stdout


def _last_lines(text: str, count: int = 3) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " / ".join(lines[-count:]) if lines else "no error output"


def _cli_fix(stderr: str, project_ref: str | None) -> str:
    lowered = stderr.lower()
    if not project_ref and "docker" in lowered:
        return ("`supabase gen types --db-url` runs postgres-meta in Docker: start Docker, or use --engine native "
                "(the same TypeScript, no Docker)")
    if project_ref and ("access token" in lowered or "unauthorized" in lowered or "login" in lowered):
        return "set SUPABASE_ACCESS_TOKEN (or run `supabase login`), or use --engine native"
    return "see the CLI's message above, or use --engine native"


def typescript_from_api(project: ProjectConfig, project_ref: str | None, environment_name: str,
                        schemas: Sequence[str], *, api_url: str | None = None) -> str:
    """``GET /v1/projects/{ref}/types/typescript`` through the Management API client."""
    from supadeploy.engines import open_client
    from supadeploy.management_api.client import check_project_ref

    if not project_ref:
        raise SupadeployError(
            f"--engine api needs the project ref of environment '{environment_name}'",
            fix=f"run `supadeploy link {environment_name} --project-ref <ref>` (or add project_ref to "
                f"[environments.{environment_name}] in supadeploy.toml)")
    ref = check_project_ref(project_ref, where=f"[environments.{environment_name}] project_ref")
    with open_client(project, api_url) as client:
        return client.typescript_types(ref, list(schemas))
