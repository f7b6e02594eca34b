"""verify works through any Target: the Management API target (local contract-checked API server backed by the
real Postgres) gives the same findings, matrix and probe results as a direct connection."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from supadeploy.management_api.client import ManagementApiClient, RetryPolicy
from supadeploy.rls.verify import VerifyOptions, VerifyReport, run_verify
from supadeploy.targets.base import Target
from supadeploy.targets.management_api import ManagementApiTarget
from supadeploy.targets.postgres import PostgresTarget
from tests.support.cli import invoke
from tests.support.inspect import scalar
from tests.support.management_api_server import TEST_TOKEN, ManagementApiServer, Project, make_ref

CORPUS = Path(__file__).parent / "corpus" / "rls"
REF = make_ref("verify")


@pytest.fixture
def server(db_url: str) -> Iterator[ManagementApiServer]:
    with ManagementApiServer([Project(ref=REF, name="verify-tests", db_url=db_url)]) as running:
        yield running
        assert running.violations == []


def report_through(target: Target, manifest: Path) -> VerifyReport:
    try:
        return run_verify(target, VerifyOptions(schemas=("public",), manifest_path=manifest))
    finally:
        target.close()


def test_management_api_target_gives_the_same_report(server: ManagementApiServer, project_dir: Path,
                                                     db_url: str) -> None:
    shutil.copy(CORPUS / "001_notes.sql", project_dir / "supabase" / "migrations" / "001_notes.sql")
    assert invoke("push", "--yes", "--db-url", db_url, "--workdir", str(project_dir)).exit_code == 0
    assert invoke("verify", "--write-manifest", "--db-url", db_url, "--workdir", str(project_dir)).exit_code == 0
    manifest = project_dir / "supabase" / "policies.toml"
    manifest.write_text(manifest.read_text() + (CORPUS / "probes.toml").read_text())
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("""
            create table public.open_table (id int, api_key text);
            alter policy "read own notes" on public.notes using (owner = auth.uid());
            create view public.note_bodies as select body from public.notes;
            grant select on public.open_table, public.note_bodies to anon, authenticated;
        """)

    client = ManagementApiClient(TEST_TOKEN, api_url=server.url, retry=RetryPolicy(attempts=2),
                                 sleep=lambda _: None)
    through_api = report_through(ManagementApiTarget(client, REF), manifest)
    direct = report_through(PostgresTarget(db_url), manifest)

    assert through_api.to_dict() == direct.to_dict()
    assert {f.code for f in direct.findings} == {
        "rls_disabled", "sensitive_columns_exposed", "manifest_policy_changed", "manifest_table_unlisted",
        "policy_per_row_auth_call", "security_definer_view"}
    assert [p.passed for p in through_api.probes] == [True] * 8
    assert scalar(db_url, "select count(*) from public.notes") == 0
