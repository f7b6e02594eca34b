"""`--schema` means the same in every command: repeatable, comma-separated, duplicates dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from supadeploy.cli.common import parse_schema_option
from supadeploy.errors import SupadeployError
from tests.support.cli import invoke


def test_schemas_are_split_on_commas_across_repeated_flags() -> None:
    assert parse_schema_option(["public, api", "other,public"]) == ("public", "api", "other")
    assert parse_schema_option(None) is None and parse_schema_option([]) is None


def test_a_schema_flag_naming_nothing_is_a_usage_error() -> None:
    with pytest.raises(SupadeployError) as raised:
        parse_schema_option([" , "])
    assert raised.value.exit_code == 2 and raised.value.what == "--schema names no schema"


@pytest.mark.parametrize("command", [("verify",), ("types",)], ids=" ".join)
def test_every_command_refuses_an_empty_schema_flag_alike(project_dir: Path, db_url: str,
                                                          command: tuple[str, ...]) -> None:
    outcome = invoke(*command, "--schema", ",", "--db-url", db_url, "--workdir", str(project_dir))
    assert outcome.exit_code == 2
    assert outcome.stderr.startswith("error: --schema names no schema\n")


def test_types_takes_repeated_schema_flags(project_dir: Path, db_url: str) -> None:
    outcome = invoke("types", "--lang", "typescript", "--schema", "public", "--schema", "auth", "--json",
                     "--db-url", db_url, "--workdir", str(project_dir))
    assert outcome.exit_code == 0, outcome.output
    assert outcome.json()["schemas"] == ["public", "auth"]
