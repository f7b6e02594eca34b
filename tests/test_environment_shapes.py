"""Every database command on the three shapes an environment takes (issue 14):

* ``url``: a database URL (``db_url_env``) → a direct connection;
* ``api``: only ``project_ref`` and ``$SUPABASE_ACCESS_TOKEN`` → the Management API (the contract-checked local
  server);
* ``password``: ``project_ref`` and ``$SUPABASE_DB_PASSWORD`` → the session-pooler URL the Supabase CLI would use
  (the direct host db.<ref>.supabase.co does not resolve here; the pooler is the local server).

One scenario per shape runs every command with a real effect, then reads the deploy log: each writing command
left its row. Plus: `push --engine cli` records its run, rollback confirms before it takes the deploy lock and
writes its backup into [push] backup_dir.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from supadeploy.targets.postgres import DEPLOY_LOCK_ID, DEPLOY_LOCK_NAMESPACE
from tests.support.cli import Outcome, invoke, write_migration
from tests.support.databases import cli_url
from tests.support.environments import NOTES
from tests.support.inspect import history_rows, tables
from tests.support.management_api_server import TEST_TOKEN, ManagementApiServer, Project, make_ref

STAGING_REF, PRODUCTION_REF = make_ref("shapestaging"), make_ref("shapeproduct")
PASSWORD = "shape-secret-password"
SHAPES = ("url", "api", "password")
ADD_B = "create table public.b (id int primary key);\nalter table public.b enable row level security;\n"


@dataclass
class Shape:
    name: str
    project: Path
    staging: str
    production: str
    env: dict[str, str | None] = field(default_factory=dict)

    def run(self, *args: str) -> Outcome:
        outcome = invoke(*args, "--workdir", str(self.project), env=self.env)  # type: ignore[arg-type]
        assert "Traceback" not in outcome.output
        assert PASSWORD not in outcome.output and TEST_TOKEN not in outcome.output
        return outcome

    def ok(self, *args: str) -> Outcome:
        outcome = self.run(*args)
        assert outcome.exit_code == 0, f"{' '.join(args)} on the {self.name} shape:\n{outcome.output}"
        return outcome

    def deploy_log(self, environment: str = "staging") -> list[tuple[str, str, list[str]]]:
        document = self.ok("history", "--env", environment, "--json").json()
        return [(row["command"], row["status"], row["versions_applied"]) for row in reversed(document["deployments"])]


@pytest.fixture
def server(make_db: Callable[[], str]) -> Iterator[ManagementApiServer]:
    staging, production = make_db(), make_db()
    with ManagementApiServer([Project(ref=STAGING_REF, name="staging", db_url=staging),
                              Project(ref=PRODUCTION_REF, name="production", db_url=production)],
                             rate_limit=100_000) as running:
        yield running
        assert running.violations == []


def make_shape(name: str, project: Path, server: ManagementApiServer) -> Shape:
    staging, production = server_project_urls(server)
    absent: dict[str, str | None] = {"SUPABASE_ACCESS_TOKEN": None, "SUPABASE_DB_PASSWORD": None,
                                     "SUPADEPLOY_API_URL": None, "SUPADEPLOY_DB_URL": None}
    if name == "url":
        config = ('[environments.staging]\ndb_url_env = "SD_STAGING_URL"\n\n'
                  '[environments.production]\ndb_url_env = "SD_PRODUCTION_URL"\n')
        env = {**absent, "SD_STAGING_URL": staging, "SD_PRODUCTION_URL": production}
    else:
        config = (f'[environments.staging]\nproject_ref = "{STAGING_REF}"\n\n'
                  f'[environments.production]\nproject_ref = "{PRODUCTION_REF}"\n')
        env = {**absent, "SUPABASE_ACCESS_TOKEN": TEST_TOKEN, "SUPADEPLOY_API_URL": server.url}
        if name == "password":
            env["SUPABASE_DB_PASSWORD"] = PASSWORD
    (project / "supadeploy.toml").write_text(config, encoding="utf-8")
    return Shape(name, project, staging, production, env)


def server_project_urls(server: ManagementApiServer) -> tuple[str, str]:
    return server.projects[STAGING_REF].db_url, server.projects[PRODUCTION_REF].db_url


@pytest.mark.parametrize("shape_name", SHAPES)
def test_every_database_command_on_every_shape(shape_name: str, project_dir: Path, server: ManagementApiServer,
                                               pg_admin_url: str) -> None:
    shape = make_shape(shape_name, project_dir, server)
    write_migration(project_dir, "001_notes.sql", NOTES)
    write_migration(project_dir, "002_b.sql", ADD_B)
    write_migration(project_dir, "002_b.down.sql", "drop table public.b;\n")

    # push (then verify over the same target), migration list, verify, types
    shape.ok("push", "--env", "staging", "--yes")
    assert [row[0] for row in history_rows(shape.staging)] == ["001", "002"]
    listing = shape.ok("migration", "list", "--env", "staging", "--json").json()
    assert [(m["version"], m["status"]) for m in listing["migrations"]] == [("001", "applied"), ("002", "applied")]
    verified = shape.ok("verify", "--env", "staging", "--json").json()
    assert verified["ok"] is True
    assert "notes" in shape.ok("types", "--env", "staging").stdout
    status = shape.run("status", "--env", "staging", "--json").json()["environments"][0]
    assert (status["reachable"], status["applied"], status["pending"], status["error"]) == (
        True, ["001", "002"], [], None)

    # promote to production, then diff finds them identical
    shape.ok("promote", "staging", "production", "--yes")
    assert [row[0] for row in history_rows(shape.production)] == ["001", "002"]
    assert shape.ok("diff", "staging", "production", "--json").json()["identical"] is True

    # repair: 002 reverted, then a dashboard-stamped copy of it that reconcile rewrites back to 002
    shape.ok("repair", "002", "--status", "reverted", "--env", "staging")
    assert [row[0] for row in history_rows(shape.staging)] == ["001"]
    with psycopg.connect(shape.staging, autocommit=True) as connection:
        connection.execute("INSERT INTO supabase_migrations.schema_migrations (version, name, statements) "
                           "VALUES ('20990101000000', 'from_dashboard', %s)",
                           ([line.rstrip(";") for line in ADD_B.splitlines()],))
    reconciled = shape.run("reconcile", "--env", "staging", "--apply", "--yes", "--json")
    assert reconciled.exit_code == 0, reconciled.output
    assert reconciled.json()["actions"]["rewritten"] == [{"from": "20990101000000", "to": "002"}]
    assert [(row[0], row[1]) for row in history_rows(shape.staging)] == [("001", "notes"), ("002", "b")]

    # rollback of 002 runs its down file; baseline records 002 again once its table is back
    shape.ok("rollback", "--to", "001", "--env", "staging", "--yes")
    assert "b" not in tables(shape.staging)
    assert [row[0] for row in history_rows(shape.staging)] == ["001"]
    with psycopg.connect(shape.staging, autocommit=True) as connection:
        connection.execute(ADD_B)
    shape.ok("baseline", "--to", "002", "--env", "staging", "--shadow-url", pg_admin_url)
    assert [row[0] for row in history_rows(shape.staging)] == ["001", "002"]

    # link goes through the Management API: it needs the token, which the url shape does not have
    linked = shape.run("link", "staging", "--project-ref", STAGING_REF, "--skip-cli")
    if shape_name == "url":
        assert linked.exit_code == 1
        assert linked.stderr.startswith("error: $SUPABASE_ACCESS_TOKEN is not set")
    else:
        assert linked.exit_code == 0, linked.output
        assert f"linked environment 'staging' to staging ({STAGING_REF}" in linked.stdout

    assert shape.deploy_log() == [("push", "succeeded", ["001", "002"]),
                                  ("repair", "succeeded", ["002"]),
                                  ("reconcile", "succeeded", ["002"]),
                                  ("rollback", "succeeded", ["002"]),
                                  ("baseline", "succeeded", ["002"])]
    assert shape.deploy_log("production") == [("promote", "succeeded", ["001", "002"])]


def test_push_engine_cli_leaves_a_deploy_log_row(supabase_cli: str, project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    env = {"SUPABASE_CLI": supabase_cli}
    pushed = invoke("push", "--workdir", str(project_dir), "--db-url", cli_url(db_url), "--engine", "cli", env=env)
    assert pushed.exit_code == 0, pushed.output
    log = invoke("history", "--workdir", str(project_dir), "--db-url", db_url, "--json").json()["deployments"]
    assert [(row["command"], row["status"], row["versions_applied"]) for row in log] == [
        ("push", "succeeded", ["001"])]
    assert log[0]["tool_version"] and log[0]["actor"]


def test_an_environment_names_its_engine(project_dir: Path, server: ManagementApiServer) -> None:
    """engine = "api" wins over a configured URL; a wrong engine is named at its line."""
    (project_dir / "supadeploy.toml").write_text(
        f'[environments.staging]\ndb_url = "postgresql://nobody@127.0.0.1:1/none"\nproject_ref = "{STAGING_REF}"\n'
        'engine = "api"\n', encoding="utf-8")
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    env = {"SUPABASE_ACCESS_TOKEN": TEST_TOKEN, "SUPADEPLOY_API_URL": server.url}
    listed = invoke("migration", "list", "--workdir", str(project_dir), "--env", "staging", "--json", env=env)
    assert listed.exit_code == 0, listed.output
    assert listed.json()["database"].startswith(f"project {STAGING_REF} via the Management API")
    (project_dir / "supadeploy.toml").write_text('[environments.staging]\nengine = "psql"\n', encoding="utf-8")
    wrong = invoke("verify", "--workdir", str(project_dir), "--env", "staging")
    assert wrong.exit_code == 1
    assert "supadeploy.toml:2: unknown engine 'psql' for environment 'staging'" in wrong.stderr


def test_no_way_to_reach_the_environment_says_what_to_set(project_dir: Path) -> None:
    (project_dir / "supadeploy.toml").write_text(f'[environments.staging]\nproject_ref = "{STAGING_REF}"\n',
                                                 encoding="utf-8")
    env: dict[str, str | None] = {"SUPABASE_ACCESS_TOKEN": None, "SUPABASE_DB_PASSWORD": None}
    outcome = invoke("verify", "--workdir", str(project_dir), "--env", "staging", env=env)  # type: ignore[arg-type]
    assert outcome.exit_code == 1
    assert outcome.stderr.startswith("error: environment 'staging' has no database URL\n")
    assert "export SUPABASE_DB_PASSWORD (a direct or pooler connection) or SUPABASE_ACCESS_TOKEN" in outcome.stderr


def test_rollback_confirms_before_the_deploy_lock_and_backs_up_into_backup_dir(project_dir: Path,
                                                                               db_url: str) -> None:
    (project_dir / "supadeploy.toml").write_text(
        '[environments.production]\ndb_url_env = "SD_URL"\nprotected = true\n\n'
        '[push]\ndeploy_lock_wait = "1s"\nbackup_dir = "custom-backups"\n', encoding="utf-8")
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n"
                                              "alter table public.a enable row level security;\n")
    write_migration(project_dir, "001_a.down.sql", "drop table public.a;\n")
    env = {"SD_URL": db_url}
    args = ("--workdir", str(project_dir), "--env", "production")
    assert invoke("push", *args, "--yes", env=env).exit_code == 0
    with psycopg.connect(db_url, autocommit=True) as holder:  # another deploy holds the lock
        holder.execute("SELECT pg_advisory_lock(%s, %s)", (DEPLOY_LOCK_NAMESPACE, DEPLOY_LOCK_ID))
        refused = invoke("rollback", "--to", "0", *args, env=env)
    assert refused.exit_code == 1
    assert "error: environment 'production' is protected" in refused.stderr  # asked, not waited for the lock
    assert tables(db_url) == ["a"]
    done = invoke("rollback", "--to", "0", *args, "--yes", env=env)
    assert done.exit_code == 0, done.output
    assert tables(db_url) == []
    log = invoke("history", *args, "--json", env=env).json()["deployments"]
    assert [(row["command"], row["status"]) for row in log] == [("rollback", "succeeded"), ("push", "succeeded")]
    backup = Path(log[0]["backup_location"])  # the push took one too, before it
    assert backup.parent == project_dir / "custom-backups"
    assert backup.is_file() and backup.stat().st_size > 0 and backup != Path(log[1]["backup_location"])
