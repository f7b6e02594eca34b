"""An embedded, Supabase-shaped PostgreSQL server for local development.

``supadeploy local start|stop|status|reset`` drives :class:`LocalServer`: it runs the
PostgreSQL server binaries installed on this machine (no Docker) on ``127.0.0.1:54322`` with
user ``postgres`` / password ``postgres``, the same address and credentials as ``supabase start``,
and prepares its ``postgres`` database with :func:`prepare_database` so that migrations written
for Supabase (roles ``anon``/``authenticated``/``service_role``, ``auth.uid()``, ``extensions``
schema, ...) apply unchanged.

This module never prints. It returns :class:`LocalStatus` values and raises
:class:`~supadeploy.errors.SupadeployError` for problems the user can fix.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from supadeploy.errors import SupadeployError

DEFAULT_PORT = 54322
DEFAULT_USER = "postgres"
DEFAULT_PASSWORD = "postgres"
DEFAULT_DATABASE = "postgres"
LISTEN_ADDRESS = "127.0.0.1"
DEFAULT_URL = f"postgresql://{DEFAULT_USER}:{DEFAULT_PASSWORD}@{LISTEN_ADDRESS}:{DEFAULT_PORT}/{DEFAULT_DATABASE}"

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

#: OS users the server runs as when supadeploy itself runs as root (PostgreSQL refuses root).
#: ``SUPADEPLOY_LOCAL_OS_USER`` names another one.
SERVER_OS_USERS = ("postgres", "nobody")
OS_USER_ENV = "SUPADEPLOY_LOCAL_OS_USER"

#: Directory for servers started by root; see :func:`default_data_dir`.
ROOT_STATE_DIR = Path("/var/lib/supadeploy")

CONFIG_FILE = "supadeploy.conf"
LOG_FILE = "supadeploy-server.log"
SOCKET_SUBDIR = "run"
_MAX_SOCKET_PATH = 100  # sun_path is 104-108 bytes; ".s.PGSQL.NNNNN.lock" must fit too
_START_TIMEOUT_S = 60
_CMD_TIMEOUT_S = 120
_LOG_ROTATE_BYTES = 5 * 1024 * 1024

INSTALL_FIX = (
    "Install the PostgreSQL server: `sudo apt-get install postgresql` (Debian/Ubuntu), "
    "`sudo dnf install postgresql-server postgresql-contrib` (Fedora/RHEL) or "
    "`brew install postgresql@15` (macOS); or put the directory holding initdb, pg_ctl and "
    "postgres on PATH."
)


# ----------------------------------------------------------------------------------------------
# Bootstrap SQL
# ----------------------------------------------------------------------------------------------


def supabase_bootstrap_sql() -> str:
    """The text of ``sql/supabase_bootstrap.sql`` shipped with the package."""
    return resources.files("supadeploy").joinpath("sql/supabase_bootstrap.sql").read_text(encoding="utf-8")


def _is_transient(exc: BaseException) -> bool:
    """Errors caused by another session bootstrapping the same cluster at the same moment.

    Roles live cluster-wide, so two databases prepared concurrently race on ``CREATE ROLE``,
    ``GRANT role`` and ``ALTER ROLE ... SET``; running the (idempotent) script again settles it.
    """
    if isinstance(
        exc,
        (
            psycopg.errors.UniqueViolation,
            psycopg.errors.DuplicateObject,
            psycopg.errors.DeadlockDetected,
            psycopg.errors.SerializationFailure,
        ),
    ):
        return True
    return isinstance(exc, psycopg.errors.InternalError_) and "concurrently" in str(exc)


#: How new tables and sequences that ``postgres`` creates in ``public`` are granted to the API roles:
#: "explicit" (Supabase since 2026-10-30 for every project: not at all, migrations GRANT what the app needs)
#: or "legacy" (everything to anon, authenticated and service_role, as projects were prepared before).
GRANTS_MODELS = ("explicit", "legacy")
DEFAULT_GRANTS_MODEL = "explicit"
#: Roles whose new objects in public the default privileges cover (those that exist).
_OBJECT_OWNERS = ("postgres", "supabase_admin")


def check_grants_model(grants_model: str) -> None:
    if grants_model not in GRANTS_MODELS:
        raise SupadeployError(
            f"unknown grants model {grants_model!r}",
            fix=f"Use one of: {', '.join(GRANTS_MODELS)}.",
        )


def default_privileges_sql(grants_model: str = DEFAULT_GRANTS_MODEL) -> str:
    """The ``ALTER DEFAULT PRIVILEGES`` that put a database on ``grants_model`` (see :data:`GRANTS_MODELS`).

    Both models let ``postgres`` use what the owners create and leave functions executable by the API roles;
    they differ on tables and sequences. Running it again switches the model (objects already created keep
    their grants, as on Supabase)."""
    check_grants_model(grants_model)
    api_roles = "anon, authenticated, service_role"
    tables = (f"grant all on %s to postgres, {api_roles}" if grants_model == "legacy"
              else f"revoke all on %s from {api_roles}")
    owners = ", ".join(f"'{owner}'" for owner in _OBJECT_OWNERS)
    return f"""
