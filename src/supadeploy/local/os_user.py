"""The data directory's default place and the OS user the server runs as (PostgreSQL refuses root)."""

from __future__ import annotations

import contextlib
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

from supadeploy.errors import SupadeployError
from supadeploy.local.address import DEFAULT_PORT

#: OS users the server runs as when supadeploy itself runs as root (PostgreSQL refuses root).
#: ``SUPADEPLOY_LOCAL_OS_USER`` names another one.
SERVER_OS_USERS = ("postgres", "nobody")
OS_USER_ENV = "SUPADEPLOY_LOCAL_OS_USER"

#: Directory for servers started by root; see :func:`default_data_dir`.
ROOT_STATE_DIR = Path("/var/lib/supadeploy")


def is_root() -> bool:
    return os.geteuid() == 0


def default_data_dir(port: int = DEFAULT_PORT) -> Path:
    """Where the local server keeps its data when no directory is given.

    * Normal users: ``$XDG_STATE_HOME/supadeploy/postgres-<port>``, i.e. by default
      ``~/.local/state/supadeploy/postgres-<port>``.
    * root: ``/var/lib/supadeploy/postgres-<port>``. PostgreSQL refuses to run as root, so the
      server runs as an unprivileged OS user (see :data:`SERVER_OS_USERS`), and that user cannot
      enter ``/root`` (mode 0700). ``/var/lib/supadeploy`` is created world-traversable (0755) and
      the data directory inside it belongs to the server user (0700). It survives reboots,
      unlike a directory under ``/tmp``.
    """
    name = f"postgres-{port}"
    if is_root():
        return ROOT_STATE_DIR / name
    state_home = os.environ.get("XDG_STATE_HOME", "")
    # The XDG spec ignores relative paths.
    base = Path(state_home) if state_home and Path(state_home).is_absolute() else Path.home() / ".local" / "state"
    return base / "supadeploy" / name


@dataclass(frozen=True)
class OsUser:
    name: str
    uid: int
    gid: int
    home: str


def _os_user_by_uid(uid: int) -> OsUser | None:
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        return None
    return OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir)


def _os_user_by_name(name: str) -> OsUser | None:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    return OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir)


def server_os_user_for_root(data_dir: Path) -> OsUser:
    """The unprivileged user a root-invoked server runs as.

    An existing data directory keeps its owner; otherwise ``$SUPADEPLOY_LOCAL_OS_USER``, then
    ``postgres`` (created by the distribution's PostgreSQL packages), then ``nobody``.
    """
    with contextlib.suppress(OSError):
        owner_uid = data_dir.stat().st_uid
        if owner_uid != 0 and (data_dir / "PG_VERSION").exists():
            owner = _os_user_by_uid(owner_uid)
            if owner is not None:
                return owner
    configured = os.environ.get(OS_USER_ENV, "").strip()
    if configured:
        user = _os_user_by_name(configured)
        if user is None or user.uid == 0:
            raise SupadeployError(
                f"{OS_USER_ENV}={configured} does not name an existing non-root OS user",
                fix=f"Set {OS_USER_ENV} to an existing unprivileged user (e.g. postgres), or unset it.",
            )
        return user
    for name in SERVER_OS_USERS:
        user = _os_user_by_name(name)
        if user is not None and user.uid != 0:
            return user
    raise SupadeployError(
        "PostgreSQL cannot run as root and no unprivileged OS user to run it as was found "
        f"(tried {', '.join(SERVER_OS_USERS)})",
        fix=f"Create one (e.g. `useradd --system postgres`) or set {OS_USER_ENV} to an existing "
        "unprivileged user; or run supadeploy as a normal user.",
    )


def traversable_by(path: Path, user: OsUser) -> bool:
    """Can ``user`` enter ``path``? Checked from mode bits because we are root (os.access lies)."""
    try:
        st = path.stat()
    except OSError:
        return False
    if st.st_uid == user.uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == user.gid or st.st_gid in os.getgrouplist(user.name, user.gid):
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)
