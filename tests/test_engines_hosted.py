"""Hosted projects: URLs derived from project_ref + SUPABASE_DB_PASSWORD, the session-pooler fallback,
the transaction-pooler refusal and percent-encoding messages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from supadeploy.errors import ConnectionFailed
from supadeploy.hosted import check_url_encoding, connect_hosted, direct_url, refuse_transaction_pooler
from supadeploy.management_api.client import ManagementApiClient
from tests.support.cli import invoke, write_migration
from tests.support.inspect import history_rows
from tests.support.management_api_server import TEST_TOKEN, ManagementApiServer, Project, make_ref

REF = make_ref("hosted")
PASSWORD = "p@ss:w/rd?#%secret"


@pytest.fixture
def server(db_url: str) -> Iterator[ManagementApiServer]:
    # The pooler configuration says transaction mode on 6543; its session port (5432) is the local Postgres.
    with ManagementApiServer([Project(ref=REF, name="hosted", db_url=db_url)]) as running:
        yield running
        assert running.violations == []


def test_direct_url_encodes_the_password() -> None:
    url = direct_url(REF, PASSWORD)
    assert urlsplit(url).hostname == f"db.{REF}.supabase.co"
    assert urlsplit(url).password == "p%40ss%3Aw%2Frd%3F%23%25secret"
    check_url_encoding(url)


def test_falls_back_to_the_session_pooler_when_the_direct_host_is_unreachable(server: ManagementApiServer,
                                                                            db_url: str) -> None:
    probed: list[tuple[str, int]] = []

    def probe(host: str, port: int) -> bool:
        probed.append((host, port))
        return host == "127.0.0.1"

    with ManagementApiClient(TEST_TOKEN, api_url=server.url) as client:
        connection = connect_hosted(REF, PASSWORD, client, probe=probe)
    assert probed == [(f"db.{REF}.supabase.co", 5432), ("127.0.0.1", 5432)]
    assert connection.kind == "session pooler"
    parts = urlsplit(connection.url)
    assert (parts.hostname, parts.port, parts.path) == ("127.0.0.1", 5432, urlsplit(db_url).path)
    assert "not reachable from this machine (it has only an IPv6 address)" in (connection.note or "")
    assert PASSWORD not in connection.description and "p%40ss" not in connection.description
    direct = connect_hosted(REF, PASSWORD, None, probe=lambda host, port: True)
    assert direct.kind == "direct" and direct.note is None


def test_native_push_from_project_ref_and_password(server: ManagementApiServer, project_dir: Path,
                                                   db_url: str) -> None:
    (project_dir / "supadeploy.toml").write_text(f'[environments.staging]\nproject_ref = "{REF}"\n')
    write_migration(project_dir, "001_a.sql", "create table a (id int);\n")
    env = {"SUPABASE_ACCESS_TOKEN": TEST_TOKEN, "SUPADEPLOY_API_URL": server.url, "SUPABASE_DB_PASSWORD": PASSWORD}
    outcome = invoke("push", "--workdir", str(project_dir), "--env", "staging", env=env)
    assert outcome.exit_code == 0, outcome.output
    assert f"note: db.{REF}.supabase.co is not reachable from this machine" in outcome.stderr
    assert [row[0] for row in history_rows(db_url)] == ["001"]
    assert PASSWORD not in outcome.output and "p%40ss" not in outcome.output
    outcome = invoke("push", "--workdir", str(project_dir), "--env", "staging",
                     env={**env, "SUPABASE_ACCESS_TOKEN": ""})
    assert outcome.exit_code == 1
    assert "set SUPABASE_ACCESS_TOKEN so supadeploy can look up the session pooler" in outcome.stderr


def test_transaction_pooler_is_refused_for_push(project_dir: Path) -> None:
    write_migration(project_dir, "001_a.sql", "create table a (id int);\n")
    url = f"postgresql://postgres.{REF}:{'x' * 12}@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url", url)
    assert outcome.exit_code == 1
    assert "is a transaction-mode pooler (port 6543)" in outcome.stderr
    assert "use the session pooler (same host, port 5432)" in outcome.stderr
    assert "x" * 12 not in outcome.output
    with pytest.raises(ConnectionFailed):
        refuse_transaction_pooler("postgresql://u:p@h:5432/db?pgbouncer=true")
    refuse_transaction_pooler("postgresql://u:p@h:5432/db")


@pytest.mark.parametrize(("password", "message"), [
    ("pa/ss", "contains '/', which ends that part of a URL: write it as %2F"),
    ("pa#ss", "contains '#', which ends that part of a URL: write it as %23"),
    ("pa@ss", "contains '@', which ends that part of a URL: write it as %40"),
    ("pa%zzss", "contains a '%' that does not start a %XX escape: write a literal % as %25"),
    ("pa ss", "contains a space: write it as %20"),
])
def test_percent_encoding_mistakes_are_named(project_dir: Path, password: str, message: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table a (id int);\n")
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url",
                     f"postgresql://postgres:{password}@127.0.0.1:5432/postgres")
    assert outcome.exit_code == 1
    assert message in outcome.stderr
    assert password not in outcome.output
