"""The protected gate (and `supadeploy lint`) sees every statement that will run: function bodies called by the
migrations, DO blocks, EXECUTE of constant SQL or constant format(), data-modifying WITH, and dynamic SQL
that cannot be checked (issue 13 §1). Each case runs `supadeploy push --env production --yes --no-backup`
on real Postgres."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cli import Outcome, invoke, write_migration
from tests.support.inspect import history_rows, scalar, tables

ACCOUNTS = (
    "create table public.acct (id int primary key, legacy text);\n"
    "alter table public.acct enable row level security;\n"
    "insert into public.acct values (1, 'a'), (2, 'b');\n"
)
PENDING = "supabase/migrations/002_change.sql"


def row_count(url: str) -> int:
    return int(scalar(url, "select count(*) from public.acct"))


def has_legacy_column(url: str) -> bool:
    return bool(scalar(url, "select count(*) from information_schema.columns where table_schema = 'public' "
                            "and table_name = 'acct' and column_name = 'legacy'"))


def kept_rows(url: str) -> bool:
    return row_count(url) == 2


def emptied(url: str) -> bool:
    return row_count(url) == 0


def kept_column(url: str) -> bool:
    return has_legacy_column(url)


def dropped_column(url: str) -> bool:
    return not has_legacy_column(url)


def kept_table(url: str) -> bool:
    return tables(url) == ["acct"] and row_count(url) == 2


def dropped_table(url: str) -> bool:
    return tables(url) == []


@dataclass(frozen=True)
class Case:
    sql: str
    code: str
    statement_line: int
    """The line of the statement that runs it (the call, the DO, the WITH)."""
    body_line: int
    """The line of the destructive statement inside the body."""
    before: Callable[[str], bool]
    """What must still hold after the refusal."""
    after: Callable[[str], bool]
    """What holds once --allow-destructive applied it."""


CASES = {
    "plpgsql-function-called": Case(
        "create or replace function public.wipe() returns void\n"        # 1
        "language plpgsql as $$\n"                                       # 2
        "begin\n"                                                        # 3
        "  truncate public.acct;\n"                                      # 4
        "end $$;\n"                                                      # 5
        "select public.wipe();\n",                                       # 6
        "SD205", 6, 4, kept_rows, emptied),
    "sql-function-called": Case(
        "create or replace function public.wipe() returns void\n"        # 1
        "language sql as $$\n"                                           # 2
        "  truncate public.acct;\n"                                      # 3
        "$$;\n"                                                          # 4
        "select public.wipe();\n",                                       # 5
        "SD205", 5, 3, kept_rows, emptied),
    "sql-begin-atomic-function-called": Case(
        "create or replace function public.wipe() returns void\n"        # 1
        "language sql\n"                                                 # 2
        "begin atomic\n"                                                 # 3
        "  delete from public.acct;\n"                                   # 4
        "end;\n"                                                         # 5
        "select public.wipe();\n",                                       # 6
        "SD206", 6, 4, kept_rows, emptied),
    "do-execute-format": Case(
        "do $$\n"                                                        # 1
        "begin\n"                                                        # 2
        "  execute format($f$alter table %I.%I drop column %I$f$,\n"     # 3
        "                 'public', 'acct', 'legacy');\n"                # 4
        "end $$;\n",                                                     # 5
        "SD202", 1, 3, kept_column, dropped_column),
    "do-execute-positional-format": Case(
        "do $$\n"                                                        # 1
        "begin\n"                                                        # 2
        "  execute format('alter table %1$I.%2$I drop column %3$I', 'public', 'acct', 'legacy');\n"  # 3
        "end $$;\n",                                                     # 4
        "SD202", 1, 3, kept_column, dropped_column),
    "do-execute-constant": Case(
        "do $$\n"                                                        # 1
        "begin\n"                                                        # 2
        "  execute $q$drop table public.acct$q$;\n"                      # 3
        "end $$;\n",                                                     # 4
        "SD201", 1, 3, kept_table, dropped_table),
    "data-modifying-with": Case(
        "select 1;\n"                                                    # 1
        "with d as (delete from public.acct returning *)\n"              # 2
        "select count(*) from d;\n",                                     # 3
        "SD206", 2, 2, kept_rows, emptied),
    "dynamic-sql": Case(
        "do $$\n"                                                        # 1
        "declare target text := 'acct';\n"                               # 2
        "begin\n"                                                        # 3
        "  execute 'truncate public.' || target;\n"                      # 4
        "end $$;\n",                                                     # 5
        "SD290", 1, 4, kept_rows, emptied),
    "function-calling-function": Case(
        "create or replace function public.inner_wipe() returns void\n"  # 1
        "language plpgsql as $$\n"                                       # 2
        "begin\n"                                                        # 3
        "  delete from public.acct;\n"                                   # 4
        "end $$;\n"                                                      # 5
        "create or replace function public.outer_wipe(n int) returns void\n"  # 6
        "language plpgsql as $$\n"                                       # 7
        "begin\n"                                                        # 8
        "  perform public.inner_wipe();\n"                               # 9
        "end $$;\n"                                                      # 10
        "do $$ begin perform public.outer_wipe(1); end $$;\n",           # 11
        "SD206", 11, 4, kept_rows, emptied),
    "trigger-fired": Case(
        "create table public.audit (id int);\n"                            # 1
        "alter table public.audit enable row level security;\n"            # 2
        "create or replace function public.purge() returns trigger\n"     # 3
        "language plpgsql as $$\n"                                         # 4
        "begin\n"                                                          # 5
        "  delete from public.acct;\n"                                     # 6
        "  return null;\n"                                                 # 7
        "end $$;\n"                                                        # 8
        "create trigger audit_purge after insert on public.audit\n"       # 9
        "  for each statement execute function public.purge();\n"         # 10
        "insert into public.audit values (1);\n",                          # 11
        "SD206", 11, 6, kept_rows, emptied),
}


class Production:
    """A project whose production environment is protected, with public.acct applied (two rows)."""

    def __init__(self, project: Path, url: str) -> None:
        self.project, self.url = project, url
        self.env = {"SD_PROD_URL": url}
        (project / "supadeploy.toml").write_text('[environments.production]\ndb_url_env = "SD_PROD_URL"\n'
                                                 'protected = true\n')
        write_migration(project, "001_acct.sql", ACCOUNTS)
        first = self.push()
        assert first.exit_code == 0, first.output

    def push(self, *args: str) -> Outcome:
        return invoke("push", "--env", "production", "--workdir", str(self.project), "--yes", "--no-backup", *args,
                      env=self.env)



@pytest.mark.parametrize("name", CASES)
def test_protected_gate_refuses_what_runs_inside_bodies_then_allows_it(name: str, project_dir: Path,
                                                                       db_url: str) -> None:
    case = CASES[name]
    production = Production(project_dir, db_url)
    write_migration(project_dir, "002_change.sql", case.sql)

    refused = production.push()
    assert refused.exit_code == 1, refused.output
    assert "pending migrations are destructive" in refused.stderr
    line = next(line for line in refused.stderr.splitlines() if case.code in line)
    assert line.strip().startswith(f"{PENDING}:"), line
    assert f"{PENDING}:{case.statement_line}" in line and f"{PENDING}:{case.body_line}" in line, line
    assert "Traceback" not in refused.output
    assert case.before(db_url)
    assert [row[0] for row in history_rows(db_url)] == ["001"]

    allowed = production.push("--allow-destructive")
    assert allowed.exit_code == 0, allowed.output
    assert case.after(db_url)
    assert [row[0] for row in history_rows(db_url)] == ["001", "002"]


def test_refusal_messages_name_the_call_the_definition_and_the_body_line(project_dir: Path, db_url: str) -> None:
    production = Production(project_dir, db_url)
    write_migration(project_dir, "002_change.sql", CASES["plpgsql-function-called"].sql)
    refused = production.push()
    assert (f"  {PENDING}:6:8: SD205 calls public.wipe() (defined at {PENDING}:1): TRUNCATE public.acct deletes "
            f"every row ({PENDING}:4)") in refused.stderr.splitlines()
    assert "--allow-destructive" in refused.stderr

    write_migration(project_dir, "002_change.sql", CASES["dynamic-sql"].sql)
    refused = production.push()
    assert (f"  {PENDING}:4:11: SD290 dynamic SQL that cannot be checked: EXECUTE 'truncate public.' || target "
            f"(DO block at {PENDING}:1)") in refused.stderr.splitlines()
    assert kept_rows(db_url)


@pytest.mark.parametrize("name", CASES)
def test_lint_reports_what_runs_inside_bodies(name: str, project_dir: Path) -> None:
    case = CASES[name]
    write_migration(project_dir, "001_acct.sql", ACCOUNTS)
    write_migration(project_dir, "002_change.sql", case.sql)
    outcome = invoke("lint", "--workdir", str(project_dir), "--json", str(project_dir / PENDING))
    assert outcome.exit_code == 1, outcome.output
    findings = [f for f in outcome.json()["findings"] if f["code"] == case.code]
    assert len(findings) == 1, findings
    finding = findings[0]
    assert finding["level"] == "error" and finding["file"] == PENDING
    lines_named = {finding["line"], *(int(n) for n in re.findall(rf"{re.escape(PENDING)}:(\d+)", finding["message"]))}
    assert {case.statement_line, case.body_line} <= lines_named, finding


def test_function_that_only_inserts_and_selects_passes_the_gate(project_dir: Path, db_url: str) -> None:
    production = Production(project_dir, db_url)
    write_migration(project_dir, "002_change.sql",
                    "create or replace function public.add_account(p_id int) returns int\n"
                    "language plpgsql as $$\n"
                    "declare total int;\n"
                    "begin\n"
                    "  insert into public.acct (id, legacy) values (p_id, 'c');\n"
                    "  perform count(*) from public.acct;\n"
                    "  select count(*) into total from public.acct where id > 0;\n"
                    "  execute format('update %I.%I set legacy = %L where id = $1',\n"
                    "                 'public', 'acct', 'x') using p_id;\n"
                    "  return total;\n"
                    "end $$;\n"
                    "select public.add_account(3);\n"
                    "do $$ begin execute 'select 1'; end $$;\n")
    outcome = production.push()
    assert outcome.exit_code == 0, outcome.output
    assert row_count(db_url) == 3
    assert scalar(db_url, "select legacy from public.acct where id = 3") == "x"


def test_a_function_defined_but_not_called_is_not_refused(project_dir: Path, db_url: str) -> None:
    production = Production(project_dir, db_url)
    write_migration(project_dir, "002_change.sql",
                    "create or replace function public.reset_demo() returns void\n"
                    "language plpgsql as $$ begin truncate public.acct; end $$;\n")
    outcome = production.push()
    assert outcome.exit_code == 0, outcome.output
    assert kept_rows(db_url)


def test_dynamic_sql_suppressed_with_a_reason_passes_the_gate(project_dir: Path, db_url: str) -> None:
    production = Production(project_dir, db_url)
    write_migration(project_dir, "002_change.sql",
                    "-- supadeploy:ignore SD290 the table name comes from a constant declared above\n"
                    + CASES["dynamic-sql"].sql)
    outcome = production.push()
    assert outcome.exit_code == 0, outcome.output
    assert emptied(db_url)


def test_suppression_in_the_function_definition_covers_the_call(project_dir: Path, db_url: str) -> None:
    production = Production(project_dir, db_url)
    write_migration(project_dir, "002_change.sql",
                    "create or replace function public.wipe() returns void\n"
                    "language plpgsql as $$\n"
                    "begin\n"
                    "  -- supadeploy:ignore SD205 demo data, reloaded by the next migration\n"
                    "  truncate public.acct;\n"
                    "end $$;\n"
                    "select public.wipe();\n")
    outcome = production.push()
    assert outcome.exit_code == 0, outcome.output
    assert emptied(db_url)


@pytest.mark.parametrize(("template", "arguments"), [
    ("drop table %I.%I", ["Weird Schema", "user"]),
    ("alter table %2$I drop column %1$I", ["old col", "Acct"]),
    ("%1$s %1$L %s %%", ["it's", "x"]),
    ("insert into t values (%L, %L, %s)", ["back\\slash", None, None]),
    ("[%-6s|%6s]", ["ab", "cd"]),
])
def test_format_builds_the_same_sql_as_postgres(template: str, arguments: list[str | None], db_url: str) -> None:
    from supadeploy.lint.execute import executed_sql

    placeholders = ", ".join(["%s::text"] * (len(arguments) + 1))
    expected = scalar(db_url, f"select format({placeholders})", (template, *arguments))
    literal = ", ".join("NULL" if a is None else "'" + a.replace("'", "''") + "'" for a in [template, *arguments])
    assert executed_sql(f"format({literal})") == expected


@pytest.mark.parametrize("expression", ["format('%I', NULL)", "format('%s %s', 'a')", "format(t, 'a')",
                                        "'drop table ' || name", "format('%*s', 3, 'a')", "upper('x')"])
def test_expressions_that_are_not_constant_sql_are_dynamic(expression: str) -> None:
    from supadeploy.lint.execute import executed_sql

    assert executed_sql(expression) is None


def lint_file(project: Path, sql: str) -> list[dict[str, object]]:
    write_migration(project, "001_acct.sql", ACCOUNTS)
    write_migration(project, "002_change.sql", sql)
    outcome = invoke("lint", "--workdir", str(project), "--json", "--show-suppressed", str(project / PENDING))
    findings: list[dict[str, object]] = outcome.json()["findings"]
    return [f for f in findings if str(f["code"]).startswith("SD2")]


def test_comments_inside_a_do_block_suppress_the_execute_they_precede(project_dir: Path) -> None:
    findings = lint_file(project_dir, "do $$\n"
                                      "declare target text := 'acct';\n"
                                      "begin\n"
                                      "  -- supadeploy:ignore SD290 target is the constant above\n"
                                      "  execute 'truncate public.' || target;\n"
                                      "  execute format('drop table %I', target);\n"
                                      "end $$;\n")
    assert [(f["code"], f["line"], f["suppressed_reason"]) for f in findings] == [
        ("SD290", 5, "target is the constant above"), ("SD290", 6, None)]


def test_a_trailing_suppression_after_a_string_literal_is_read(project_dir: Path) -> None:
    findings = lint_file(project_dir, "update public.acct set legacy = 'x'; -- supadeploy:ignore SD207 backfill\n"
                                      "select '-- supadeploy:ignore SD206 not a comment'; delete from public.acct;\n")
    assert [(f["code"], f["line"], f["suppressed_reason"]) for f in findings] == [
        ("SD207", 1, "backfill"), ("SD206", 2, None)]
