"""`__version__` comes from the installed package's metadata (pyproject.toml is its one source)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest

import supadeploy
from tests.support.cli import invoke, run_process


def test_version_is_the_package_metadata() -> None:
    assert supadeploy.__version__ == importlib.metadata.version("supadeploy")
    assert invoke("--version").stdout == f"supadeploy {importlib.metadata.version('supadeploy')}\n"


def test_a_source_tree_that_was_never_installed_has_an_unknown_version(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    installed = supadeploy.__version__  # cached in the module: restored as it was after the test
    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    monkeypatch.delitem(vars(supadeploy), "__version__")
    assert supadeploy.__version__ == supadeploy.UNKNOWN_VERSION != installed


def test_help_does_not_read_the_package_metadata() -> None:
    completed = subprocess.run([sys.executable, "-X", "importtime", "-m", "supadeploy", "--help"],
                               capture_output=True, text=True, timeout=60, check=True)
    assert "importlib.metadata" not in completed.stderr


def test_version_flag_prints_the_version_in_a_real_process() -> None:
    assert run_process("--version").stdout == f"supadeploy {importlib.metadata.version('supadeploy')}\n"
