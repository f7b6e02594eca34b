"""supadeploy lint next to squawk-cli on the same corpus: for every rule both have, where they agree and where
they do not. The table is kept in tests/corpus/lint/squawk_agreement.json and explained in docs/safety.md;
this test proves it still holds."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from supadeploy.config import ProjectConfig
from supadeploy.lint.report import lint_migrations
from supadeploy.migrations.files import read_migration
from tests.conftest import REPO_ROOT

CORPUS = REPO_ROOT / "tests" / "corpus" / "lint"
AGREEMENT = CORPUS / "squawk_agreement.json"
# supadeploy codes → the squawk rules that check the same thing.
SHARED_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "idempotency (IF NOT EXISTS)": (("SD101", "SD102"), ("prefer-robust-stmts",)),
    "drop table": (("SD201",), ("ban-drop-table",)),
    "drop column": (("SD202",), ("ban-drop-column",)),
    "drop schema": (("SD203",), ("ban-drop-schema",)),
    "drop type": (("SD204",), ("ban-drop-type",)),
    "truncate": (("SD205",), ("ban-truncate-cascade",)),
    "column type change": (("SD208",), ("changing-column-type",)),
    "rename table": (("SD209",), ("renaming-table",)),
    "rename column": (("SD210",), ("renaming-column",)),
    "index without CONCURRENTLY": (("SD301",), ("require-concurrent-index-creation",)),
    "NOT NULL column without default": (("SD302",), ("adding-required-field",)),
    "SET NOT NULL": (("SD303",), ("adding-not-nullable-field",)),
    "foreign key without NOT VALID": (("SD304",), ("adding-foreign-key-constraint",)),
    "constraint without NOT VALID": (("SD304", "SD305"), ("constraint-missing-not-valid",)),
    "lock_timeout": (("SD306",), ("require-lock-timeout",)),
    "syntax error": (("SD501",), ("syntax-error",)),
}


def squawk_binary() -> str:
    candidate = Path(sys.executable).parent / "squawk"
    found = str(candidate) if candidate.exists() else shutil.which("squawk")
    if not found:
        pytest.fail("squawk-cli is not installed: pip install -e '.[test]'")
    return found


def squawk_rules(files: list[Path]) -> dict[str, set[str]]:
    # supadeploy push (and supabase db push) run each file in a transaction: tell squawk so.
    completed = subprocess.run([squawk_binary(), "--assume-in-transaction", "--reporter", "json",
                                *[f.name for f in files]], cwd=CORPUS,
                               capture_output=True, text=True, timeout=120)
    fired: dict[str, set[str]] = {f.name: set() for f in files}
    for violation in json.loads(completed.stdout or "[]"):
        fired[Path(violation["file"]).name].add(violation["rule_name"])
    return fired


def supadeploy_codes(files: list[Path]) -> dict[str, set[str]]:
    project = ProjectConfig(workdir=CORPUS, config_path=None)
    # Suppressed findings count as detected: squawk has its own ignore comments, the comparison is about detection.
    return {f.name: {x.code for x in lint_migrations([read_migration(f, "", f.stem)], project)} for f in files}


def agreement_table() -> dict[str, Any]:
    files = sorted(CORPUS.glob("*.sql"))
    ours, theirs = supadeploy_codes(files), squawk_rules(files)
    table: dict[str, Any] = {}
    for label, (codes, rules) in SHARED_RULES.items():
        row: dict[str, Any] = {"supadeploy": list(codes), "squawk": list(rules), "both": 0, "neither": 0,
                               "only_supadeploy": [], "only_squawk": []}
        for file in files:
            mine, other = bool(ours[file.name] & set(codes)), bool(theirs[file.name] & set(rules))
            if mine and other:
                row["both"] += 1
            elif not mine and not other:
                row["neither"] += 1
            else:
                row["only_supadeploy" if mine else "only_squawk"].append(file.name)
        table[label] = row
    return {"squawk_version": squawk_version(), "files": len(files), "rules": table}


def squawk_version() -> str:
    return subprocess.run([squawk_binary(), "--version"], capture_output=True, text=True).stdout.strip()


def test_agreement_with_squawk_is_as_documented() -> None:
    expected = json.loads(AGREEMENT.read_text(encoding="utf-8"))
    assert agreement_table() == expected


if __name__ == "__main__":  # regenerate: python -m tests.test_lint_squawk
    AGREEMENT.write_text(json.dumps(agreement_table(), indent=2) + "\n", encoding="utf-8")
