"""`supadeploy fleet verify|diff NAME` on six member databases: every member checked, the ones needing action
named with what is wrong, an unreachable member reported without stopping the others, one JSON document."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import Outcome, invoke, write_migration

MEMBERS = ["r1", "r2", "r3", "r4", "r5", "r6"]
NOTES = ("create table public.notes (id bigint primary key, body text);\n"
         "alter table public.notes enable row level security;\n"
         "grant select on public.notes to authenticated;\n"
         "create policy notes_read on public.notes for select to authenticated using (true);\n")


@dataclass
class Fleet:
    path: Path
    urls: dict[str, str]
    env: dict[str, str]

    def run(self, *args: str) -> Outcome:
        return invoke("fleet", *args, "--workdir", str(self.path), env=self.env)

    def sql(self, member: str, statement: str) -> None:
        with psycopg.connect(self.urls[member], autocommit=True) as connection:
            connection.execute(statement)


@pytest.fixture
def fleet(make_db: Callable[[], str], project_dir: Path) -> Fleet:
    urls = {member: make_db() for member in MEMBERS}
    environments = "".join(f'[environments.{m}]\ndb_url_env = "CHECK_{m.upper()}_URL"\n\n' for m in MEMBERS)
    listed = ", ".join(f'"{m}"' for m in MEMBERS)
    (project_dir / "supadeploy.toml").write_text(f"{environments}[fleets.regions]\nmembers = [{listed}]\n"
                                                 "parallel = 3\n")
    write_migration(project_dir, "001_notes.sql", NOTES)
    result = Fleet(project_dir, urls, {f"CHECK_{m.upper()}_URL": url for m, url in urls.items()})
    pushed = result.run("push", "regions", "--no-verify")
    assert pushed.exit_code == 0, pushed.output
    return result


def test_fleet_verify_names_the_member_that_exposes_a_table_and_the_one_it_cannot_reach(fleet: Fleet) -> None:
    clean = fleet.run("verify", "regions", "--json")
    assert clean.exit_code == 0, clean.output
    assert clean.json()["counts"] == {"ok": 6, "failed": 0, "unreachable": 0}

    fleet.sql("r4", "create table public.leak (id int); grant select on public.leak to anon")
    fleet.env["CHECK_R6_URL"] = fleet.urls["r6"].rsplit("/", 1)[0] + "/no_such_database"
    outcome = fleet.run("verify", "regions")
    assert outcome.exit_code == 1
    assert outcome.stdout.startswith("fleet regions verify: 6 member(s), 4 ok, 1 failed, 1 unreachable")
    assert "  r4: failed\n" in outcome.stdout and "public.leak" in outcome.stdout
    assert "  r6: unreachable\n" in outcome.stdout and "no_such_database" in outcome.stdout
    assert "r1:" not in outcome.stdout  # members that pass are counted, not listed
    document = fleet.run("verify", "regions", "--json").json()
    statuses = {member["name"]: member["status"] for member in document["members"]}
    assert statuses == {"r1": "ok", "r2": "ok", "r3": "ok", "r4": "failed", "r5": "ok", "r6": "unreachable"}

    bad = fleet.run("verify", "regions", "--fail-on", "loud", "--json")
    assert bad.exit_code == 2 and "--fail-on must be one of" in bad.json()["error"]["message"]


def test_fleet_diff_names_the_member_that_differs_from_the_canary(fleet: Fleet) -> None:
    same = fleet.run("diff", "regions", "--json")
    assert same.exit_code == 0, same.output
    assert same.json()["against"] == "r1" and same.json()["counts"] == {"same": 5, "differs": 0, "unreachable": 0}

    fleet.sql("r3", "create table public.by_hand (id int)")
    fleet.sql("r5", "delete from supabase_migrations.schema_migrations")
    outcome = fleet.run("diff", "regions")
    assert outcome.exit_code == 1
    assert outcome.stdout.startswith("fleet regions diff against r1: 5 member(s), 3 same, 2 differs")
    assert "  r3: differs\n" in outcome.stdout and "    table public.by_hand: only here\n" in outcome.stdout
    assert "  r5: differs\n    not applied here: 001" in outcome.stdout

    against = fleet.run("diff", "regions", "--against", "r3", "--json")
    assert against.exit_code == 1
    assert {m["name"]: m["status"] for m in against.json()["members"]}["r1"] == "differs"
    unknown = fleet.run("diff", "regions", "--against", "r9", "--json")
    assert unknown.exit_code == 2
    assert unknown.json()["error"]["message"] == "--against r9: not a member of fleet 'regions'"
    assert "Traceback" not in unknown.output
