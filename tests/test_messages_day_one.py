"""Messages of issue 15 §7 that the first day still met, each read as the user reads it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.cli import invoke

CORPUS = Path(__file__).parent / "corpus" / "rls"

FAILING_PROBE = """
[[probes]]
name = "bob reads alice's note"
role = "authenticated"
claims = { sub = "00000000-0000-0000-0000-0000000000b0" }
setup = "insert into public.notes (owner, body) values ('00000000-0000-0000-0000-0000000000a1', 'alice')"
query = "select * from public.notes"
expect_rows = 1
"""


@pytest.fixture
def project_with_a_failing_probe(project_dir: Path, db_url: str) -> Path:
    shutil.copy(CORPUS / "001_notes.sql", project_dir / "supabase" / "migrations" / "001_notes.sql")
    assert invoke("push", "--yes", "--db-url", db_url, "--workdir", str(project_dir)).exit_code == 0
    assert invoke("verify", "--write-manifest", "--db-url", db_url, "--workdir", str(project_dir)).exit_code == 0
    manifest = project_dir / "supabase" / "policies.toml"
    manifest.write_text(manifest.read_text() + FAILING_PROBE)
    return project_dir


def test_a_failed_probe_is_reported_as_a_failed_probe_not_a_finding(project_with_a_failing_probe: Path,
                                                                   db_url: str) -> None:
    project = project_with_a_failing_probe
    outcome = invoke("verify", "--db-url", db_url, "--workdir", str(project))
    assert outcome.exit_code == 1
    assert "FAIL  bob reads alice's note (as authenticated): expected 1 row, got no rows" in outcome.stdout
    assert "0 errors, 0 warnings, 0 info, probes: 0 passed, 1 failed." in outcome.stdout
    assert outcome.stderr.strip() == (
        "error: verify failed: 1 probe failed (bob reads alice's note: fix the policy the probe exercises, "
        "or the probe in the manifest)")

    as_json = invoke("verify", "--json", "--db-url", db_url, "--workdir", str(project))
    assert as_json.exit_code == 1
    document = as_json.json()
    assert document["ok"] is False
    assert document["findings"] == []
    assert document["summary"]["error"] == 0 and document["summary"]["probes_failed"] == 1
    assert [probe["name"] for probe in document["probes"] if not probe["passed"]] == ["bob reads alice's note"]


def test_push_counts_a_failed_probe_apart_and_still_fails(project_with_a_failing_probe: Path, db_url: str) -> None:
    project = project_with_a_failing_probe
    (project / "supabase" / "migrations" / "002_more.sql").write_text("create table public.more (id int);\n"
                                                                       "alter table public.more enable row level "
                                                                       "security;\n")
    outcome = invoke("push", "--yes", "--json", "--db-url", db_url, "--workdir", str(project), after_push=True)
    assert outcome.exit_code == 3, outcome.output
    document = outcome.json()
    assert document["ok"] is False
    assert document["verify_failing"] == []
    assert [probe["name"] for probe in document["verify_failed_probes"]] == ["bob reads alice's note"]
    assert "verification found 1 probe failed (bob reads alice's note" in outcome.stderr


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("command", ["check", "baseline"])
def test_a_shadow_server_that_refuses_says_libpqs_first_line_without_tab_or_password(
        project_dir: Path, db_url: str, command: str) -> None:
    (project_dir / "supabase" / "migrations" / "001_a.sql").write_text("create table public.a (id int);\n")
    shadow = f"postgresql://postgres:shadow-pw-7x9@127.0.0.1:{_closed_port()}/postgres"
    target = ("--to", "001", "--db-url", db_url) if command == "baseline" else ()
    outcome = invoke(command, *target, "--shadow-url", shadow, "--workdir", str(project_dir))
    assert outcome.exit_code == 1, outcome.output
    first = outcome.stderr.splitlines()[0]
    assert "cannot create or drop a shadow database on postgresql://postgres:****@127.0.0.1:" in first, first
    assert first.endswith("/postgres: Connection refused Is the server running on that host and accepting "
                          "TCP/IP connections?"), first
    assert "\t" not in outcome.output and "shadow-pw-7x9" not in outcome.output
