"""The local server's lifecycle: start, stop, status and reset of a private PostgreSQL in a data directory."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from supadeploy.errors import SupadeployError
from supadeploy.local.address import (
    DEFAULT_DATABASE,
    DEFAULT_PASSWORD,
    DEFAULT_PORT,
    DEFAULT_USER,
    LISTEN_ADDRESS,
    server_url,
)
from supadeploy.local.binaries import find_server_binaries
from supadeploy.local.bootstrap import DEFAULT_GRANTS_MODEL, check_grants_model, prepare_database
from supadeploy.local.os_user import (
    ROOT_STATE_DIR,
    OsUser,
    default_data_dir,
    is_root,
    server_os_user_for_root,
    traversable_by,
)
from supadeploy.local.output import first_line, tail

CONFIG_FILE = "supadeploy.conf"
LOG_FILE = "supadeploy-server.log"
SOCKET_SUBDIR = "run"
_MAX_SOCKET_PATH = 100  # sun_path is 104-108 bytes; ".s.PGSQL.NNNNN.lock" must fit too
_START_TIMEOUT_S = 60
_CMD_TIMEOUT_S = 120
_LOG_ROTATE_BYTES = 5 * 1024 * 1024


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
        self.grants_model = grants_model
        self.port = port
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
        prepare_database(server_url(self.port), grants_model=self.grants_model)
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
                f"pg_ctl stop failed: {tail(result.stdout + result.stderr, 5)}",
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
            url=server_url(port),
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
            admin_url = server_url(current.port, "template1")
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
                f"could not recreate the {DEFAULT_DATABASE} database: {first_line(str(exc))}",
                where=f"{LISTEN_ADDRESS}:{current.port}",
                fix="Check the server log and try again.",
            ) from exc
        prepare_database(server_url(current.port), grants_model=self.grants_model)
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

    def _server_user(self) -> OsUser | None:
        """None: run as ourselves. As root: the unprivileged user that owns the data."""
        return server_os_user_for_root(self.data_dir) if is_root() else None

    def _run(
        self, args: Sequence[str], user: OsUser | None, *, new_session: bool = False
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

    def _chown(self, path: Path, user: OsUser | None) -> None:
        if user is not None:
            os.chown(path, user.uid, user.gid)

    def _ensure_data_dir(self, user: OsUser | None) -> None:
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
        blocked = [p for p in reversed(data_dir.parents) if not traversable_by(p, user)]
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

    def _initdb(self, bindir: Path, user: OsUser | None) -> None:
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
                f"initdb failed:\n{tail(result.stdout + result.stderr)}",
                where=str(self.data_dir),
                fix="Fix the problem above, empty the data directory and start again.",
            )
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a", encoding="utf-8") as fh:
            fh.write(f"\n# Added by supadeploy: its settings (rewritten at every start).\n"
                     f"include_if_exists = '{CONFIG_FILE}'\n")

    def _ensure_socket_dir(self, user: OsUser | None) -> Path:
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

    def _write_config(self, socket_dir: Path, user: OsUser | None) -> None:
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
            return tail((self.data_dir / LOG_FILE).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            return ""

    def _pg_ctl_start(self, bindir: Path, user: OsUser | None) -> None:
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
            details = self._log_tail() or tail(result.stdout + result.stderr)
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
                with psycopg.connect(server_url(self.port, "template1"), connect_timeout=5) as conn:
                    conn.execute("select 1")
                return
            except psycopg.Error as exc:
                if time.monotonic() > deadline:
                    raise SupadeployError(
                        f"the server started but refuses connections: {first_line(str(exc))}",
                        where=f"{LISTEN_ADDRESS}:{self.port}",
                        fix=f"Look at {self.data_dir / LOG_FILE}.",
                    ) from exc
                time.sleep(0.1)

    def _ensure_database(self) -> None:
        try:
            with psycopg.connect(server_url(self.port, "template1"), autocommit=True, connect_timeout=10) as conn:
                exists = conn.execute(
                    "select 1 from pg_database where datname = %s", (DEFAULT_DATABASE,)
                ).fetchone()
                if exists is None:
                    conn.execute(sql.SQL("create database {}").format(sql.Identifier(DEFAULT_DATABASE)))
        except psycopg.Error as exc:
            raise SupadeployError(
                f"could not create the {DEFAULT_DATABASE} database: {first_line(str(exc))}",
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
            with psycopg.connect(server_url(port), connect_timeout=3) as conn:
                row = conn.execute("show server_version").fetchone()
        except psycopg.Error:
            return None
        return str(row[0]) if row else None
