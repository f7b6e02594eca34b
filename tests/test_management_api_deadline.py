"""A Management API that accepts connections and never answers, or asks to wait an hour: the command ends at its
deadline ($SUPADEPLOY_API_DEADLINE) with one line naming the URL, and says when it waits."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from supadeploy.errors import ConfigError
from supadeploy.management_api.client import ManagementApiClient
from supadeploy.management_api.deadline import deadline_seconds
from supadeploy.management_api.errors import DeadlineExceeded
from tests.support.cli import run_process, write_migration
from tests.support.management_api_server import TEST_TOKEN, ManagementApiServer, Project, make_ref

REF = make_ref("deadline")


class SilentServer:
    """Accepts every connection, reads nothing, answers nothing."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self.connections.append(connection)

    def close(self) -> None:
        self._listener.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def silent_api() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def api_env(url: str, deadline: str) -> dict[str, str]:
    return {"SUPABASE_ACCESS_TOKEN": TEST_TOKEN, "SUPADEPLOY_API_URL": url, "SUPADEPLOY_API_DEADLINE": deadline}


def test_projects_stops_at_the_deadline_naming_the_url(silent_api: SilentServer, tmp_path: Path) -> None:
    started = time.monotonic()
    outcome = run_process("projects", "--workdir", str(tmp_path), env=api_env(silent_api.url, "1.5"), timeout=30)
    elapsed = time.monotonic() - started
    assert outcome.exit_code == 1
    assert outcome.stderr.splitlines()[0] == (
        f"error: no answer from the Management API at {silent_api.url}/v1/projects for 1.5s: ReadTimeout: timed out")
    assert "SUPADEPLOY_API_DEADLINE sets how long to wait" in outcome.stderr
    assert "Traceback" not in outcome.output
    assert TEST_TOKEN not in outcome.output
    assert 1.5 <= elapsed < 15
    assert silent_api.connections  # it did connect: the wait was for an answer


def test_projects_json_prints_one_document(silent_api: SilentServer, tmp_path: Path) -> None:
    outcome = run_process("projects", "--workdir", str(tmp_path), "--json", env=api_env(silent_api.url, "1"),
                          timeout=30)
    assert outcome.exit_code == 1
    error = outcome.json()["error"]
    assert error["message"] == (f"no answer from the Management API at {silent_api.url}/v1/projects for 1s: "
                                "ReadTimeout: timed out")


def test_push_engine_api_stops_at_the_deadline(silent_api: SilentServer, project_dir: Path) -> None:
    (project_dir / "supadeploy.toml").write_text(f'[environments.staging]\nproject_ref = "{REF}"\n',
                                                 encoding="utf-8")
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    started = time.monotonic()
    outcome = run_process("push", "--workdir", str(project_dir), "--env", "staging", "--engine", "api",
                          env=api_env(silent_api.url, "1.5"), timeout=30)
    assert outcome.exit_code == 1
    assert f"no answer from the Management API at {silent_api.url}/v1/projects/{REF}/" in outcome.stderr
    assert "for 1.5s" in outcome.stderr
    assert "Traceback" not in outcome.output
    assert time.monotonic() - started < 15


class FakeTime:
    """sleep() moves the clock: long waits cost nothing, and the deadline sees them."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def api_server(db_url: str) -> Iterator[ManagementApiServer]:
    with ManagementApiServer([Project(ref=REF, name="deadline", db_url=db_url)]) as running:
        yield running


def test_retry_after_of_an_hour_is_capped_shown_and_ends_at_the_deadline(api_server: ManagementApiServer) -> None:
    fake = FakeTime()
    notices: list[str] = []
    api_server.faults.status(429, retry_after=3600, times=10)
    client = ManagementApiClient(TEST_TOKEN, api_url=api_server.url, sleep=fake.sleep, clock=fake.clock,
                                 on_wait=notices.append)
    with pytest.raises(DeadlineExceeded) as caught:
        client.list_projects()
    client.close()
    assert fake.sleeps == [60.0]  # capped at 60 s; a second 60 s wait would outlast the 120 s deadline
    assert notices == ["the Management API asked to wait 3600s (429, Retry-After); waiting 60s"]
    assert caught.value.what == (f"no answer from the Management API at {api_server.url}/v1/projects for 120s: "
                                 "it asks to wait 3600s more")


def test_a_short_retry_after_is_waited_for_and_shown(api_server: ManagementApiServer) -> None:
    fake = FakeTime()
    notices: list[str] = []
    api_server.faults.status(429, retry_after=3, endpoint="GET /v1/projects")
    client = ManagementApiClient(TEST_TOKEN, api_url=api_server.url, sleep=fake.sleep, clock=fake.clock,
                                 on_wait=notices.append)
    assert [project.ref for project in client.list_projects()] == [REF]
    client.close()
    assert fake.sleeps == [3.0]
    assert notices == ["the Management API asked to wait 3s (429, Retry-After); waiting"]


def test_retry_after_of_an_hour_through_the_cli(api_server: ManagementApiServer, tmp_path: Path) -> None:
    api_server.faults.status(429, retry_after=3600, times=10)
    started = time.monotonic()
    outcome = run_process("projects", "--workdir", str(tmp_path), env=api_env(api_server.url, "30"), timeout=30)
    assert outcome.exit_code == 1
    assert outcome.stderr.splitlines()[0] == (
        f"error: no answer from the Management API at {api_server.url}/v1/projects for 30s: "
        "it asks to wait 3600s more")
    assert time.monotonic() - started < 15  # the 60 s wait would outlast the deadline: no point starting it


def test_the_deadline_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUPADEPLOY_API_DEADLINE", raising=False)
    assert deadline_seconds(read_timeout=30) == 120
    assert deadline_seconds(read_timeout=600) == 600  # [api] timeout = "600s" for long migrations still works
    monkeypatch.setenv("SUPADEPLOY_API_DEADLINE", "5min")
    assert deadline_seconds(read_timeout=30) == 300
    monkeypatch.setenv("SUPADEPLOY_API_DEADLINE", "soon")
    with pytest.raises(ConfigError, match="'soon' is not a duration"):
        deadline_seconds(read_timeout=30)
