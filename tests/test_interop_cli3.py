"""The Supabase CLI 3.1.0 beside 2.117.0: one history table both ways, `push --engine cli` and `types --engine cli`
driven with 3.x's flags, and the project's own CLI found from its package.json."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from supadeploy.errors import SupadeployError
from supadeploy.targets.supabase_cli import describe_supabase_cli, find_supabase_cli
from tests.support.cli import invoke, write_migration
from tests.support.databases import cli_url
from tests.support.inspect import history_rows, tables
from tests.test_interop_cli import all_files, copy_files, listed_versions, schema_dump

pytestmark = pytest.mark.cli


def supabase(cli: str, project: Path, *args: str, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it in CI: no terminal, text output whatever agent the environment suggests."""
    return subprocess.run([cli, *args, "--agent", "no"], cwd=project, capture_output=True, text=True, timeout=180,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})


def versions(files: list[Path]) -> list[str]:
    return [path.name.split("_", 1)[0] for path in files]


# --- one history, both ways -------------------------------------------------------------------------------


def test_cli3_sees_a_supadeploy_push_as_complete(supabase_cli3: str, project_dir: Path, db_url: str) -> None:
    copy_files(all_files(), project_dir)
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url", db_url)
    assert outcome.exit_code == 0, outcome.output

    listing = supabase(supabase_cli3, project_dir, "migration", "list", f"--remote={cli_url(db_url)}")
    assert listing.returncode == 0, listing.stderr
    assert listed_versions(listing.stdout) == [(v, v) for v in versions(all_files())]

    dry_run = supabase(supabase_cli3, project_dir, "db", "push", "--dry-run", f"--remote={cli_url(db_url)}")
    assert dry_run.returncode == 0, dry_run.stderr
    assert "Remote database is up to date." in dry_run.stdout + dry_run.stderr


def test_supadeploy_sees_a_cli3_push_as_complete(supabase_cli3: str, project_dir: Path,
                                                 make_db: Callable[[], str]) -> None:
    copy_files(all_files(), project_dir)
    by_cli3, by_supadeploy = make_db(), make_db()
    cli_push = supabase(supabase_cli3, project_dir, "db", "push", "--yes", f"--remote={cli_url(by_cli3)}")
    assert cli_push.returncode == 0, cli_push.stderr
    assert invoke("push", "--workdir", str(project_dir), "--db-url", by_supadeploy).exit_code == 0

    assert history_rows(by_cli3) == history_rows(by_supadeploy)
    assert len(history_rows(by_cli3)) == len(all_files())
    assert schema_dump(by_cli3, "supabase_migrations.schema_migrations") == \
        schema_dump(by_supadeploy, "supabase_migrations.schema_migrations")
    assert schema_dump(by_cli3, "public") == schema_dump(by_supadeploy, "public")

    plan = invoke("push", "--workdir", str(project_dir), "--db-url", by_cli3, "--dry-run", "--json")
    assert plan.exit_code == 0, plan.output
    seen = plan.json()["plan"]
    assert [m["version"] for m in seen["applied"]] == versions(all_files())
    assert (seen["pending"], seen["out_of_order"], seen["remote_only"], seen["drifted"]) == ([], [], [], [])
    again = invoke("push", "--workdir", str(project_dir), "--db-url", by_cli3)
    assert again.exit_code == 0 and "is up to date" in again.stdout


def test_each_tool_continues_where_the_other_stopped(supabase_cli3: str, project_dir: Path, db_url: str) -> None:
    files = all_files()
    copy_files(files[:3], project_dir)
    first = supabase(supabase_cli3, project_dir, "db", "push", "--yes", f"--remote={cli_url(db_url)}")
    assert first.returncode == 0, first.stderr
    copy_files(files[3:6], project_dir)
    middle = invoke("push", "--workdir", str(project_dir), "--db-url", db_url, "--json")
    assert middle.exit_code == 0, middle.output
    assert [a["version"] for a in middle.json()["result"]["applied"]] == versions(files[3:6])
    copy_files(files[6:], project_dir)
    last = supabase(supabase_cli3, project_dir, "db", "push", "--yes", f"--remote={cli_url(db_url)}")
    assert last.returncode == 0, last.stderr
    said = last.stdout + last.stderr
    assert [path.name for path in files if f"Applying migration {path.name}..." in said] == \
        [path.name for path in files[6:]]
    assert [row[0] for row in history_rows(db_url)] == versions(files)
    assert {"users", "diary", "Odd;Name"} <= set(tables(db_url))


