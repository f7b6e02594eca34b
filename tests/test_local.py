"""The embedded Supabase-shaped PostgreSQL: prepare_database() and LocalServer."""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from supadeploy import local
from supadeploy.errors import SupadeployError
from supadeploy.local import DEFAULT_PORT, DEFAULT_URL, LocalServer, LocalStatus, binaries, os_user, prepare_database
from tests.support import databases

SUB = "8f9c1b2e-7d4a-4c31-9e55-2b7f0a6d1c03"


def _claims(conn: psycopg.Connection[Any], claims: str) -> None:
    conn.execute("select set_config('request.jwt.claims', %s, true)", (claims,))


# ----------------------------------------------------------------------------------------------
# prepare_database
# ----------------------------------------------------------------------------------------------


def test_bootstrap_sql_is_shipped() -> None:
    text = local.supabase_bootstrap_sql()
    assert "create or replace function auth.uid()" in text
    assert "request.jwt.claims" in text


def test_defaults() -> None:
    assert DEFAULT_PORT == 54322
    assert DEFAULT_URL == "postgresql://postgres:postgres@127.0.0.1:54322/postgres"


def test_roles_have_supabase_attributes(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "select rolname, rolcanlogin, rolinherit, rolbypassrls, rolsuper from pg_roles "
            "where rolname in ('anon', 'authenticated', 'service_role', 'authenticator')"
        ).fetchall()
        roles = {name: (login, inherit, bypass, sup) for name, login, inherit, bypass, sup in rows}
        assert set(roles) == {"anon", "authenticated", "service_role", "authenticator"}
        assert roles["anon"][0] is False and roles["anon"][3] is False
        assert roles["authenticated"][0] is False
        assert roles["service_role"][0] is False and roles["service_role"][2] is True
        assert roles["anon"][2] is False and roles["authenticated"][2] is False
        assert roles["authenticator"][0] is True and roles["authenticator"][1] is False
        members = {
            row[0]
            for row in conn.execute(
                "select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid "
                "join pg_roles u on u.oid = m.member where u.rolname = 'authenticator'"
            )
        }
        assert {"anon", "authenticated", "service_role"} <= members


def test_schemas_tables_and_extensions(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        schemas = {r[0] for r in conn.execute("select nspname from pg_namespace")}
        assert {"auth", "extensions", "storage"} <= schemas
        extensions: dict[str, str] = dict(
            conn.execute(
                "select e.extname, n.nspname from pg_extension e "
                "join pg_namespace n on n.oid = e.extnamespace"
            ).fetchall()
        )
        assert extensions["uuid-ossp"] == "extensions"
        assert extensions["pgcrypto"] == "extensions"
        columns = {
            r[0]: r[1]
            for r in conn.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'auth' and table_name = 'users'"
            )
        }
        assert columns["id"] == "uuid"
        assert columns["raw_user_meta_data"] == "jsonb"
        assert columns["raw_app_meta_data"] == "jsonb"
        for name in ("email", "encrypted_password", "role", "aud", "created_at", "updated_at", "phone"):
            assert name in columns
        # a seed as written for Supabase works
        user_id = uuid.uuid4()
        conn.execute(
            "insert into auth.users (id, email, role, aud, raw_user_meta_data) "
            "values (%s, 'a@example.com', 'authenticated', 'authenticated', '{\"name\": \"A\"}')",
            (user_id,),
        )
        conn.execute("insert into storage.buckets (id, name, public) values ('avatars', 'avatars', true)")
        conn.execute(
            "insert into storage.objects (bucket_id, name, owner) values ('avatars', %s, %s)",
            (f"{user_id}/me.png", user_id),
        )
        row = conn.execute(
            "select (storage.foldername(name))[1], storage.filename(name), storage.extension(name) "
            "from storage.objects"
        ).fetchone()
        assert row == (str(user_id), "me.png", "png")