do $grants_model$
declare
  owner_role text;
begin
  for owner_role in
    select distinct r.rolname from pg_catalog.pg_roles r where r.rolname in ({owners}, current_user)
  loop
    execute format('alter default privileges for role %I in schema public {tables % "tables"}', owner_role);
    execute format('alter default privileges for role %I in schema public {tables % "sequences"}', owner_role);
    execute format('alter default privileges for role %I in schema public grant all on tables to postgres',
                   owner_role);
    execute format('alter default privileges for role %I in schema public grant all on sequences to postgres',
                   owner_role);
    execute format('alter default privileges for role %I in schema public '
                   'grant all on functions to postgres, {api_roles}', owner_role);
  end loop;
end
$grants_model$;
"""


def prepare_database(conninfo: str, *, grants_model: str = DEFAULT_GRANTS_MODEL) -> None:
    """Make the database at ``conninfo`` look like a fresh Supabase project's database.

    Runs :func:`supabase_bootstrap_sql` and :func:`default_privileges_sql` in one transaction (roles
    ``anon``, ``authenticated``, ``service_role``, ``authenticator``; schemas ``extensions``, ``auth``,
    ``storage``; ``auth.users``; ``auth.uid()/role()/email()/jwt()``; ``uuid-ossp`` and ``pgcrypto``;
    Supabase's grants, and the default privileges of ``grants_model``). Idempotent, also when the roles
    already exist in the cluster. Needs a superuser connection.
    """
    script = supabase_bootstrap_sql() + default_privileges_sql(grants_model)

    def run_once() -> None:
        with psycopg.connect(conninfo, connect_timeout=10) as conn:
            conn.execute(script.encode("utf-8"))

    try:
        for attempt in Retrying(
            retry=retry_if_exception(_is_transient),
            stop=stop_after_attempt(8),
            wait=wait_random_exponential(multiplier=0.05, max=1.0),
            reraise=True,
        ):
            with attempt:
                run_once()
    except psycopg.errors.InsufficientPrivilege as exc:
        raise SupadeployError(
            f"cannot prepare the database: {exc.diag.message_primary or exc}",
            fix="Connect as a superuser (e.g. postgres) to prepare a local Supabase-shaped database.",
        ) from exc
    except psycopg.errors.UndefinedFile as exc:
        raise SupadeployError(
            f"cannot prepare the database: {exc.diag.message_primary or exc}",
            fix="Install the PostgreSQL contrib extensions (uuid-ossp, pgcrypto), e.g. "
            "`sudo apt-get install postgresql-contrib`.",
        ) from exc
    except psycopg.OperationalError as exc:
        raise SupadeployError(
            f"cannot connect to prepare the database: {_first_line(str(exc))}",
            fix="Check that the server is running and the URL is right.",
        ) from exc


# ----------------------------------------------------------------------------------------------
# Finding the server binaries
# ----------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------
# Data directory, OS user
# ----------------------------------------------------------------------------------------------


def _is_root() -> bool:
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
    if _is_root():
        return ROOT_STATE_DIR / name
    state_home = os.environ.get("XDG_STATE_HOME", "")
    # The XDG spec ignores relative paths.
    base = Path(state_home) if state_home and Path(state_home).is_absolute() else Path.home() / ".local" / "state"
    return base / "supadeploy" / name


@dataclass(frozen=True)
class _OsUser:
    name: str
    uid: int
    gid: int
    home: str


def _os_user_by_uid(uid: int) -> _OsUser | None:
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        return None
    return _OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir)


def _os_user_by_name(name: str) -> _OsUser | None:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    return _OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir)


def _server_os_user_for_root(data_dir: Path) -> _OsUser:
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


def _traversable_by(path: Path, user: _OsUser) -> bool:
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


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LISTEN_ADDRESS, port))
        except OSError:
            return True
    return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _url(port: int, database: str = DEFAULT_DATABASE) -> str:
    return f"postgresql://{DEFAULT_USER}:{DEFAULT_PASSWORD}@{LISTEN_ADDRESS}:{port}/{database}"


# ----------------------------------------------------------------------------------------------
# The server
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalStatus:
    running: bool
    url: str  # full URL including the password: redact before printing
    data_dir: Path
    port: int
    pid: int | None
    server_version: str | None


@dataclass(frozen=True)
class _PidFile:
    pid: int
    port: int | None
    socket_dir: str | None


class LocalServer:
    """A private PostgreSQL server in ``data_dir``, listening on ``127.0.0.1:<port>`` only.

    * superuser ``postgres`` / password ``postgres``; password (SCRAM) authentication over TCP
      and over the Unix socket;
    * the Unix socket lives in ``<data_dir>/run`` (mode 0700), never in ``/var/run/postgresql``
      where a system cluster keeps its own;
    * settings live in ``<data_dir>/supadeploy.conf`` (rewritten at every start, included from
      ``postgresql.conf``); the server log is ``<data_dir>/supadeploy-server.log``;
    * run as root, the server runs as an unprivileged OS user that owns ``data_dir``
      (see :func:`default_data_dir`).
    """

    def __init__(self, data_dir: Path | None = None, port: int = DEFAULT_PORT,
                 grants_model: str = DEFAULT_GRANTS_MODEL) -> None:
        check_grants_model(grants_model)
        self.port = port
        self.grants_model = grants_model
        chosen = Path(data_dir) if data_dir is not None else default_data_dir(port)
        self.data_dir = Path(os.path.abspath(chosen.expanduser()))

    # -- public API ---------------------------------------------------------------------------

    def start(self) -> LocalStatus:
        """Create the cluster if needed, start it, wait until it accepts connections and create
        and prepare the ``postgres`` database. A no-op when already running."""
        current = self.status()
        if current.running:
            return current
        if _port_in_use(self.port):
            raise SupadeployError(
                f"port {self.port} on {LISTEN_ADDRESS} is already in use by another program",
                where=f"{LISTEN_ADDRESS}:{self.port}",
                fix="Stop the other server (e.g. `supabase stop` or another local PostgreSQL) or choose "
                "another port.",
            )
        existing_major = self._existing_major()
        bindir = find_server_binaries(major=existing_major)
        user = self._server_user()
        self._ensure_data_dir(user)
        if existing_major is None:
            self._initdb(bindir, user)
        socket_dir = self._ensure_socket_dir(user)
        self._write_config(socket_dir, user)
        self._rotate_log()
        self._pg_ctl_start(bindir, user)
        self._wait_accepting()
        self._ensure_database()
        prepare_database(_url(self.port), grants_model=self.grants_model)
        return self.status()

    def stop(self) -> LocalStatus:
        """Stop the server (fast shutdown: open sessions are disconnected). No-op if stopped."""
        current = self.status()
        if not current.running:
            return current
        bindir = find_server_binaries(major=self._existing_major())
        user = self._server_user()
        result = self._run(
            [str(bindir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w",
             "-t", str(_START_TIMEOUT_S)],
            user,
        )
        if result.returncode != 0 and self.status().running:
            raise SupadeployError(
                f"pg_ctl stop failed: {_tail(result.stdout + result.stderr, 5)}",
                where=str(self.data_dir),
                fix=f"Look at {self.data_dir / LOG_FILE}; as a last resort kill process {current.pid}.",
            )
        return self.status()

    def status(self) -> LocalStatus:
        """Whether the server of ``data_dir`` runs, its pid, port and version. Never starts it."""
        pidfile = self._read_pidfile()
        running = pidfile is not None and _pid_alive(pidfile.pid)
        port = pidfile.port if running and pidfile is not None and pidfile.port else self.port
        version = self._server_version(port) if running else None
        return LocalStatus(
            running=running,
            url=_url(port),
            data_dir=self.data_dir,
            port=port,
            pid=pidfile.pid if running and pidfile is not None else None,
            server_version=version,
        )

    def reset(self) -> LocalStatus:
        """Drop and recreate the ``postgres`` database and prepare it again (starting the server
        first if needed). Roles are cluster-wide and survive; re-applying migrations is up to the
        caller."""
        current = self.start()
        try:
            admin_url = _url(current.port, "template1")
            with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
                name = sql.Identifier(DEFAULT_DATABASE)
                if conn.info.server_version >= 130000:
                    conn.execute(sql.SQL("drop database if exists {} with (force)").format(name))
                else:  # pragma: no cover - PostgreSQL 12 and older
                    conn.execute(
                        "select pg_terminate_backend(pid) from pg_stat_activity "
                        "where datname = %s and pid <> pg_backend_pid()",
                        (DEFAULT_DATABASE,),
                    )
                    conn.execute(sql.SQL("drop database if exists {}").format(name))
                conn.execute(sql.SQL("create database {}").format(name))
        except psycopg.Error as exc:
            raise SupadeployError(
                f"could not recreate the {DEFAULT_DATABASE} database: {_first_line(str(exc))}",
                where=f"{LISTEN_ADDRESS}:{current.port}",
                fix="Check the server log and try again.",
            ) from exc
        prepare_database(_url(current.port), grants_model=self.grants_model)
        return self.status()

    # -- helpers ------------------------------------------------------------------------------

    def _existing_major(self) -> int | None:
        try:
            text = (self.data_dir / "PG_VERSION").read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SupadeployError(
                f"cannot read the data directory: {exc.strerror}",
                where=str(self.data_dir),
                fix="Run supadeploy as the user who owns the data directory, or choose another one.",
            ) from exc
        try:
            return int(text.split(".")[0])
        except ValueError as exc:
            raise SupadeployError(
                f"PG_VERSION contains {text!r}, not a PostgreSQL version",
                where=str(self.data_dir / "PG_VERSION"),
                fix="Delete the data directory to start from scratch.",
            ) from exc

    def _server_user(self) -> _OsUser | None:
        """None: run as ourselves. As root: the unprivileged user that owns the data."""
        return _server_os_user_for_root(self.data_dir) if _is_root() else None

    def _run(
        self, args: Sequence[str], user: _OsUser | None, *, new_session: bool = False
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        kwargs: dict[str, Any] = {}
        if user is not None:
            kwargs.update(user=user.uid, group=user.gid, extra_groups=[])
            env.update(HOME=user.home or "/", USER=user.name, LOGNAME=user.name)
        try:
            return subprocess.run(
                list(args),
                capture_output=True,
                text=True,
                env=env,
                cwd="/",
                stdin=subprocess.DEVNULL,
                timeout=_CMD_TIMEOUT_S,
                check=False,
                start_new_session=new_session,
                **kwargs,
            )
        except subprocess.TimeoutExpired as exc:
            raise SupadeployError(
                f"{Path(args[0]).name} did not finish within {_CMD_TIMEOUT_S} s",
                where=str(self.data_dir),
                fix=f"Look at {self.data_dir / LOG_FILE}.",
            ) from exc

    def _chown(self, path: Path, user: _OsUser | None) -> None:
        if user is not None:
            os.chown(path, user.uid, user.gid)

    def _ensure_data_dir(self, user: _OsUser | None) -> None:
        data_dir = self.data_dir
        try:
            if user is not None and data_dir.parent == ROOT_STATE_DIR and not ROOT_STATE_DIR.exists():
                ROOT_STATE_DIR.mkdir(parents=True)
                os.chmod(ROOT_STATE_DIR, 0o755)  # the server user must be able to enter it
            data_dir.parent.mkdir(parents=True, exist_ok=True)
            data_dir.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            raise SupadeployError(
                f"cannot create the data directory: {exc.strerror}",
                where=str(data_dir),
                fix="Choose a data directory you can write to.",
            ) from exc
        if user is None:
            return
        blocked = [p for p in reversed(data_dir.parents) if not _traversable_by(p, user)]
        if blocked:
            raise SupadeployError(
                f"the server runs as OS user {user.name!r} (PostgreSQL refuses root), which cannot "
                f"enter {blocked[0]}",
                where=str(data_dir),
                fix=f"Choose a data directory outside {blocked[0]}, e.g. under {ROOT_STATE_DIR} or one "
                "made with mktemp -d in /tmp.",
            )
        st = data_dir.stat()
        if (st.st_uid, st.st_gid) != (user.uid, user.gid):
            if (data_dir / "PG_VERSION").exists():
                for root, dirs, files in os.walk(data_dir):
                    for name in [*dirs, *files]:
                        os.chown(os.path.join(root, name), user.uid, user.gid, follow_symlinks=False)
            os.chown(data_dir, user.uid, user.gid)
        os.chmod(data_dir, 0o700)

    def _initdb(self, bindir: Path, user: _OsUser | None) -> None:
        if any(self.data_dir.iterdir()):
            raise SupadeployError(
                "the data directory is not empty and holds no PostgreSQL cluster",
                where=str(self.data_dir),
                fix="Empty it, or choose another data directory.",
            )
        fd, pwfile = tempfile.mkstemp(prefix="supadeploy-pw-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(DEFAULT_PASSWORD + "\n")
            self._chown(Path(pwfile), user)
            result = self._run(
                [
                    str(bindir / "initdb"),
                    "-D", str(self.data_dir),
                    "-U", DEFAULT_USER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                user,
            )
        finally:
            with contextlib.suppress(OSError):
                os.unlink(pwfile)
        if result.returncode != 0:
            raise SupadeployError(
                f"initdb failed:\n{_tail(result.stdout + result.stderr)}",
                where=str(self.data_dir),
                fix="Fix the problem above, empty the data directory and start again.",
            )
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a", encoding="utf-8") as fh:
            fh.write(f"\n# Added by supadeploy: its settings (rewritten at every start).\n"
                     f"include_if_exists = '{CONFIG_FILE}'\n")

    def _ensure_socket_dir(self, user: _OsUser | None) -> Path:
        """``<data_dir>/run``; a private directory in /tmp when that path is too long for a socket."""
        socket_dir = self.data_dir / SOCKET_SUBDIR
        if len(str(socket_dir)) + len(f"/.s.PGSQL.{self.port}.lock") > _MAX_SOCKET_PATH:
            owner = user.uid if user is not None else os.geteuid()
            socket_dir = Path(tempfile.gettempdir()) / f"supadeploy-pg-{owner}-{self.port}"
            if socket_dir.is_symlink() or (socket_dir.exists() and socket_dir.stat().st_uid != owner):
                raise SupadeployError(
                    "the socket directory exists but belongs to someone else",
                    where=str(socket_dir),
                    fix="Remove it, or use a shorter data directory path.",
                )
        socket_dir.mkdir(mode=0o700, exist_ok=True)
        self._chown(socket_dir, user)
        os.chmod(socket_dir, 0o700)
        return socket_dir

    def _write_config(self, socket_dir: Path, user: _OsUser | None) -> None:
        text = (
            "# Written by supadeploy at every `supadeploy local start`; edits are lost.\n"
            f"listen_addresses = '{LISTEN_ADDRESS}'\n"
            f"port = {self.port}\n"
            f"unix_socket_directories = '{socket_dir}'\n"
            "unix_socket_permissions = 0700\n"
            "max_connections = 100\n"
            "password_encryption = 'scram-sha-256'\n"
            "timezone = 'UTC'\n"
            "log_timezone = 'UTC'\n"
            "logging_collector = off\n"
        )
        path = self.data_dir / CONFIG_FILE
        path.write_text(text, encoding="utf-8")
        self._chown(path, user)
        os.chmod(path, 0o600)

    def _rotate_log(self) -> None:
        log = self.data_dir / LOG_FILE
        with contextlib.suppress(OSError):
            if log.stat().st_size > _LOG_ROTATE_BYTES:
                os.replace(log, log.with_name(LOG_FILE + ".1"))

    def _log_tail(self) -> str:
        try:
            return _tail((self.data_dir / LOG_FILE).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            return ""

    def _pg_ctl_start(self, bindir: Path, user: _OsUser | None) -> None:
        result = self._run(
            [
                str(bindir / "pg_ctl"), "start",
                "-D", str(self.data_dir),
                "-l", str(self.data_dir / LOG_FILE),
                "-w", "-t", str(_START_TIMEOUT_S),
            ],
            user,
            new_session=True,  # keep the server out of our process group (Ctrl-C in a terminal)
        )
        if result.returncode != 0:
            details = self._log_tail() or _tail(result.stdout + result.stderr)
            raise SupadeployError(
                f"the PostgreSQL server did not start:\n{details}",
                where=str(self.data_dir / LOG_FILE),
                fix="Fix the problem shown in the server log and start again.",
            )

    def _wait_accepting(self) -> None:
        """pg_ctl -w already waited for "ready"; make sure TCP + password auth work too."""
        deadline = time.monotonic() + 15
        while True:
            try:
                with psycopg.connect(_url(self.port, "template1"), connect_timeout=5) as conn:
                    conn.execute("select 1")
                return
            except psycopg.Error as exc:
                if time.monotonic() > deadline:
                    raise SupadeployError(
                        f"the server started but refuses connections: {_first_line(str(exc))}",
                        where=f"{LISTEN_ADDRESS}:{self.port}",
                        fix=f"Look at {self.data_dir / LOG_FILE}.",
                    ) from exc
                time.sleep(0.1)

    def _ensure_database(self) -> None:
        try:
            with psycopg.connect(_url(self.port, "template1"), autocommit=True, connect_timeout=10) as conn:
                exists = conn.execute(
                    "select 1 from pg_database where datname = %s", (DEFAULT_DATABASE,)
                ).fetchone()
                if exists is None:
                    conn.execute(sql.SQL("create database {}").format(sql.Identifier(DEFAULT_DATABASE)))
        except psycopg.Error as exc:
            raise SupadeployError(
                f"could not create the {DEFAULT_DATABASE} database: {_first_line(str(exc))}",
                where=f"{LISTEN_ADDRESS}:{self.port}",
                fix=f"Look at {self.data_dir / LOG_FILE}.",
            ) from exc

    def _read_pidfile(self) -> _PidFile | None:
        path = self.data_dir / "postmaster.pid"
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return None
        except PermissionError as exc:
            raise SupadeployError(
                "cannot read postmaster.pid: permission denied",
                where=str(path),
                fix="Run supadeploy as the user who owns the data directory (or as root).",
            ) from exc
        except OSError:
            return None
        try:
            pid = int(lines[0].strip())
        except (IndexError, ValueError):
            return None
        port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None
        socket_dir = lines[4].strip() if len(lines) > 4 and lines[4].strip() else None
        return _PidFile(pid=pid, port=port, socket_dir=socket_dir)

    @staticmethod
    def _server_version(port: int) -> str | None:
        try:
            with psycopg.connect(_url(port), connect_timeout=3) as conn:
                row = conn.execute("show server_version").fetchone()
        except psycopg.Error:
            return None
        return str(row[0]) if row else None