def test_cli3_changes_nothing_without_yes(supabase_cli3: str, project_dir: Path, db_url: str) -> None:
    """Why supadeploy passes --yes: 3.x answers "No" to a database change when it cannot ask."""
    write_migration(project_dir, "001_a.sql", "create table a (id int);\n")
    unconfirmed = supabase(supabase_cli3, project_dir, "db", "push", f"--remote={cli_url(db_url)}")
    assert unconfirmed.returncode == 1
    assert "Re-run with --yes to confirm." in unconfirmed.stderr
    assert history_rows(db_url) == [] and tables(db_url) == []


# --- push --engine cli with 3.1.0 ------------------------------------------------------------------------


def test_push_engine_cli_with_cli3_writes_the_same_history_as_native(supabase_cli3: str, project_dir: Path,
                                                                     db_url: str, make_db: Callable[[], str]
                                                                     ) -> None:
    copy_files(all_files(), project_dir)
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url", cli_url(db_url), "--engine", "cli",
                     env={"SUPABASE_CLI": supabase_cli3})
    assert outcome.exit_code == 0, outcome.output
    assert f"Confirmed by --yes: Apply {len(all_files())} migrations on custom Postgres" in outcome.stderr   # 3.x
    assert "deprecated" not in outcome.stderr   # --remote=URL, not 3.x's deprecated --db-url
    assert [row[0] for row in history_rows(db_url)] == versions(all_files())

    native_db = make_db()
    assert invoke("push", "--workdir", str(project_dir), "--db-url", native_db).exit_code == 0
    assert history_rows(db_url) == history_rows(native_db)
    assert tables(db_url) == tables(native_db)


@pytest.mark.parametrize("which", ["supabase_cli3", "supabase_cli"])
def test_cli_failures_point_at_the_file_even_inside_an_ai_agent(which: str, request: pytest.FixtureRequest,
                                                                project_dir: Path, db_url: str) -> None:
    """CLAUDECODE=1 makes 2.117.0 and 3.1.0 print JSON unless told --output-format text; the failure is read."""
    cli: str = request.getfixturevalue(which)
    write_migration(project_dir, "001_ok.sql", "create table kept (id int);\n")
    write_migration(project_dir, "002_broken.sql", "create table a (id int);\n\nselect *\n  from nowhere;\n")
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url", cli_url(db_url), "--engine", "cli",
                     env={"SUPABASE_CLI": cli, "CLAUDECODE": "1"})
    assert outcome.exit_code == 1
    assert "Applying migration 001_ok.sql..." in outcome.stderr
    assert f"{project_dir}/supabase/migrations/002_broken.sql:4:8: relation \"nowhere\" does not exist " \
           "[SQLSTATE 42P01]" in outcome.stderr
    assert [row[0] for row in history_rows(db_url)] == ["001"]
    assert "a" not in tables(db_url)


def recording_cli(real_cli: str, folder: Path) -> tuple[Path, Path]:
    """A `supabase` that writes its arguments and whether PGPASSWORD is set to a log, then runs the real one."""
    log = folder / "argv.log"
    wrapper = folder / "supabase"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s|%s\\n" "${{PGPASSWORD:+pgpassword}}" "$*" >> {log}\n'
                       f'exec {real_cli} "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return wrapper, log


def test_cli3_gets_the_password_in_pgpassword_never_in_its_arguments(supabase_cli3: str, project_dir: Path,
                                                                     db_url: str, tmp_path: Path) -> None:
    (tmp_path / "wrapper").mkdir()
    wrapper, log = recording_cli(supabase_cli3, tmp_path / "wrapper")
    parts = urlsplit(cli_url(db_url))
    bare = urlunsplit(parts._replace(netloc=f"{parts.username}@{parts.hostname}:{parts.port}"))
    secret_url = bare.replace("@", ":Pw-in-env-only@", 1)   # trust auth locally: any password connects
    write_migration(project_dir, "001_a.sql", "create table a (id int primary key);\n")
    pushed = invoke("push", "--workdir", str(project_dir), "--db-url", secret_url, "--engine", "cli",
                    env={"SUPABASE_CLI": str(wrapper)})
    assert pushed.exit_code == 0, pushed.output
    typed = invoke("types", "--engine", "cli", "--db-url", secret_url, "--workdir", str(project_dir),
                   env={"SUPABASE_CLI": str(wrapper)})
    assert typed.exit_code == 0, typed.output
    runs = log.read_text(encoding="utf-8").splitlines()
    assert "Pw-in-env-only" not in "\n".join(runs)
    push_run = next(line for line in runs if "|db push " in line)
    types_run = next(line for line in runs if "|gen types " in line)
    assert push_run.startswith("pgpassword|db push --yes --output-format text ")
    assert push_run.endswith(f"--remote={bare}")
    assert types_run.startswith("pgpassword|gen types --lang typescript --schema public ")
    assert f"--remote={bare}" in types_run


# --- types --engine cli with 3.1.0 -----------------------------------------------------------------------


