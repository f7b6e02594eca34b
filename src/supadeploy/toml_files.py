"""TOML for every file supadeploy reads: the one tomllib shim (tomli on Python 3.10), and invalid TOML worded once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from supadeploy.errors import ConfigError

try:
    import tomllib  # type: ignore[import-not-found,unused-ignore]
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

TOMLDecodeError: type[ValueError] = tomllib.TOMLDecodeError
_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_POSITION_TEXT = re.compile(r"\s*\(at (line \d+, column \d+|end of document)\)")


def loads(text: str) -> dict[str, Any]:
    document: dict[str, Any] = tomllib.loads(text)
    return document


def invalid_toml(path: Path, error: ValueError) -> ConfigError:
    """The parser's message at file:line:column."""
    position = _POSITION.search(str(error))
    where = f"{path}:{position.group(1)}:{position.group(2)}" if position else str(path)
    message = _POSITION_TEXT.sub("", str(error))
    return ConfigError(f"invalid TOML: {message}", where=where, fix="fix the syntax (see https://toml.io)")


def read_text(path: Path) -> str:
    """The text of a TOML file; ConfigError when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path.name}: {exc.__class__.__name__}", where=str(path),
                          fix="check the file's permissions and that it is UTF-8") from None


def parse_toml_text(path: Path, text: str) -> dict[str, Any]:
    """The document ``text`` read from ``path``; ConfigError (file:line:column) when it is not TOML."""
    try:
        return loads(text)
    except TOMLDecodeError as exc:
        raise invalid_toml(path, exc) from None


def read_toml_file(path: Path) -> dict[str, Any]:
    """The document in ``path``; ConfigError (file:line:column) when it cannot be read or is not TOML."""
    return parse_toml_text(path, read_text(path))
