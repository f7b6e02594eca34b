"""Which Supabase CLI's ``gen types`` output to reproduce, and from where that is known.

``--cli-version`` (or ``[types] cli_version``) says it; otherwise the project's own CLI does: ``supabase`` in the
project's package.json (the installed node_modules/supabase when there is one, else the version range's
numbers), else the CLI at ``$SUPABASE_CLI``, else ``supabase`` on the PATH (their version read from the npm
package they belong to, else from ``supabase --version``); else the newest supported version.

CLI 2.x runs postgres-meta 0.99 (formatted TypeScript); CLI 3.x runs @supabase/typegen in process and prints it
unformatted. Both are reproduced; the output of 3.1.0 is the one verified byte for byte.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from supadeploy.errors import SupadeployError

NEWEST_SUPPORTED = "3.1.0"
SUPPORTED_MAJORS = (2, 3)
CLI_VARIABLE = "SUPABASE_CLI"
VERSION_TIMEOUT_SECONDS = 20
_VERSION = re.compile(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?")


@dataclass(frozen=True)
class CliVersion:
    version: str  # "3.1.0", or "3" when only a range's major is known
    source: str  # where it was read: "--cli-version", "[types] cli_version", "package.json", ...

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def prints_unformatted(self) -> bool:
        """CLI 3 and later: @supabase/typegen's template as is."""
        return self.major >= 3


def parse_cli_version(value: str, *, source: str) -> CliVersion:
    """A version the user wrote (``3.1.0``, ``v2.117.0``, ``3``); refused unless its major is supported."""
    match = _VERSION.fullmatch(value.strip().removeprefix("v"))
    if match is None:
        raise SupadeployError(f"{source}: '{value}' is not a Supabase CLI version",
                              fix=f"write a version like {NEWEST_SUPPORTED} or 2.117.0", exit_code=2)
    version = ".".join(part for part in match.groups() if part is not None)
    return _supported(CliVersion(version, source))


def _supported(version: CliVersion) -> CliVersion:
    if version.major not in SUPPORTED_MAJORS:
        raise SupadeployError(
            f"Supabase CLI {version.version} (from {version.source}) is not supported for types",
            fix=f"pass --cli-version {NEWEST_SUPPORTED} (CLI 3) or 2.117.0 (CLI 2), or set [types] cli_version",
            exit_code=2)
    return version


def resolve_cli_version(explicit: str | None, configured: str | None, workdir: Path) -> CliVersion:
    """The CLI version whose ``gen types`` output is generated (see the module's docstring for the order)."""
    if explicit:
        return parse_cli_version(explicit, source="--cli-version")
    if configured:
        return parse_cli_version(configured, source="[types] cli_version")
    found = project_cli_version(workdir)
    if found is not None and found.major in SUPPORTED_MAJORS:
        return found
    return CliVersion(NEWEST_SUPPORTED, "newest supported")


def project_cli_version(workdir: Path) -> CliVersion | None:
    """The version of the CLI the project uses, or None when none is found."""
    pinned = package_json_version(workdir)
    if pinned is not None:
        return pinned
    configured = os.environ.get(CLI_VARIABLE, "").strip()
    if configured:
        version = installed_cli_version(Path(configured))
        return CliVersion(version, f"${CLI_VARIABLE}") if version else None
    on_path = shutil.which("supabase")
    if on_path:
        version = installed_cli_version(Path(on_path))
        return CliVersion(version, "supabase on the PATH") if version else None
    return None


def package_json_version(workdir: Path) -> CliVersion | None:
    """``supabase`` in the project's package.json (dependencies or devDependencies): the installed package's
    version when node_modules has it, else the numbers of the version range."""
    document = _read_json(workdir / "package.json")
    if document is None:
        return None
    for section in ("devDependencies", "dependencies"):
        dependencies = document.get(section)
        spec = dependencies.get("supabase") if isinstance(dependencies, dict) else None
        if isinstance(spec, str):
            installed = _read_json(workdir / "node_modules" / "supabase" / "package.json")
            version = installed.get("version") if installed else None
            if isinstance(version, str) and _VERSION.match(version):
                return CliVersion(_numbers(version), "node_modules/supabase")
            match = _VERSION.search(spec)
            return CliVersion(_numbers(match.group()), "package.json") if match else None
    return None


def installed_cli_version(executable: Path) -> str | None:
    """The version of a CLI executable: from the npm package it belongs to, else ``--version``."""
    if not executable.is_file():
        return None
    for folder in executable.resolve().parents:
        document = _read_json(folder / "package.json")
        if document is not None:
            version = document.get("version")
            name = document.get("name")
            is_cli = name == "supabase" or (isinstance(name, str) and name.startswith("@supabase/cli-"))
            if is_cli and isinstance(version, str) and _VERSION.match(version):
                return _numbers(version)
            break
    try:
        completed = subprocess.run([str(executable), "--version"], capture_output=True, text=True,
                                   timeout=VERSION_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(completed.stdout) if completed.returncode == 0 else None
    return _numbers(match.group()) if match else None


def _numbers(version: str) -> str:
    match = _VERSION.match(version.strip().removeprefix("v"))
    return ".".join(part for part in match.groups() if part is not None) if match else version


def _read_json(path: Path) -> dict[str, object] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return document if isinstance(document, dict) else None
