"""`supadeploy local start|status|reset|stop` end to end, then a push against it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.support.cli import invoke
from tests.support.databases import _free_port
from tests.support.inspect import history_rows, scalar, tables


@pytest.fixture
def local_args() -> Iterator[list[str]]:
    data_dir = Path(tempfile.mkdtemp(prefix="supadeploy-local-cli-"))
    args = ["--port", str(_free_port()), "--data-dir", str(data_dir)]
    yield args
    invoke("local", "stop", *args)
    shutil.rmtree(data_dir, ignore_errors=True)


def test_local_lifecycle_and_reset_reapplies_migrations(local_args: list[str], tmp_path: Path) -> None:
    shutil.copytree(REPO_ROOT / "supabase", tmp_path / "supabase")
    stopped = invoke("local", "status", *local_args)
    assert stopped.exit_code == 1
    assert "stopped" in stopped.stdout

    started = invoke("local", "start", *local_args, "--json")
    assert started.exit_code == 0, started.output
    status = started.json()
    assert status["running"] is True
    assert status["url"].startswith("postgresql://postgres:****@127.0.0.1:")
    url = status["url"].replace("****", "postgres")

    pushed = invoke("push", "--workdir", str(tmp_path), "--db-url", url)
    assert pushed.exit_code == 0, pushed.output
    assert len(history_rows(url)) == 5
    assert scalar(url, "select rolbypassrls from pg_roles where rolname = 'service_role'") is True

    with_extra = scalar(url, "insert into auth.users (id, email) values (extensions.gen_random_uuid(), 'a@b.c') "
                             "returning email")
    assert with_extra == "a@b.c"
    reset = invoke("local", "reset", *local_args, "--workdir", str(tmp_path), "--yes")
    assert reset.exit_code == 0, reset.output
    assert "Applied 5 migration(s)" in reset.stdout
    assert scalar(url, "select count(*) from auth.users") == 0
    assert len(history_rows(url)) == 5
    assert "trades" in tables(url)

    status_text = invoke("local", "status", *local_args)
    assert status_text.exit_code == 0
    assert "running" in status_text.stdout
    assert ":postgres@" not in status_text.stdout

    stop = invoke("local", "stop", *local_args)
    assert stop.exit_code == 0
    assert invoke("local", "status", *local_args).exit_code == 1


def test_reset_needs_yes_when_not_interactive(local_args: list[str], tmp_path: Path) -> None:
    (tmp_path / "supabase" / "migrations").mkdir(parents=True)
    outcome = invoke("local", "reset", *local_args, "--workdir", str(tmp_path))
    assert outcome.exit_code == 1
    assert "--yes" in outcome.stderr
