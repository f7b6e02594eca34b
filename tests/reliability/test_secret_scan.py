"""The secret-leak scanner (tests/support/secret_scan.py) catches what it promises to, and URLs stay redacted in
exception chains.

The scanner is checked end to end: a small test file run by a child pytest with the plugin, whose tests leak a
secret in each place the plugin watches (CLI stdout, a written file's content and name, a child process, pytest's
capture, a deploy log row) and must fail, next to clean ones that must pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from pathlib import Path

import psycopg
import pytest

from supadeploy.errors import SupadeployError
from supadeploy.targets.postgres import PostgresTarget
from tests.conftest import REPO_ROOT
from tests.reliability.proxy import FaultProxy

LEAKY_TESTS = '''
import subprocess, sys
import typer
from typer.testing import CliRunner
from tests.support.secret_scan import register_secret

app = typer.Typer()
SECRET_URL = "postgresql://someone:Very-Secret-Pw-99@127.0.0.1:1/x"


@app.command()
def show(url: str, out: str = "") -> None:
    from supadeploy.redact import redact_url
    if out:
        open(out, "w").write("summary for " + url)
    elif url.startswith("redact:"):
        print(redact_url(url.removeprefix("redact:")))
    else:
        print("connecting to", url)


def test_cli_stdout_leak():
    CliRunner().invoke(app, [SECRET_URL])                              # the password came in as an argument


def test_cli_stdout_redacted():
    CliRunner().invoke(app, ["redact:" + SECRET_URL])


def test_written_file_leak(tmp_path):
    CliRunner().invoke(app, [SECRET_URL, "--out", str(tmp_path / "summary.md")])


def test_written_file_name_leak(tmp_path):
    register_secret("token-abcdef-123456")
    CliRunner().invoke(app, ["x", "--out", str(tmp_path / "backup-token-abcdef-123456.sql")])


def test_child_process_leak():
    subprocess.run([sys.executable, "-c", "import sys; print(sys.argv[2])", "supadeploy", SECRET_URL],
                   capture_output=True, text=True)


def test_pytest_capture_leak():
    register_secret("sbp_" + "9" * 40, "an access token")
    print("token:", "sbp_" + "9" * 40)


def test_deploy_log_row_leak():
    from tests.support import databases
    url = databases.create_empty_database(ADMIN)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema if not exists supabase_migrations")
        conn.execute("create table supabase_migrations.supadeploy_deployments (error text)")
        conn.execute("insert into supabase_migrations.supadeploy_deployments values ('failed with s3cr3t-row-pw')")
    register_secret("s3cr3t-row-pw")
    databases.drop_database(ADMIN, url)


def test_clean():
    register_secret("never-printed-secret")
    print("nothing to see")
'''


def test_the_scanner_fails_exactly_the_leaking_tests(tmp_path: Path, pg_admin_url: str) -> None:
    test_file = tmp_path / "test_leaks.py"
    test_file.write_text("import psycopg\n" + LEAKY_TESTS + f"\nADMIN = {pg_admin_url!r}\n", encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.support.secret_scan",
         "--rootdir", str(tmp_path), str(test_file)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        # Without CI/BUILD_NUMBER: pytest would also print each failure's message in the short summary.
        env={**{k: v for k, v in os.environ.items() if k not in ("CI", "BUILD_NUMBER")},
             "PYTHONPATH": str(REPO_ROOT), "SUPADEPLOY_RELIABILITY_FIGURES": ""})
    output = completed.stdout + completed.stderr
    failed = sorted(line.split("::")[1].split(" ")[0] for line in output.splitlines()
                    if line.startswith(("FAILED", "ERROR")) and "::" in line)
    assert failed == sorted(["test_cli_stdout_leak", "test_written_file_leak", "test_written_file_name_leak",
                             "test_child_process_leak", "test_pytest_capture_leak", "test_deploy_log_row_leak"]), output
    assert output.count("secret leak: 1 output(s) of this test contain a secret it used") == 6, output
    for secret in ("Very-Secret-Pw-99", "s3cr3t-row-pw", "9" * 40):  # the report shows labels, never secrets
        assert secret not in output
    assert "<secret:a CLI argument>" in output
    assert "secret scan: tests 8," in output


SECRET = "Xq7-secret-pass"


@pytest.fixture
def secret_user(pg_admin_url: str, db_url: str) -> str:
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute("drop role if exists supadeploy_chain_user")
        conn.execute(f"create role supadeploy_chain_user login superuser password '{SECRET}'")
    return db_url.replace("postgres:postgres@", f"supadeploy_chain_user:{SECRET}@")


def exception_texts(error: BaseException) -> str:
    """Everything an exception carries: its printed traceback and every exception it is chained to (also the
    suppressed context of a `raise ... from None`, which a logger or debugger could still show)."""
    texts = ["".join(traceback.format_exception(error))]
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), repr(current), *map(str, current.args)]
        stack += [current.__cause__, current.__context__]
    return "\n".join(texts)


def test_urls_are_redacted_in_exception_chains(secret_user: str) -> None:
    """Failures at connect time (refused, unknown database, bad URL) and after (lost connection)."""
    bad_urls = [secret_user.replace(":5432/", ":1/"), secret_user.rsplit("/", 1)[0] + "/no_such_db_here",
                secret_user.replace("postgresql://", "postgresql:/"), secret_user + "?sslmode=bogus",
                secret_user.replace(f"{SECRET}@", f"{SECRET}@@")]
    for url in bad_urls:
        with pytest.raises(SupadeployError) as raised:
            PostgresTarget(url).query("select 1")
        assert SECRET not in exception_texts(raised.value), url
    with FaultProxy.for_url(secret_user) as proxy:
        target = PostgresTarget(proxy.url(secret_user))
        target.query("select 1")
        proxy.drop_all()
        with pytest.raises(SupadeployError) as raised:
            target.query("select 1")
        target.close()
    assert "lost the connection to postgresql://supadeploy_chain_user:****@" in str(raised.value)
    assert SECRET not in exception_texts(raised.value)


def test_there_is_no_debug_flag() -> None:
    """The issue asks for redaction in `--debug` output: supadeploy has no --debug flag (tracebacks are for bugs
    only, and every user error is one redacted message), so there is no such output to leak."""
    from tests.support.cli import invoke

    outcome = invoke("push", "--debug")
    assert outcome.exit_code == 2 and "No such option: --debug" in outcome.stderr
