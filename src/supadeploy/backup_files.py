"""Where pg_dump backups go: a private folder (0700) git does not track, private files (0600), the newest N kept.

A backup of a protected environment holds every row of every table, ``auth.users`` included: it is never
readable by other users of the machine, not even for the moment between creating the file and pg_dump writing
it, and never written where ``git add -A`` would pick it up.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from supadeploy.errors import SupadeployError
from supadeploy.workdir_files import WORK_FOLDER, ensure_work_folder

PRIVATE_FOLDER_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
_OTHERS = 0o077
_BACKUP_NAME = r"-(?P<moment>\d{8}T\d{6}Z)(?:-(?P<number>\d+))?\.dump"


@dataclass(frozen=True)
class BackupFolder:
    path: Path
    notes: tuple[str, ...] = ()
    """What was changed to make the folder private (shown to the user)."""


def safe_environment_name(environment: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", environment)


def backup_file_name(environment: str, now: dt.datetime | None = None) -> str:
    moment = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    return f"{safe_environment_name(environment)}-{moment}.dump"


def prepare_backup_folder(workdir: Path, configured: Path, environment: str) -> BackupFolder:
    """The backup folder (``[push] backup_dir``, relative to the project), created or made private (0700).

    Raises SupadeployError when it cannot be made private, or when git would track a backup written in it."""
    folder = configured if configured.is_absolute() else workdir / configured
    if folder.resolve().is_relative_to((workdir / WORK_FOLDER).resolve()):
        ensure_work_folder(workdir)
    try:
        _create_private(folder)
        notes = _tighten(folder)
    except OSError as error:
        raise SupadeployError(
            f"cannot make the backup folder {folder} private (only you may read it): {error.strerror or error}",
            fix="chmod 700 it yourself, or set [push] backup_dir in supadeploy.toml to a folder you own",
        ) from None
    refuse_tracked_location(folder / backup_file_name(environment))
    return BackupFolder(path=folder, notes=notes)


def _create_private(folder: Path) -> None:
    missing = [path for path in (folder, *folder.parents) if not path.exists()]
    for path in reversed(missing):
        path.mkdir(mode=PRIVATE_FOLDER_MODE, exist_ok=True)  # a fleet prepares it for members at once
        os.chmod(path, PRIVATE_FOLDER_MODE)  # mkdir's mode is filtered by the umask, never widened by it


def _tighten(folder: Path) -> tuple[str, ...]:
    """Make a folder that others can read, and the backups in it, private; say so."""
    mode = stat.S_IMODE(folder.stat().st_mode)
    if not mode & _OTHERS:
        return ()
    os.chmod(folder, PRIVATE_FOLDER_MODE)
    loose = [path for path in folder.glob("*.dump") if stat.S_IMODE(path.stat().st_mode) & _OTHERS]
    for path in loose:
        os.chmod(path, PRIVATE_FILE_MODE)
    return (f"backup folder {folder} was readable by other users (mode {mode:04o}): made it 0700"
            + (f" and {len(loose)} backup file(s) in it 0600" if loose else ""),)


def refuse_tracked_location(path: Path) -> None:
    """Refuse when ``path`` is inside a git work tree and git does not ignore it."""
    top_level = _git(path.parent, "rev-parse", "--show-toplevel")
    if top_level is None or top_level.returncode != 0:
        return  # not in a git work tree (or no git): nothing will commit it
    ignored = _git(path.parent, "check-ignore", "--quiet", "--", str(path))
    if ignored is None or ignored.returncode != 1:
        return  # 0: ignored; 128: outside the work tree (e.g. a symlinked folder)
    root = Path(top_level.stdout.strip())
    try:
        shown = f"{path.parent.resolve().relative_to(root.resolve())}/"
    except ValueError:
        shown = f"{path.parent}/"
    raise SupadeployError(
        f"refusing to write a backup into {path.parent}: it is inside the git work tree {root} and git does not "
        "ignore it, so `git add -A` would commit production data",
        fix=f"add {shown} to {root / '.gitignore'}, or set [push] backup_dir in supadeploy.toml to a folder outside "
            "the repository",
    )


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None


def create_private_file(folder: Path, environment: str) -> Path:
    """A new, empty backup file, 0600 from the moment it exists (O_EXCL: never an existing file)."""
    name = backup_file_name(environment)
    for number in range(1, 100):
        path = folder / (name if number == 1 else name.replace(".dump", f"-{number}.dump"))
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        except FileExistsError:
            continue
        try:
            os.fchmod(descriptor, PRIVATE_FILE_MODE)
        finally:
            os.close(descriptor)
        return path
    raise SupadeployError(f"cannot choose a new backup file name in {folder}",
                          fix="remove old backups from it, or set [push] keep_backups")


def prune_backups(folder: Path, environment: str, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups of ``environment`` in ``folder``; return what was deleted."""
    pattern = re.compile(re.escape(safe_environment_name(environment)) + _BACKUP_NAME)
    backups: list[tuple[str, int, Path]] = []
    for path in folder.iterdir():
        match = pattern.fullmatch(path.name)
        if match and path.is_file():
            backups.append((match.group("moment"), int(match.group("number") or 1), path))
    backups.sort()
    removed = [path for _, _, path in backups[:-keep]] if keep > 0 else []
    for path in removed:
        path.unlink(missing_ok=True)
    return removed
