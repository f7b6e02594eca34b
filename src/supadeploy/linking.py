"""`supadeploy link`: check a project through the API, record its ref in supadeploy.toml, link the Supabase CLI.

supadeploy.toml is edited as text, line by line, so its comments, order and formatting stay as they were;
the edited text is parsed again before it is written. No secret is written anywhere: only the project ref.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from supadeploy.config import CONFIG_FILE_NAME
from supadeploy.errors import ConfigError, SupadeployError
from supadeploy.management_api.client import DEFAULT_API_URL, ManagementApiClient, check_project_ref
from supadeploy.management_api.models import Project
from supadeploy.redact import redact_text
from supadeploy.targets.supabase_cli import SupabaseCli

_ENVIRONMENT_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_TABLE_HEADER = re.compile(r"^\s*\[")
_PROJECT_REF_LINE = re.compile(r"""^(?P<key>\s*project_ref\s*=\s*)(?P<value>"(?:[^"\\]|\\.)*"|'[^']*')(?P<rest>.*)$""")
_KEY_LINE = re.compile(r"^\s*[A-Za-z0-9_\"'.-]+\s*=")


@dataclass(frozen=True)
class CliLink:
    ran: bool
    ok: bool
    message: str


@dataclass(frozen=True)
class LinkResult:
    environment: str
    project: Project
    config_path: Path
    config_changed: bool
    cli: CliLink


def check_project(client: ManagementApiClient, project_ref: str) -> Project:
    """The project, after checking it exists (404 → clear error) and that it and its database are healthy."""
    check_project_ref(project_ref)
    project = client.get_project(project_ref)
    if not project.healthy:
        raise SupadeployError(f"project {project_ref} ('{project.name}') is {project.status}, not ACTIVE_HEALTHY",
                              fix="restore or unpause it in the Supabase dashboard, wait until it is healthy, rerun")
    health = client.project_health(project_ref, ["db"])
    unhealthy = [service for service in health if service.status != "ACTIVE_HEALTHY"]
    if unhealthy:
        detail = ", ".join(f"{s.name} is {s.status}{': ' + s.error if s.error else ''}" for s in unhealthy)
        raise SupadeployError(f"project {project_ref} is not healthy: {detail}",
                              fix="check the project in the Supabase dashboard and rerun when it is healthy")
    return project


def link_environment(workdir: Path, environment: str, project_ref: str, client: ManagementApiClient, *,
                     cli: SupabaseCli | None) -> LinkResult:
    if not _ENVIRONMENT_NAME.match(environment):
        raise SupadeployError(f"environment name '{environment}' is not valid", fix="use letters, digits, '-' and '_'")
    project = check_project(client, project_ref)
    path = workdir / CONFIG_FILE_NAME
    changed = set_project_ref(path, environment, project_ref)
    cli_link = run_supabase_link(cli, workdir, project_ref, client) if cli else \
        CliLink(ran=False, ok=False, message="the Supabase CLI is not installed; skipped `supabase link`")
    return LinkResult(environment=environment, project=project, config_path=path, config_changed=changed,
                      cli=cli_link)


# --- supadeploy.toml, edited as text -----------------------------------------------------------------------


