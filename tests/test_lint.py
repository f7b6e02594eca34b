"""supadeploy lint: every rule on a triggering and a non-triggering file, exact positions, suppressions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from supadeploy.config import ProjectConfig, load_project
from supadeploy.errors import ConfigError
from supadeploy.lint.report import LintFinding, lint_migrations
from supadeploy.lint.rules import RULES
from supadeploy.migrations.files import discover_migrations, read_migration
from tests.conftest import REPO_ROOT
from tests.support.cli import invoke, write_migration

CORPUS = REPO_ROOT / "tests" / "corpus" / "lint"
CORPUS_FILES = sorted(p for p in CORPUS.glob("SD*.sql"))
# Rules checked outside the single-file corpus (they need a folder or several files).
FOLDER_RULES = {"SD504"}


def lint_text(tmp_path: Path, sql: str, name: str = "001_sample.sql") -> list[LintFinding]:
    path = tmp_path / name
    path.write_text(sql, encoding="utf-8")
    version, rest = name.split("_", 1)
    return lint_migrations([read_migration(path, version, rest.removesuffix(".sql"))],
                           ProjectConfig(workdir=tmp_path, config_path=None))


def codes(findings: list[LintFinding], *, suppressed: bool = False) -> set[str]:
    return {f.code for f in findings if suppressed or not f.suppressed}


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.stem)
def test_corpus_file_triggers_its_rule_or_not(path: Path) -> None:
    code, kind = path.name.split("_")[:2]
    findings = lint_migrations([read_migration(path, "", path.stem)], ProjectConfig(workdir=CORPUS, config_path=None))
    assert (code in codes(findings)) == (kind == "trigger"), [f.location + " " + f.code for f in findings]


def test_every_rule_has_a_triggering_and_a_clean_example() -> None:
    covered = {(p.name.split("_")[0], p.name.split("_")[1]) for p in CORPUS_FILES}
    for code in set(RULES) - FOLDER_RULES:
        assert (code, "trigger") in covered and (code, "clean") in covered, code


def test_locations_on_multi_line_statements_and_do_blocks(tmp_path: Path) -> None:
    sql = (
        "SET lock_timeout = '5s';\n"                                    # 1
        "ALTER TABLE public.users\n"                                    # 2
        "    ADD COLUMN IF NOT EXISTS country text,\n"                  # 3
        "    ALTER COLUMN display_name SET NOT NULL,\n"                 # 4
        "    ADD CONSTRAINT users_country_check\n"                      # 5
        "        CHECK (country <> '');\n"                              # 6
        "DO $$\n"                                                       # 7
        "BEGIN\n"                                                       # 8
        "    IF true THEN\n"                                            # 9
        "        PERFORM 1;\n"                                          # 10
        "    END IF;\n"                                                 # 11
        "      DELETE FROM public.trades;\n"                            # 12
        "END\n"                                                         # 13
        "$$;\n"                                                         # 14
        "CREATE POLICY \"x\" ON public.trades FOR SELECT\n"             # 15
        "  USING (\n"                                                   # 16
        "    (auth.jwt() -> 'user_metadata' ->> 'role') = 'admin');\n"  # 17
    )
    found = {(f.code, f.line, f.column) for f in lint_text(tmp_path, sql)}
    assert ("SD303", 4, 31) in found       # at SET NOT NULL
    assert ("SD305", 5, 9) in found        # at the constraint
    assert ("SD206", 12, 7) in found       # inside the DO block, at DELETE
    assert ("SD103", 15, 1) in found
    assert ("SD402", 17, 20) in found      # at 'user_metadata'


def test_syntax_error_has_the_exact_position_and_other_statements_are_still_linted(tmp_path: Path) -> None:
    sql = "DROP TABLE public.a;\n\nCREATE TABLE IF NOT EXISTS public.b (\n  id int,\n  name tetx text\n);\n"
    findings = lint_text(tmp_path, sql)
    syntax = [f for f in findings if f.code == "SD501"]
    assert [(f.line, f.column, f.level) for f in syntax] == [(5, 13, "error")]
    assert syntax[0].message == 'syntax error at or near "text"'
    assert "SD201" in codes(findings)


def test_header_field_missing_is_info_and_names_the_fields(tmp_path: Path) -> None:
    findings = lint_text(tmp_path, "-- Migration: x\n-- Purpose: y\n-- Date: 2024-01-01\n-- Author: a\nSELECT 1;\n")
    header = [f for f in findings if f.code == "SD502"]
    assert len(header) == 1 and header[0].level == "info"
    assert header[0].message == "the runbook header has no -- Breaking Changes:, -- Rollback:"


def test_inline_suppressions_apply_to_the_next_statement_the_same_line_or_the_file(tmp_path: Path) -> None:
    sql = (
        "-- supadeploy:ignore SD201 replaced by accounts in 012\n"
        "DROP TABLE public.legacy;\n"
        "DROP TABLE public.other;\n"
        "SET lock_timeout = '5s';\n"
        "ALTER TABLE public.users DROP COLUMN nick; -- supadeploy:ignore drop-column unused since v2\n"
        "-- supadeploy:ignore-file SD205 the import table is refilled nightly\n"
        "TRUNCATE public.import_rows;\n"
    )
    findings = lint_text(tmp_path, sql)
    by_line = {(f.code, f.line): f for f in findings}
    assert by_line[("SD201", 2)].suppressed_reason == "replaced by accounts in 012"
    assert by_line[("SD201", 3)].suppressed_reason is None
    assert by_line[("SD202", 5)].suppressed_reason == "unused since v2"
    assert by_line[("SD205", 7)].suppressed_reason == "the import table is refilled nightly"


def test_a_suppression_before_a_do_block_covers_its_statements(tmp_path: Path) -> None:
    sql = ("-- supadeploy:ignore SD207 backfill, batched by the job\n"
           "DO $$ BEGIN UPDATE public.users SET x = 1; END $$;\n")
    findings = lint_text(tmp_path, sql)
    assert [f.suppressed_reason for f in findings if f.code == "SD207"] == ["backfill, batched by the job"]


def test_a_suppression_without_reason_or_with_an_unknown_code_is_reported(tmp_path: Path) -> None:
    sql = "-- supadeploy:ignore SD201\nDROP TABLE public.a;\n-- supadeploy:ignore SD999 why\nSELECT 1;\n"
    findings = lint_text(tmp_path, sql)
    invalid = sorted((f.line, f.message) for f in findings if f.code == "SD503")
    assert invalid == [(1, "supadeploy:ignore SD201 gives no reason: it suppresses nothing"),
                       (3, "supadeploy:ignore names unknown code SD999: it suppresses nothing")]
    assert "SD201" in codes(findings)


def test_project_configuration_ignores_and_changes_levels(project_dir: Path) -> None:
    (project_dir / "supadeploy.toml").write_text(
        '[lint]\nexposed_schemas = ["public", "api"]\n\n[lint.ignore]\nSD306 = "push sets lock_timeout"\n\n'
        '[lint.levels]\nanon-write-grant = "error"\n', encoding="utf-8")
    write_migration(project_dir, "001_a.sql", "CREATE TABLE IF NOT EXISTS api.things (id int);\n"
                    "ALTER TABLE public.users ADD COLUMN IF NOT EXISTS x int;\nGRANT INSERT ON api.things TO anon;\n")
    project = load_project(project_dir)
    findings = lint_migrations(discover_migrations(project.migrations_dir).migrations, project)
    by_code = {f.code: f for f in findings}
    assert by_code["SD401"].message.startswith("table api.things is in exposed schema api")
    assert by_code["SD306"].suppressed_reason == "[lint.ignore] push sets lock_timeout"
    assert by_code["SD403"].level == "error"
    assert by_code["SD401"].file == "supabase/migrations/001_a.sql"


def test_invalid_lint_configuration_names_the_line(project_dir: Path) -> None:
    (project_dir / "supadeploy.toml").write_text('[lint.ignore]\nSD306 = ""\n', encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        lint_migrations([], load_project(project_dir))
    assert raised.value.where == f"{project_dir.resolve()}/supadeploy.toml:2"
    assert raised.value.what == "[lint.ignore] SD306 needs a reason"


def test_rls_enabled_in_a_later_migration_counts(project_dir: Path) -> None:
    write_migration(project_dir, "001_notes.sql", "CREATE TABLE IF NOT EXISTS public.notes (id int);\n")
    write_migration(project_dir, "002_more.sql", "CREATE TABLE IF NOT EXISTS public.tags (id int);\n")
    write_migration(project_dir, "003_rls.sql", "ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;\n")
    project = load_project(project_dir)
    everything = discover_migrations(project.migrations_dir).migrations
    only_first_two = lint_migrations(everything[:2], project, context=everything)
    assert [(f.file, f.code) for f in only_first_two if f.code == "SD401"] == \
        [("supabase/migrations/002_more.sql", "SD401")]
    # Without the context, 001 looks unprotected: push passes every migration as context.
    assert "SD401" in codes(lint_migrations(everything[:1], project))


def test_example_project_has_no_error_findings() -> None:
    project = load_project(REPO_ROOT)
    findings = lint_migrations(discover_migrations(project.migrations_dir).migrations, project)
    assert [f for f in findings if f.level == "error"] == []
    assert {f.code for f in findings} == {"SD301", "SD306"}


def test_down_file_in_the_migrations_folder_is_skipped_by_discovery_and_reported(project_dir: Path) -> None:
    write_migration(project_dir, "001_a.sql", "CREATE TABLE IF NOT EXISTS public.a (id int);\n"
                    "ALTER TABLE public.a ENABLE ROW LEVEL SECURITY;\n")
    write_migration(project_dir, "001_a.down.sql", "DROP TABLE public.a;\n")
    project = load_project(project_dir)
    discovery = discover_migrations(project.migrations_dir)
    assert [m.file_name for m in discovery.migrations] == ["001_a.sql"] and discovery.warnings == []
    findings = lint_migrations(discovery.migrations, project)
    assert [(f.code, f.file, f.message) for f in findings if f.code == "SD504"] == [
        ("SD504", "supabase/migrations/001_a.down.sql",
         "supabase db push would apply 001_a.down.sql as migration 001 'a.down', before 001_a.sql")]


def test_cli_lint_exit_codes_and_json(project_dir: Path) -> None:
    write_migration(project_dir, "001_ok.sql", "SELECT 1;\n")
    clean = invoke("lint", "--workdir", str(project_dir))
    assert clean.exit_code == 0, clean.output
    assert clean.stdout.strip().endswith("0 error(s), 0 warning(s), 1 info, 0 suppressed")
    write_migration(project_dir, "002_drop.sql", "DROP TABLE public.trades;\n")
    failing = invoke("lint", "--workdir", str(project_dir), "--json")
    assert failing.exit_code == 1
    document = failing.json()
    assert document["ok"] is False and document["summary"]["error"] == 1
    drop = next(f for f in document["findings"] if f["code"] == "SD201")
    assert drop == {"code": "SD201", "rule": "drop-table", "category": "destructive", "level": "error",
                    "file": "supabase/migrations/002_drop.sql", "line": 1, "column": 1,
                    "message": "DROP TABLE public.trades is destructive",
                    "fix": RULES["SD201"].fix, "suppressed": False, "suppressed_reason": None}
    one_file = invoke("lint", "--workdir", str(project_dir), "--json",
                      str(project_dir / "supabase" / "migrations" / "001_ok.sql"))
    assert one_file.exit_code == 0 and json.loads(one_file.stdout)["files"] == [
        str(project_dir / "supabase" / "migrations" / "001_ok.sql")]


def test_cli_lint_human_output(project_dir: Path) -> None:
    shutil.copy(CORPUS / "SD402_trigger_user_metadata.sql", project_dir / "supabase" / "migrations" / "001_p.sql")
    outcome = invoke("lint", "--workdir", str(project_dir))
    assert outcome.exit_code == 1
    assert ("supabase/migrations/001_p.sql:3:27: error SD402 policy-trusts-user-metadata: policy \"admins\" trusts "
            "user_metadata, which users can set for themselves") in outcome.stdout
    assert "error: lint found error-level findings" in outcome.stderr
