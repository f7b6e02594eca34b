"""Behavioural probes from the manifest, with real roles and JWT claims, in transactions that are always rolled back."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import invoke
from tests.support.inspect import scalar

CORPUS = Path(__file__).parent / "corpus" / "rls"


@pytest.fixture
def notes_project(project_dir: Path, db_url: str) -> Path:
    """The notes schema pushed, its manifest written, and the probes of tests/corpus/rls/probes.toml appended."""
    shutil.copy(CORPUS / "001_notes.sql", project_dir / "supabase" / "migrations" / "001_notes.sql")
    assert invoke("push", "--yes", "--db-url", db_url, "--workdir", str(project_dir)).exit_code == 0
    written = invoke("verify", "--write-manifest", "--db-url", db_url, "--workdir", str(project_dir))
    assert written.exit_code == 0, written.output
    manifest = project_dir / "supabase" / "policies.toml"
    manifest.write_text(manifest.read_text() + (CORPUS / "probes.toml").read_text())
    return project_dir


def verify_json(project: Path, db_url: str) -> tuple[int, dict[str, Any]]:
    outcome = invoke("verify", "--json", "--db-url", db_url, "--workdir", str(project))
    return outcome.exit_code, outcome.json()


def test_probes_pass_with_real_roles_and_claims_and_leave_no_trace(notes_project: Path, db_url: str) -> None:
    code, document = verify_json(notes_project, db_url)
    assert code == 0, document
    assert document["findings"] == []
    results = {probe["name"]: (probe["passed"], probe["got"]) for probe in document["probes"]}
    assert results == {
        "anon reads no notes": (True, "no rows"),
        # the previous probe's fixture rows were rolled back: alice sees exactly her one note
        "alice reads only her note": (True, "1 row"),
        "anon cannot insert": (True, "error 42501"),
        "alice cannot write as bob": (True, "error 42501"),
        "alice writes her own note": (True, "1 row"),
        "anon updates nothing": (True, "no rows"),
        "tenant admin reads the tenant's reports": (True, "2 rows"),
        "a plain member of the tenant reads no reports": (True, "no rows"),
    }
    assert scalar(db_url, "select count(*) from public.notes") == 0
    assert scalar(db_url, "select count(*) from public.tenant_reports") == 0
    assert scalar(db_url, "select count(*) from pg_proc where proname = 'supadeploy_probe'") == 0


def test_a_failing_probe_names_itself_and_shows_expected_and_got(notes_project: Path, db_url: str) -> None:
    manifest = notes_project / "supabase" / "policies.toml"
    manifest.write_text(manifest.read_text() + """
[[probes]]
name = "bob reads alice's note"
role = "authenticated"
claims = { sub = "00000000-0000-0000-0000-0000000000b0" }
setup = "insert into public.notes (owner, body) values ('00000000-0000-0000-0000-0000000000a1', 'alice')"
query = "select * from public.notes"
expect_rows = 1

[[probes]]
name = "broken fixture"
role = "anon"
setup = "insert into public.notes (body) values ('no owner')"
query = "select 1"
expect_rows = 1
""")
    outcome = invoke("verify", "--db-url", db_url, "--workdir", str(notes_project))
    assert outcome.exit_code == 1
    assert "FAIL  bob reads alice's note (as authenticated): expected 1 row, got no rows" in outcome.stdout
    assert "FAIL  broken fixture (as anon): expected 1 row, got setup failed with 23502" in outcome.stdout
    assert 'null value in column "owner"' in outcome.stdout
    assert "pass  anon reads no notes (as anon): no rows" in outcome.stdout
    assert "verify failed: 2 probes failed (bob reads alice's note, broken fixture: fix the policy" in outcome.stderr
    assert "finding" not in outcome.stderr

    code, document = verify_json(notes_project, db_url)
    assert code == 1
    failed = [p for p in document["probes"] if not p["passed"]]
    assert [(p["name"], p["expected"], p["got"]) for p in failed] == [
        ("bob reads alice's note", "1 row", "no rows"),
        ("broken fixture", "1 row", "setup failed with 23502"),
    ]
    assert document["ok"] is False
    assert scalar(db_url, "select count(*) from public.notes") == 0


def test_probe_as_a_role_that_does_not_exist_fails_clearly(notes_project: Path, db_url: str) -> None:
    manifest = notes_project / "supabase" / "policies.toml"
    manifest.write_text(manifest.read_text() + """
[[probes]]
name = "typo in the role"
role = "authenticated_users"
query = "select 1"
expect_rows = 1
""")
    outcome = invoke("verify", "--db-url", db_url, "--workdir", str(notes_project))
    assert outcome.exit_code == 1
    assert "FAIL  typo in the role (as authenticated_users): expected 1 row, got could not act as " \
           "authenticated_users (22023)" in outcome.stdout


@pytest.mark.parametrize(("probe", "message"), [
    ('name = "x"\nquery = "select 1"', 'policies.toml:3: probe "x" needs exactly one expectation'),
    ('name = "x"\nquery = "select 1"\nexpect_rows = 1\nexpect_error = "42501"',
     'policies.toml:6: probe "x" needs exactly one expectation'),
    ('name = "x"\nquery = "select 1"\nexpect_error = "permission denied"',
     'policies.toml:6: expect_error of probe "x" must be a SQLSTATE of 5 characters'),
    ('name = "x"\nquery = "select 1"\nexpect_rows = 1\nwho = "anon"',
     "policies.toml:7: unknown key 'who' in probe \"x\""),
    ('query = "select 1"\nexpect_rows = 1', "policies.toml:3: probe #1 has no name"),
])
def test_bad_probe_declarations_are_refused_with_their_line(project_dir: Path, db_url: str, probe: str,
                                                            message: str) -> None:
    manifest = project_dir / "supabase" / "policies.toml"
    manifest.write_text(f"version = 1\n\n[[probes]]\n{probe}\n")
    outcome = invoke("verify", "--db-url", db_url, "--workdir", str(project_dir))
    assert outcome.exit_code == 1
    assert message in outcome.stderr