def set_project_ref(path: Path, environment: str, project_ref: str) -> bool:
    """Record ``project_ref`` for ``environment``; False when it was already recorded."""
    original = path.read_text(encoding="utf-8") if path.exists() else ""
    edited = with_project_ref(original, environment, project_ref, where=str(path))
    if edited == original:
        return False
    _check_edit(edited, environment, project_ref, path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(edited, encoding="utf-8")
    os.replace(temporary, path)
    return True


def with_project_ref(text: str, environment: str, project_ref: str, *, where: str = CONFIG_FILE_NAME) -> str:
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    header = _header_index(lines, environment)
    value = f'"{project_ref}"'
    if header is None:
        if _defined_elsewhere(text, environment):
            raise ConfigError(f"environment '{environment}' is not written as an [environments.{environment}] table",
                              where=where, fix=f'add project_ref = {value} to it by hand')
        separator = "" if not text or text.endswith(("\n", "\r\n")) else newline
        gap = newline if text.strip() else ""
        return f"{text}{separator}{gap}[environments.{environment}]{newline}project_ref = {value}{newline}"
    end = next((i for i in range(header + 1, len(lines)) if _TABLE_HEADER.match(lines[i])), len(lines))
    last_key = header
    for index in range(header + 1, end):
        match = _PROJECT_REF_LINE.match(lines[index].rstrip("\r\n"))
        if match:
            ending = lines[index][len(lines[index].rstrip("\r\n")):]
            lines[index] = f"{match.group('key')}{value}{match.group('rest')}{ending}"
            return "".join(lines)
        if _KEY_LINE.match(lines[index]):
            last_key = index
    if not lines[last_key].endswith(("\n", "\r")):
        lines[last_key] += newline
    lines.insert(last_key + 1, f"project_ref = {value}{newline}")
    return "".join(lines)


def _header_index(lines: list[str], environment: str) -> int | None:
    quoted = re.escape(environment)
    pattern = re.compile(rf"""^\s*\[\s*environments\s*\.\s*(?:{quoted}|"{quoted}"|'{quoted}')\s*\]\s*(?:#.*)?$""")
    for index, line in enumerate(lines):
        if pattern.match(line.rstrip("\r\n")):
            return index
    return None


def _defined_elsewhere(text: str, environment: str) -> bool:
    document = _parse(text)
    environments = document.get("environments") if document else None
    return isinstance(environments, dict) and environment in environments


def _parse(text: str) -> dict[str, object] | None:
    from supadeploy.toml_files import TOMLDecodeError, loads

    try:
        return loads(text)
    except TOMLDecodeError:
        return None


def _check_edit(edited: str, environment: str, project_ref: str, path: Path) -> None:
    document = _parse(edited)
    environments = document.get("environments") if document else None
    table = environments.get(environment) if isinstance(environments, dict) else None
    if not isinstance(table, dict) or table.get("project_ref") != project_ref:
        raise ConfigError(f"could not record project_ref for '{environment}' in {path.name} without rewriting it",
                          where=str(path), fix=f'add project_ref = "{project_ref}" to [environments.{environment}]')


# --- `supabase link` ------------------------------------------------------------------------------------


def run_supabase_link(cli: SupabaseCli, workdir: Path, project_ref: str, client: ManagementApiClient) -> CliLink:
    """`supabase link --project-ref REF` in ``workdir``, against the same API (a CLI profile when not the default)."""
    command = [str(cli.path), "link", "--project-ref", project_ref, "--workdir", str(workdir)]
    with tempfile.TemporaryDirectory(prefix="supadeploy-link-") as folder:
        if client.api_url != DEFAULT_API_URL:
            profile = Path(folder) / "profile.json"
            host = urlsplit(client.api_url).hostname or "localhost"
            profile.write_text(json.dumps({"name": "supadeploy", "api_url": client.api_url,
                                           "dashboard_url": client.api_url, "project_host": host}))
            command += ["--profile", str(profile)]
        environment = {**os.environ, "SUPABASE_ACCESS_TOKEN": client.secrets()[0]}
        try:
            completed = subprocess.run(command, cwd=workdir, stdin=subprocess.DEVNULL, capture_output=True,
                                       text=True, timeout=180, env=environment)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return CliLink(ran=True, ok=False, message=f"`supabase link` did not finish: {type(exc).__name__}")
    secrets = client.secrets() + ((os.environ["SUPABASE_DB_PASSWORD"],) if os.environ.get("SUPABASE_DB_PASSWORD")
                                  else ())
    output = redact_text((completed.stdout + completed.stderr).strip(), secrets)
    lines = [line for line in output.splitlines() if line.strip() and not line.startswith("Try rerunning")]
    if completed.returncode == 0:
        return CliLink(ran=True, ok=True, message="`supabase link` linked this folder for the Supabase CLI")
    return CliLink(ran=True, ok=False, message="`supabase link` failed: " + " / ".join(lines[-3:]))