def test_auth_uid_role_jwt_from_request_jwt_claims(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        assert conn.execute("select auth.uid(), auth.role(), auth.jwt()").fetchone() == (None, None, None)
        conn.execute(
            "set local request.jwt.claims = "
            f"'{{\"sub\":\"{SUB}\",\"role\":\"authenticated\",\"email\":\"a@example.com\"}}'"
        )
        row = conn.execute("select auth.uid(), auth.role(), auth.jwt(), auth.email()").fetchone()
        assert row is not None
        uid, role, jwt, email = row
        assert str(uid) == SUB
        assert role == "authenticated"
        assert jwt == {"sub": SUB, "role": "authenticated", "email": "a@example.com"}
        assert email == "a@example.com"


def test_auth_functions_fall_back_to_legacy_claim_settings(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute(f"set local request.jwt.claim.sub = '{SUB}'")
        conn.execute("set local request.jwt.claim.role = 'service_role'")
        uid, role = conn.execute("select auth.uid(), auth.role()").fetchone()  # type: ignore[misc]
        assert str(uid) == SUB
        assert role == "service_role"
        # the legacy per-claim setting wins over request.jwt.claims, as on Supabase
        _claims(conn, '{"sub": "00000000-0000-0000-0000-000000000000", "role": "anon"}')
        assert str(conn.execute("select auth.uid()").fetchone()[0]) == SUB  # type: ignore[index]


def test_auth_functions_match_supabase_definitions(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "select p.proname, pg_get_function_result(p.oid), p.provolatile, p.proconfig "
            "from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
            "where n.nspname = 'auth' order by 1"
        ).fetchall()
    found = {name: (result, volatile, config) for name, result, volatile, config in rows}
    assert found["uid"][0] == "uuid"
    assert found["role"][0] == "text"
    assert found["jwt"][0] == "jsonb"
    for name in ("uid", "role", "jwt", "email"):
        assert found[name][1] == "s"  # stable
        assert found[name][2] == ['search_path=""']


def test_api_roles_may_call_auth_functions_but_not_read_auth_users(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        for role in ("anon", "authenticated", "service_role"):
            with conn.transaction(force_rollback=True):
                conn.execute(f"set local role {role}")
                _claims(conn, f'{{"sub": "{SUB}", "role": "{role}"}}')
                row = conn.execute("select auth.uid(), auth.role(), auth.jwt() ->> 'sub'").fetchone()
                assert row is not None
                assert (str(row[0]), row[1], row[2]) == (SUB, role, SUB)
        with conn.transaction(force_rollback=True):
            conn.execute("set local role anon")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("select * from auth.users")


def test_anon_can_use_extension_functions(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute("set local role anon")
        row = conn.execute(
            "select extensions.uuid_generate_v4(), extensions.gen_random_uuid(), "
            "extensions.crypt('secret', extensions.gen_salt('bf', 4))"
        ).fetchone()
        assert row is not None
        assert isinstance(row[0], uuid.UUID) and isinstance(row[1], uuid.UUID)
        assert row[2].startswith("$2")
        check = conn.execute("select extensions.crypt('secret', %s) = %s", (row[2], row[2])).fetchone()
        assert check == (True,)


def test_new_public_objects_are_granted_to_api_roles(legacy_db_url: str) -> None:
    """On the legacy grants model (the explicit one is tests/test_grants_model.py)."""
    with psycopg.connect(legacy_db_url) as conn:
        conn.execute(
            "create table public.notes (id bigint generated by default as identity primary key, body text)"
        )
        conn.execute("create function public.answer() returns int language sql as 'select 42'")
        conn.execute("insert into public.notes (body) values ('hi')")
        for role in ("anon", "authenticated", "service_role"):
            row = conn.execute(
                "select has_table_privilege(%s, 'public.notes', 'select'), "
                "has_table_privilege(%s, 'public.notes', 'insert'), "
                "has_sequence_privilege(%s, 'public.notes_id_seq', 'usage'), "
                "has_function_privilege(%s, 'public.answer()', 'execute')",
                (role, role, role, role),
            ).fetchone()
            assert row == (True, True, True, True), role
        conn.execute("set local role anon")
        assert conn.execute("select body from public.notes").fetchall() == [("hi",)]
        conn.execute("insert into public.notes (body) values ('from anon')")


def test_unqualified_extension_functions_resolve_for_postgres(db_url: str) -> None:
    """Supabase puts `extensions` on the postgres role's search_path; migrations rely on it."""
    with psycopg.connect(db_url) as conn:
        conn.execute("create table public.things (id uuid primary key default uuid_generate_v4())")
        conn.execute("insert into public.things default values")


def test_prepare_is_idempotent(db_url: str, pg_admin_url: str) -> None:
    prepare_database(db_url)  # the template already ran it once
    prepare_database(db_url)
    empty = databases.create_empty_database(pg_admin_url)
    try:
        prepare_database(empty)
        prepare_database(empty)
        with psycopg.connect(empty) as conn:
            count = conn.execute("select count(*) from pg_extension where extname = 'pgcrypto'").fetchone()
            assert count == (1,)
    finally:
        databases.drop_database(pg_admin_url, empty)


def test_prepare_concurrently_on_one_cluster(pg_admin_url: str) -> None:
    """Roles are cluster-global: several databases prepared at once must not trip over each other."""
    urls = [databases.create_empty_database(pg_admin_url) for _ in range(3)]
    errors: list[BaseException] = []

    def work(url: str) -> None:
        try:
            prepare_database(url)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(url,)) for url in urls]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
    finally:
        for url in urls:
            databases.drop_database(pg_admin_url, url)


def test_prepare_unreachable_database_is_a_user_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SupadeployError, match="cannot connect"):
        prepare_database(f"postgresql://postgres:postgres@127.0.0.1:{port}/postgres?connect_timeout=2")


# ----------------------------------------------------------------------------------------------
# Finding binaries, data directory
# ----------------------------------------------------------------------------------------------


def test_no_binaries_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(binaries, "SEARCH_GLOBS", ())
    with pytest.raises(SupadeployError) as info:
        local.find_server_binaries()
    assert "apt-get install postgresql" in str(info.value)
    assert "brew install postgresql@" in str(info.value)


def test_wrapper_scripts_are_not_server_binaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("initdb", "pg_ctl", "postgres"):
        script = tmp_path / name
        script.write_text("#!/bin/sh\nexec /usr/share/postgresql-common/pg_wrapper \"$@\"\n")
        script.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(binaries, "SEARCH_GLOBS", ())
    with pytest.raises(SupadeployError, match="no PostgreSQL server binaries"):
        local.find_server_binaries()


@pytest.fixture(scope="module")
def real_bindir() -> Path:
    try:
        return local.find_server_binaries()
    except SupadeployError:
        pytest.skip("no PostgreSQL server binaries installed")


def test_symlinked_binaries_on_path_resolve_to_their_directory(
    real_bindir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("initdb", "pg_ctl", "postgres"):
        (tmp_path / name).symlink_to(real_bindir / name)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(binaries, "SEARCH_GLOBS", ())
    assert local.find_server_binaries() == real_bindir.resolve()


def test_newest_version_wins_and_major_filters(monkeypatch: pytest.MonkeyPatch) -> None:
    dirs = {Path("/pg/14/bin"): (14, 11), Path("/pg/16/bin"): (16, 2), Path("/pg/15/bin"): (15, 6)}
    monkeypatch.setattr(binaries, "_candidate_dirs", lambda: iter(dirs))
    monkeypatch.setattr(binaries, "_binary_version", lambda d: dirs[d])
    assert local.find_server_binaries() == Path("/pg/16/bin")
    assert local.find_server_binaries(major=15) == Path("/pg/15/bin")
    with pytest.raises(SupadeployError, match="no PostgreSQL 13 server binaries"):
        local.find_server_binaries(major=13)


def test_default_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert local.default_data_dir() == tmp_path / "supadeploy" / "postgres-54322"
    assert local.default_data_dir(5555) == tmp_path / "supadeploy" / "postgres-5555"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert local.default_data_dir() == tmp_path / ".local" / "state" / "supadeploy" / "postgres-54322"
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert local.default_data_dir() == Path("/var/lib/supadeploy/postgres-54322")
    assert LocalServer().data_dir == Path("/var/lib/supadeploy/postgres-54322")


def test_root_without_an_unprivileged_user_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.delenv(local.OS_USER_ENV, raising=False)
    monkeypatch.setattr(os_user, "SERVER_OS_USERS", ("no-such-user-supadeploy",))
    with pytest.raises(SupadeployError, match="cannot run as root") as info:
        os_user.server_os_user_for_root(tmp_path / "pg")
    assert local.OS_USER_ENV in str(info.value)
    monkeypatch.setenv(local.OS_USER_ENV, "no-such-user-supadeploy")
    with pytest.raises(SupadeployError, match="does not name an existing"):
        os_user.server_os_user_for_root(tmp_path / "pg")


def test_status_of_a_server_never_started(tmp_path: Path) -> None:
    status = LocalServer(data_dir=tmp_path / "nothing", port=54999).status()
    assert status == LocalStatus(
        running=False,
        url="postgresql://postgres:postgres@127.0.0.1:54999/postgres",
        data_dir=tmp_path / "nothing",
        port=54999,
        pid=None,
        server_version=None,
    )


# ----------------------------------------------------------------------------------------------
# LocalServer lifecycle (real server on a free port)
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def scratch_dir() -> Iterator[Path]:
    """A fresh directory under the system temp dir (as root, pytest's tmp_path is not
    traversable by the unprivileged server user)."""
    path = Path(tempfile.mkdtemp(prefix="supadeploy-test-local-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(real_bindir: Path, scratch_dir: Path, free_port: int) -> Iterator[LocalServer]:
    srv = LocalServer(data_dir=scratch_dir, port=free_port)
    yield srv
    srv.stop()


def _public_tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("select tablename from pg_tables where schemaname = 'public'")]


def test_lifecycle(server: LocalServer, free_port: int) -> None:
    started = server.start()
    assert started.running
    assert started.port == free_port
    assert started.url == f"postgresql://postgres:postgres@127.0.0.1:{free_port}/postgres"
    assert started.pid is not None and started.pid > 0
    assert started.server_version is not None
    assert started.data_dir == server.data_dir
    if os.geteuid() == 0:
        assert server.data_dir.stat().st_uid != 0  # the server runs as an unprivileged user

    with psycopg.connect(started.url) as conn:  # password auth over TCP
        settings: dict[str, str] = dict(
            conn.execute(
                "select name, setting from pg_settings where name in "
                "('listen_addresses', 'unix_socket_directories', 'max_connections', 'port')"
            ).fetchall()
        )
        assert settings["listen_addresses"] == "127.0.0.1"
        assert settings["port"] == str(free_port)
        assert int(settings["max_connections"]) >= 100
        assert settings["unix_socket_directories"] != "/var/run/postgresql"
        assert "/var/run/postgresql" not in settings["unix_socket_directories"]
        assert conn.execute("select to_regprocedure('auth.uid()') is not null").fetchone() == (True,)
        conn.execute("create table public.leftover (id int)")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(started.url.replace("postgres:postgres@", "postgres:wrong@"), connect_timeout=5)

    assert server.status().running
    again = server.start()  # no-op
    assert again.running and again.pid == started.pid

    reset = server.reset()
    assert reset.running and reset.pid == started.pid
    assert _public_tables(reset.url) == []
    with psycopg.connect(reset.url) as conn:
        _claims(conn, f'{{"sub": "{SUB}"}}')
        assert str(conn.execute("select auth.uid()").fetchone()[0]) == SUB  # type: ignore[index]

    stopped = server.stop()
    assert not stopped.running
    assert stopped.pid is None and stopped.server_version is None
    assert not server.status().running
    assert not server.stop().running  # no-op

    restarted = server.start()  # existing cluster, no initdb
    assert restarted.running and restarted.pid != started.pid
    assert _public_tables(restarted.url) == []


def test_start_on_a_busy_port_is_a_user_error(real_bindir: Path, scratch_dir: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(SupadeployError, match=f"port {port}"):
            LocalServer(data_dir=scratch_dir / "pg", port=port).start()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the server to another OS user")
def test_root_data_dir_the_server_user_cannot_enter(
    real_bindir: Path, scratch_dir: Path, free_port: int
) -> None:
    # scratch_dir is mode 0700 and belongs to root, like everything under /root
    with pytest.raises(SupadeployError, match=f"cannot enter {re.escape(str(scratch_dir))}"):
        LocalServer(data_dir=scratch_dir / "pg", port=free_port).start()
    assert not (scratch_dir / "pg" / "PG_VERSION").exists()