def test_types_engine_cli_with_cli3_needs_no_docker(supabase_cli3: str, project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_notes.sql", "create table public.notes (id bigint primary key, body text);\n")
    assert invoke("push", "--workdir", str(project_dir), "--db-url", db_url).exit_code == 0
    result = invoke("types", "--engine", "cli", "--db-url", cli_url(db_url), "--workdir", str(project_dir),
                    env={"SUPABASE_CLI": supabase_cli3})
    assert result.exit_code == 0, result.stderr
    direct = supabase(supabase_cli3, project_dir, "gen", "types", "typescript", "--schema", "public",
                      f"--remote={cli_url(db_url)}")
    assert direct.returncode == 0, direct.stderr
    assert result.stdout == direct.stdout   # the CLI's own output, byte for byte
    assert '"notes": {' in result.stdout and "ComputedFields: never" in result.stdout   # 3.x's template


# --- which CLI the project uses --------------------------------------------------------------------------


def pin_in_package_json(project: Path, spec: str, section: str = "devDependencies") -> None:
    (project / "package.json").write_text(json.dumps({"name": "app", section: {"supabase": spec}}), encoding="utf-8")


def install_into_project(project: Path, cli: str) -> Path:
    folder = project / "node_modules" / ".bin"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "supabase").symlink_to(Path(cli).resolve())
    return folder / "supabase"


def test_the_cli_pinned_in_package_json_is_the_one_used(supabase_cli3: str, supabase_cli: str, project_dir: Path,
                                                        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPABASE_CLI", supabase_cli)   # 2.117.0 elsewhere: the project's pin wins
    pin_in_package_json(project_dir, "3.1.0")
    installed = install_into_project(project_dir, supabase_cli3)
    cli = find_supabase_cli(project_dir)
    assert (cli.path, cli.version_text) == (installed, "3.1.0")
    assert describe_supabase_cli(project_dir) == \
        f"Supabase CLI 3.1.0 at {installed} (from package.json devDependencies: supabase 3.1.0)"

    write_migration(project_dir, "001_a.sql", "create table a (id int);\n")
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url", cli_url(db_url), "--engine", "cli")
    assert outcome.exit_code == 0, outcome.output
    assert "Confirmed by --yes" in outcome.stderr   # 3.x's words, streamed: 3.1.0 applied it
    assert [row[0] for row in history_rows(db_url)] == ["001"]

    pin_in_package_json(project_dir, "2.117.0", section="dependencies")
    with pytest.raises(SupadeployError, match=r"package.json pins supabase 2\.117\.0, but .* is 3\.1\.0") as stale:
        find_supabase_cli(project_dir)
    assert "npm ci" in str(stale.value) and str(project_dir / "package.json") in str(stale.value)


def test_a_pinned_cli_that_is_not_installed_stops_the_push(supabase_cli3: str, project_dir: Path, db_url: str
                                                           ) -> None:
    pin_in_package_json(project_dir, "^3.1.0")
    write_migration(project_dir, "001_a.sql", "create table a (id int);\n")
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url", cli_url(db_url), "--engine", "cli",
                     env={"SUPABASE_CLI": supabase_cli3})
    assert outcome.exit_code == 1
    assert f"{project_dir}/package.json: package.json pins supabase ^3.1.0 (devDependencies), but " \
           f"{project_dir}/node_modules/.bin/supabase is not installed" in outcome.stderr
    assert f"run `npm ci` (or `npm install`) in {project_dir}" in outcome.stderr
    assert history_rows(db_url) == []
    assert describe_supabase_cli(project_dir).startswith("Supabase CLI: unavailable (package.json pins supabase")


def test_unsupported_versions_and_a_broken_package_json_are_explained(project_dir: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    future = tmp_path / "bin" / "supabase"
    future.parent.mkdir()
    future.write_text("#!/bin/sh\necho 4.0.0\n", encoding="utf-8")
    future.chmod(0o755)
    monkeypatch.setenv("SUPABASE_CLI", str(future))
    with pytest.raises(SupadeployError, match=r"is 4\.0\.0; supadeploy supports 2\.117\.0 or newer, up to 3\.x"):
        find_supabase_cli(project_dir)
    monkeypatch.setenv("SUPABASE_CLI", str(tmp_path / "missing"))
    with pytest.raises(SupadeployError, match=r"not installed at \$SUPABASE_CLI \(.*/missing\)"):
        find_supabase_cli(project_dir)
    (project_dir / "package.json").write_text('{\n  "devDependencies": {"supabase": "3.1.0",}\n}\n', encoding="utf-8")
    with pytest.raises(SupadeployError, match=r"package\.json is not valid JSON") as broken:
        find_supabase_cli(project_dir)
    assert broken.value.where == f"{project_dir / 'package.json'}:2:43"   # the stray comma's }
