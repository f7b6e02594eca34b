"""verify's probes are bounded: a statement timeout per probe, and none on a protected environment unless asked."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.cli import invoke, write_migration

SLOW_TABLE = """\
create table public.slow_notes (id int primary key);
alter table public.slow_notes enable row level security;
grant select on public.slow_notes to anon;
create function public.slow_gate() returns boolean language sql stable set search_path = '' as $$
  select true from pg_catalog.pg_sleep(30)
$$;
create policy "slow gate" on public.slow_notes for select to anon using (public.slow_gate());
"""
PROBES = """
[[probes]]
name = "anon reads through the slow gate"
role = "anon"
setup = "insert into public.slow_notes values (1)"
query = "select * from public.slow_notes"
expect_rows = 1

[[probes]]
name = "the next probe still runs"
role = "anon"
query = "select 1"
expect_rows = 1
"""


def project_with_probes(project: Path, db_url: str, config: str) -> None:
    (project / "supadeploy.toml").write_text(config)
    write_migration(project, "001_slow.sql", SLOW_TABLE)
    pushed = invoke("push", "--db-url", db_url, "--workdir", str(project))
    assert pushed.exit_code == 0, pushed.output
    written = invoke("verify", "--write-manifest", "--db-url", db_url, "--workdir", str(project))
    assert written.exit_code == 0, written.output
    manifest = project / "supabase" / "policies.toml"
    manifest.write_text(manifest.read_text() + PROBES)


def probe_results(document: dict[str, object]) -> dict[str, tuple[bool, str]]:
    return {probe["name"]: (probe["passed"], probe["got"]) for probe in document["probes"]}  # type: ignore[attr-defined]


def test_a_probe_that_sleeps_is_cut_by_the_probe_timeout_and_the_next_still_runs(
        project_dir: Path, db_url: str) -> None:
    project_with_probes(project_dir, db_url, '[verify]\nprobe_timeout = "500ms"\n')
    started = time.monotonic()
    outcome = invoke("verify", "--json", "--db-url", db_url, "--workdir", str(project_dir))
    elapsed = time.monotonic() - started
    assert elapsed < 5
    assert outcome.exit_code == 1
    assert probe_results(outcome.json()) == {
        "anon reads through the slow gate": (False, "timed out in its query after 500ms ([verify] probe_timeout)"),
        "the next probe still runs": (True, "1 row"),
    }
    text = invoke("verify", "--db-url", db_url, "--workdir", str(project_dir))
    assert ("FAIL  anon reads through the slow gate (as anon): expected 1 row, got timed out in its query after "
            "500ms ([verify] probe_timeout)") in text.stdout
    assert "canceling statement due to statement timeout" in text.stdout


def protected_config(extra: str = "") -> str:
    return f'[verify]\nprobe_timeout = "500ms"\n{extra}\n[environments.production]\ndb_url_env = "SD_PROD_DB_URL"\n' \
           "protected = true\n"


def test_a_protected_environment_skips_probes_unless_configured(project_dir: Path, db_url: str) -> None:
    project_with_probes(project_dir, db_url, protected_config())
    env = {"SD_PROD_DB_URL": db_url}
    started = time.monotonic()
    skipped = invoke("verify", "--json", "--env", "production", "--workdir", str(project_dir), env=env)
    assert time.monotonic() - started < 5
    document = skipped.json()
    assert document["probes"] == []
    (notice,) = [finding for finding in document["findings"] if finding["code"] == "probes_skipped"]
    assert notice["level"] == "info"
    assert notice["message"] == ("probes skipped on protected environment 'production' "
                                 "(set [verify] probes_on_protected = true to run them)")
    assert skipped.exit_code == 0, skipped.output
    text = invoke("verify", "--env", "production", "--workdir", str(project_dir), env=env)
    assert "probes skipped on protected environment 'production'" in text.stdout

    (project_dir / "supadeploy.toml").write_text(protected_config("probes_on_protected = true"))
    opted_in = invoke("verify", "--json", "--env", "production", "--workdir", str(project_dir), env=env)
    assert opted_in.exit_code == 1
    assert probe_results(opted_in.json())["the next probe still runs"] == (True, "1 row")


def test_push_to_a_protected_environment_verifies_without_probes(project_dir: Path, db_url: str) -> None:
    project_with_probes(project_dir, db_url, protected_config())
    write_migration(project_dir, "002_more.sql", "create index slow_notes_id on public.slow_notes (id);\n")
    pushed = invoke("push", "--env", "production", "--yes", "--no-backup", "--json", "--workdir", str(project_dir),
                    env={"SD_PROD_DB_URL": db_url}, after_push=True)
    assert pushed.exit_code == 0, pushed.output
    verify = pushed.json()["verify"]
    assert verify["probes"] == []
    assert [f["code"] for f in verify["findings"] if f["code"] == "probes_skipped"] == ["probes_skipped"]


def test_probe_settings_are_checked(project_dir: Path, db_url: str) -> None:
    for setting, message in [('probes_on_protected = "yes"', "'probes_on_protected' in [verify] must be true or false"),
                             ('probe_timeout = "0"', "'probe_timeout' in [verify] must be a duration above zero"),
                             ("probe_timeout = 5", "'probe_timeout' in [verify] must be a duration above zero")]:
        (project_dir / "supadeploy.toml").write_text(f"[verify]\n{setting}\n")
        outcome = invoke("verify", "--db-url", db_url, "--workdir", str(project_dir))
        assert outcome.exit_code == 1
        assert f"supadeploy.toml:2: {message}" in outcome.stderr
