"""supadeploy's own folder in a project, ``.supadeploy/``, and keeping it out of git.

It holds pg_dump backups of protected environments (every row, ``auth.users`` included), so it must never be
committed: ``init`` adds it to the project's ``.gitignore``, and whoever creates the folder also writes a
``.gitignore`` of ``*`` into it (the way pytest and ruff mark their caches), which git honours even when the
project's ``.gitignore`` was never written.
"""

from __future__ import annotations

from pathlib import Path

from supadeploy.errors import SupadeployError

WORK_FOLDER = ".supadeploy"
GITIGNORE_ENTRY = f"{WORK_FOLDER}/"
_SELF_IGNORE = "# Written by supadeploy: backups hold production data and must never be committed.\n*\n"
_ENTRY_COMMENT = "# supadeploy: backups of protected environments (production data)"


def ensure_work_folder(workdir: Path) -> Path:
    """``<workdir>/.supadeploy/``, created private (0700) if missing, always holding its self-ignoring
    ``.gitignore``."""
    folder = workdir / WORK_FOLDER
    marker = folder / ".gitignore"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        if not marker.exists():
            marker.write_text(_SELF_IGNORE, encoding="utf-8")
    except OSError as error:
        raise _cannot_write(marker, error) from None
    return folder


def ensure_gitignore_entry(workdir: Path) -> bool:
    """Add ``.supadeploy/`` to ``<workdir>/.gitignore`` unless a line already names it; True when it was added.

    The rest of the file is kept byte for byte."""
    path = workdir / ".gitignore"
    try:
        existing = path.read_bytes().decode("utf-8", "surrogateescape") if path.exists() else ""
        if any(_names_work_folder(line) for line in existing.splitlines()):
            return False
        separator = "" if not existing or existing.endswith("\n") else "\n"
        text = f"{existing}{separator}{_ENTRY_COMMENT}\n{GITIGNORE_ENTRY}\n"
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
    except OSError as error:
        raise _cannot_write(path, error) from None
    return True


def _names_work_folder(line: str) -> bool:
    return line.strip().strip("/") == WORK_FOLDER


def _cannot_write(path: Path, error: OSError) -> SupadeployError:
    return SupadeployError(f"cannot write {path}: {error.strerror or error}",
                           fix=f"check the permissions of {path.parent}, or add {GITIGNORE_ENTRY} to .gitignore "
                               "yourself")
