"""Finding the PostgreSQL server binaries (initdb, pg_ctl, postgres) installed on this machine."""

from __future__ import annotations

import glob
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

from supadeploy.errors import SupadeployError

#: Where distribution packages put the server binaries, searched besides ``PATH``.
SEARCH_GLOBS: tuple[str, ...] = (
    "/usr/lib/postgresql/*/bin",  # Debian, Ubuntu
    "/usr/pgsql-*/bin",  # RHEL, Fedora (PGDG)
    "/opt/homebrew/opt/postgresql@*/bin",  # Homebrew, Apple silicon
    "/usr/local/opt/postgresql@*/bin",  # Homebrew, Intel
    "/opt/homebrew/opt/postgresql/bin",
    "/usr/local/opt/postgresql/bin",
    "/Applications/Postgres.app/Contents/Versions/*/bin",
)
SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")

INSTALL_FIX = (
    "Install the PostgreSQL server: `sudo apt-get install postgresql` (Debian/Ubuntu), "
    "`sudo dnf install postgresql-server postgresql-contrib` (Fedora/RHEL) or "
    "`brew install postgresql@15` (macOS); or put the directory holding initdb, pg_ctl and "
    "postgres on PATH."
)


def _is_script(path: Path) -> bool:
    """True for ``#!`` scripts such as Debian's pg_wrapper or site-local wrappers."""
    try:
        with path.open("rb") as fh:
            return fh.read(2) == b"#!"
    except OSError:
        return True


def _server_dir(directory: Path) -> Path | None:
    """The real directory holding the server binaries that ``directory`` offers, if any.

    Symlinks are followed (``/usr/local/bin/pg_ctl -> /usr/lib/postgresql/15/bin/pg_ctl``);
    wrapper scripts are skipped because they may pick another version or switch users.
    """
    try:
        pg_ctl = directory / "pg_ctl"
        if not pg_ctl.is_file():
            return None
        real_dir = pg_ctl.resolve().parent
        for name in SERVER_BINARIES:
            binary = real_dir / name
            if not (binary.is_file() and os.access(binary, os.X_OK)) or _is_script(binary):
                return None
    except OSError:  # e.g. a PATH entry we may not enter
        return None
    return real_dir


def _candidate_dirs() -> Iterator[Path]:
    seen: set[Path] = set()
    path_dirs = [Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    glob_dirs = [Path(p) for pattern in SEARCH_GLOBS for p in sorted(glob.glob(pattern))]
    for directory in [*path_dirs, *glob_dirs]:
        real = _server_dir(directory)
        if real is not None and real not in seen:
            seen.add(real)
            yield real


_VERSION_RE = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


def _binary_version(bindir: Path) -> tuple[int, int] | None:
    """``(major, minor)`` from ``postgres --version``, or None if it does not run."""
    try:
        out = subprocess.run(
            [str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=15, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION_RE.search(out)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2) or 0)


def find_server_binaries(major: int | None = None) -> Path:
    """The directory containing ``initdb``, ``pg_ctl`` and ``postgres``.

    Looks on ``PATH`` and in the usual package locations (:data:`SEARCH_GLOBS`) and picks the
    newest version; with ``major``, only that major version qualifies (an existing data directory
    can only be run by the version that created it).
    """
    found: list[tuple[tuple[int, int], Path]] = []
    for directory in _candidate_dirs():
        version = _binary_version(directory)
        if version is not None and (major is None or version[0] == major):
            found.append((version, directory))
    if not found:
        if major is not None:
            raise SupadeployError(
                f"no PostgreSQL {major} server binaries found (initdb, pg_ctl, postgres)",
                fix=f"The data directory was created by PostgreSQL {major}: install that version "
                f"(e.g. `sudo apt-get install postgresql-{major}` or `brew install postgresql@{major}`), "
                "or reset it by deleting the data directory.",
            )
        raise SupadeployError(
            "no PostgreSQL server binaries found (initdb, pg_ctl, postgres) on PATH or in "
            + ", ".join(SEARCH_GLOBS[:2]),
            fix=INSTALL_FIX,
        )
    # Newest version wins; among equal versions the first found (PATH order) wins.
    best_version = max(version for version, _ in found)
    return next(directory for version, directory in found if version == best_version)
