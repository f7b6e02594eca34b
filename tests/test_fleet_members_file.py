"""`members_file`: a fleet's members as CSV, TOML or JSON rows (name, db_url_env or project_ref, tags, wave,
protected), each then an environment every command reaches by name; bad rows are errors at file:line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests.support.cli import Outcome, invoke, write_migration

NAMES = ["acme", "globex", "initech", "umbrella", "hooli", "stark"]
WAVES = {"acme": 1, "globex": 2, "initech": 2, "umbrella": 3, "hooli": 3, "stark": 3}
TAGS = {"acme": "eu;paying", "globex": "us", "initech": "eu", "umbrella": "us paying", "hooli": "", "stark": "eu"}
NOTES = "create table public.notes (id bigint primary key);\nalter table public.notes enable row level security;\n"


def variable(name: str) -> str:
    return f"{name.upper()}_DB_URL"


def csv_text() -> str:
    rows = [f"{name},{variable(name)},{TAGS[name]},{WAVES[name]}" for name in NAMES]
    return "name,db_url_env,tags,wave\n" + "\n".join(rows) + "\n"


def toml_text() -> str:
    return "".join(f'[[members]]\nname = "{name}"\ndb_url_env = "{variable(name)}"\n'
                   f"tags = {json.dumps(TAGS[name].replace(';', ' ').split())}\nwave = {WAVES[name]}\n\n"
                   for name in NAMES)


def json_text() -> str:
    return json.dumps({"members": [{"name": name, "db_url_env": variable(name),
                                    "tags": TAGS[name].replace(";", " ").split(), "wave": WAVES[name]}
                                   for name in NAMES]}, indent=2)


class Project:
    def __init__(self, path: Path, env: dict[str, str]) -> None:
        self.path, self.env = path, env

    def run(self, *args: str) -> Outcome:
        return invoke(*args, "--workdir", str(self.path), env=self.env)

    def configure(self, fleet: str, files: dict[str, str]) -> None:
        for name, text in files.items():
            (self.path / name).write_text(text, encoding="utf-8")
        (self.path / "supadeploy.toml").write_text(fleet, encoding="utf-8")


@pytest.fixture
def project(make_db: Callable[[], str], project_dir: Path) -> tuple[Project, dict[str, str]]:
    urls = {name: make_db() for name in NAMES}
    write_migration(project_dir, "001_notes.sql", NOTES)
    return Project(project_dir, {variable(name): url for name, url in urls.items()}), urls


def versions(url: str) -> list[str]:
    with psycopg.connect(url) as connection:
        exists = connection.execute("select to_regclass('supabase_migrations.schema_migrations')").fetchone()
        if not exists or exists[0] is None:
            return []
        return [row[0] for row in connection.execute("select version from supabase_migrations.schema_migrations")]


@pytest.mark.parametrize(("file_name", "text"), [("tenants.csv", csv_text()), ("tenants.toml", toml_text()),
                                                 ("tenants.json", json_text())])
def test_a_members_file_makes_the_fleet_its_waves_and_its_environments(
        project: tuple[Project, dict[str, str]], file_name: str, text: str) -> None:
    fleet, urls = project
    fleet.configure(f'[fleets.tenants]\nmembers_file = "{file_name}"\nparallel = 2\n', {file_name: text})
    status = fleet.run("fleet", "status", "tenants", "--json")
    assert status.json()["waves"] == [["acme"], ["globex", "initech"], ["umbrella", "hooli", "stark"]]

    eu = fleet.run("fleet", "push", "tenants", "--tag", "eu", "--no-verify", "--json")
    assert eu.exit_code == 0, eu.output
    assert [(m["name"], m["wave"], m["status"]) for m in eu.json()["members"]] == [
        ("acme", 1, "applied"), ("initech", 2, "applied"), ("stark", 3, "applied")]
    assert [name for name in NAMES if versions(urls[name])] == ["acme", "initech", "stark"]

    single = fleet.run("push", "--env", "globex", "--no-verify")  # a member is an environment like any other
    assert single.exit_code == 0, single.output
    rest = fleet.run("fleet", "push", "tenants", "--no-verify", "--json")
    assert rest.exit_code == 0, rest.output
    assert rest.json()["counts"] == {"applied": 2, "up to date": 4, "failed": 0, "interrupted": 0,
                                     "not started": 0, "excluded": 0, "planned": 0}
    assert all(versions(urls[name]) == ["001"] for name in NAMES)

    nobody = fleet.run("fleet", "push", "tenants", "--tag", "mars")
    assert nobody.exit_code == 2 and "no member of fleet 'tenants' is tagged mars" in nobody.stderr


def test_members_of_a_protected_fleet_file_need_yes(project: tuple[Project, dict[str, str]]) -> None:
    fleet, urls = project
    fleet.configure('[fleets.tenants]\nmembers_file = "t.csv"\nprotected = true\ncanary = 2\nwave_size = 2\n',
                    {"t.csv": "name,db_url_env,protected\n" + "".join(
                        f"{name},{variable(name)},{'false' if name == 'hooli' else ''}\n" for name in NAMES)})
    assert fleet.run("fleet", "status", "tenants", "--json").json()["waves"] == [
        ["acme", "globex"], ["initech", "umbrella"], ["hooli", "stark"]]
    refused = fleet.run("fleet", "push", "tenants", "--no-verify", "--no-backup")
    assert refused.exit_code == 1
    assert "member(s) acme, globex, initech, umbrella, stark are protected; nothing was applied" in refused.stderr
    assert all(versions(url) == [] for url in urls.values())
    confirmed = fleet.run("fleet", "push", "tenants", "--no-verify", "--no-backup", "--yes")
    assert confirmed.exit_code == 0, confirmed.output


BAD_FILES = [
    ("t.csv", "name,db_url_env\nacme,ACME_DB_URL\nacme,OTHER_URL\n",
     "t.csv:3: member 'acme' is listed twice (first at t.csv:2)"),
    ("t.csv", "name,url\nacme,x\n", "t.csv:1: members file t.csv: unknown column 'url'"),
    ("t.csv", "name,db_url_env,wave\nacme,A_URL,1\nglobex,G_URL,3\n",
     "t.csv:3: member 'globex' is in wave 3, but wave 2 has no member"),
    ("t.csv", "name,db_url_env,wave\nacme,A_URL,1\nglobex,G_URL,\n",
     "t.csv:3: member 'globex' has no wave while others have one"),
    ("t.csv", "name,tags\nacme,eu\n", "t.csv:2: member 'acme' says neither db_url_env nor project_ref"),
    ("t.csv", "name,db_url_env\nno name!,A_URL\n", 't.csv:2: member name "no name!" is not valid'),
    ("t.csv", "name,project_ref\nacme,NOTAREF\n", "t.csv:2: member 'acme': project_ref 'NOTAREF' is not a project ref"),
    ("t.json", '[{"name": "acme",\n "db_url_env": "A_URL",}]', "t.json:2: members file t.json is not JSON"),
    ("t.json", '[{"name": "acme", "db_url_env": "A_URL"},\n {"name": "globex", "db_url_env": "G", "wave": "soon"}]',
     "t.json:2: member 'globex': wave \"soon\" is not a whole number of at least 1"),
    ("t.toml", '[[members]]\nname = "acme"\ndb_url_env = "A_URL"\n\n[[members]]\nname = "staging"\ndb_url_env = "S"\n',
     "t.toml:5: member 'staging' of [fleets.f] is also [environments.staging]"),
    ("t.toml", '[[members]]\nname = "acme"\ndb_url_env = = "A_URL"\n', "t.toml:3:14: invalid TOML"),
    ("t.yaml", "- acme\n", "t.yaml: members file t.yaml: unknown kind '.yaml'"),
]


@pytest.mark.parametrize(("file_name", "text", "expected"), BAD_FILES)
def test_a_bad_members_file_is_one_error_at_its_line(project_dir: Path, file_name: str, text: str,
                                                     expected: str) -> None:
    (project_dir / file_name).write_text(text, encoding="utf-8")
    (project_dir / "supadeploy.toml").write_text(
        f'[environments.staging]\ndb_url_env = "STAGING_DB_URL"\n\n[fleets.f]\nmembers_file = "{file_name}"\n',
        encoding="utf-8")
    fleet_only = "has no member" in expected  # the waves are a fleet's: the rows are every command's environments
    for command in (("fleet", "push", "f"),) + (() if fleet_only else (("status",),)):
        outcome = invoke(*command, "--workdir", str(project_dir))
        assert outcome.exit_code == 1, outcome.output
        first = outcome.stderr.splitlines()[0] if outcome.stderr else outcome.output
        assert first.startswith(f"error: {expected}"), first
        assert "Traceback" not in outcome.output


@pytest.mark.parametrize(("fleet", "expected"), [
    ('members_file = "missing.csv"', "supadeploy.toml:2: [fleets.f] members_file missing.csv does not exist"),
    ('members_file = "../t.csv"', "supadeploy.toml:2: [fleets.f] members_file must be a file inside the project"),
    ('members_file = "t.csv"\nmembers = ["acme"]', "supadeploy.toml:2: [fleets.f] has both members and members_file"),
    ('members_file = "w.csv"\ncanary = 1', "supadeploy.toml:3: [fleets.f] sets canary while its members file gives"),
])
def test_a_bad_members_file_setting_is_an_error_at_its_supadeploy_toml_line(project_dir: Path, fleet: str,
                                                                            expected: str) -> None:
    (project_dir / "t.csv").write_text("name,db_url_env\nacme,A_URL\n", encoding="utf-8")
    (project_dir / "w.csv").write_text("name,db_url_env,wave\nacme,A_URL,1\n", encoding="utf-8")
    (project_dir / "supadeploy.toml").write_text(f"[fleets.f]\n{fleet}\n", encoding="utf-8")
    outcome = invoke("fleet", "push", "f", "--workdir", str(project_dir))
    assert outcome.exit_code == 1
    first = outcome.stderr.splitlines()[0].replace(f"{project_dir}/", "")
    assert first.startswith(f"error: {expected}"), outcome.stderr
