"""Every kind of bad input: one clear message naming the file, a non-zero exit, nothing applied."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import invoke, write_migration
from tests.support.inspect import history_rows, tables


def push(project: Path, url: str, *extra: str):  # type: ignore[no-untyped-def]
    return invoke("push", "--workdir", str(project), "--db-url", url, *extra)


def assert_nothing_applied(url: str) -> None:
    assert history_rows(url) == []
    assert tables(url) == []


def test_two_files_with_the_same_version(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    write_migration(project_dir, "001_b.sql", "create table public.b (id int);\n")
    outcome = push(project_dir, db_url)
    assert outcome.exit_code == 1
    assert "two migration files have version 001: 001_a.sql and 001_b.sql" in outcome.stderr
    assert "001_b.sql" in outcome.stderr
    assert "Traceback" not in outcome.output
    assert_nothing_applied(db_url)


def test_empty_file(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    empty = write_migration(project_dir, "002_empty.sql", "  \n\n")
    outcome = push(project_dir, db_url)
    assert outcome.exit_code == 1
    assert f"{empty}: migration file is empty" in outcome.stderr
    assert_nothing_applied(db_url)


def test_file_that_is_not_utf8(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    bad = project_dir / "supabase" / "migrations" / "002_latin1.sql"
    bad.write_bytes(b"-- ok\ncomment on table public.a is 'caf\xe9';\n")
    outcome = push(project_dir, db_url)
    assert outcome.exit_code == 1
    assert f"{bad}:2:34: migration file is not valid UTF-8 (byte 0xe9)" in outcome.stderr
    assert "save the file as UTF-8" in outcome.stderr
    assert_nothing_applied(db_url)


def test_file_that_cannot_be_read(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    dangling = project_dir / "supabase" / "migrations" / "002_gone.sql"
    dangling.symlink_to(project_dir / "nowhere.sql")
    outcome = push(project_dir, db_url)
    assert outcome.exit_code == 1
    assert f"{dangling}: cannot read migration file: No such file or directory" in outcome.stderr
    assert_nothing_applied(db_url)


def test_badly_named_sql_file_is_skipped_with_a_warning(project_dir: Path, db_url: str) -> None:
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n")
    odd = write_migration(project_dir, "add_b.sql", "create table public.b (id int);\n")
    outcome = push(project_dir, db_url)
    assert outcome.exit_code == 0, outcome.output
    assert f"warning: {odd}: skipped: file name must match <version>_<name>.sql" in outcome.stderr
    assert tables(db_url) == ["a"]


def test_missing_migrations_folder(tmp_path: Path, db_url: str) -> None:
    outcome = push(tmp_path, db_url)
    assert outcome.exit_code == 1
    assert "migrations folder not found" in outcome.stderr
    assert "supadeploy init" in outcome.stderr


def test_unknown_environment(project_dir: Path) -> None:
    outcome = invoke("push", "--workdir", str(project_dir), "--env", "nope")
    assert outcome.exit_code == 1
    assert "unknown environment 'nope'" in outcome.stderr


def test_environment_variable_not_set(project_dir: Path) -> None:
    (project_dir / "supadeploy.toml").write_text('[environments.staging]\ndb_url_env = "SD_TEST_UNSET_URL"\n')
    outcome = invoke("push", "--workdir", str(project_dir), "--env", "staging", env={"SD_TEST_UNSET_URL": ""})
    assert outcome.exit_code == 1
    assert "reads its database URL from $SD_TEST_UNSET_URL, which is not set" in outcome.stderr


def test_invalid_toml_names_the_line(project_dir: Path) -> None:
    config = project_dir / "supadeploy.toml"
    config.write_text('[push]\nlock_timeout = "10s"\nstatement_timeout = \n')
    outcome = invoke("push", "--workdir", str(project_dir))
    assert outcome.exit_code == 1
    assert f"{config}:3:21: invalid TOML: Invalid value" in outcome.stderr


def test_unknown_and_mistyped_keys(project_dir: Path) -> None:
    config = project_dir / "supadeploy.toml"
    config.write_text('[environments.local]\ndb_url = "postgresql://postgres@127.0.0.1/postgres"\nprotect = true\n')
    unknown = invoke("push", "--workdir", str(project_dir))
    assert unknown.exit_code == 1
    assert f"{config}:3: unknown key 'protect' in [environments.local]" in unknown.stderr
    config.write_text('[environments.production]\ndb_url_env = "X"\nprotected = "yes"\n')
    mistyped = invoke("push", "--workdir", str(project_dir))
    assert mistyped.exit_code == 1
    assert "'protected' in [environments.production] must be a boolean" in mistyped.stderr


def test_remote_password_in_config_is_refused(project_dir: Path) -> None:
    config = project_dir / "supadeploy.toml"
    config.write_text('[environments.prod]\ndb_url = "postgresql://postgres:hunter2-secret@db.example.com/postgres"\n')
    outcome = invoke("push", "--workdir", str(project_dir), "--env", "prod")
    assert outcome.exit_code == 1
    assert "contains a password for a remote host" in outcome.stderr
    assert "hunter2-secret" not in outcome.output


def test_not_a_postgres_url(project_dir: Path) -> None:
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url", "mysql://root:pw-secret-1@localhost/db")
    assert outcome.exit_code == 1
    assert "is not a PostgreSQL URL" in outcome.stderr
    assert "pw-secret-1" not in outcome.output


def test_unencoded_special_characters_in_password(project_dir: Path) -> None:
    outcome = invoke("push", "--workdir", str(project_dir), "--db-url",
                     "postgresql://postgres:pa:ss@word@127.0.0.1:5432/postgres")
    assert outcome.exit_code == 1
    assert "percent-encode" in outcome.stderr
    assert "ss@word" not in outcome.output


def test_protected_environment_needs_yes_when_not_interactive(project_dir: Path, db_url: str) -> None:
    (project_dir / "supadeploy.toml").write_text('[environments.production]\ndb_url_env = "SD_PROD_URL"\n'
                                                 'protected = true\n')
    write_migration(project_dir, "001_a.sql", "create table public.a (id int);\n"
                                              "alter table public.a enable row level security;\n")
    refused = invoke("push", "--workdir", str(project_dir), "--env", "production", env={"SD_PROD_URL": db_url})
    assert refused.exit_code == 1
    assert "environment 'production' is protected" in refused.stderr
    assert "--yes" in refused.stderr
    assert_nothing_applied(db_url)
    accepted = invoke("push", "--workdir", str(project_dir), "--env", "production", "--yes",
                      env={"SD_PROD_URL": db_url})
    assert accepted.exit_code == 0, accepted.output
    assert tables(db_url) == ["a"]
