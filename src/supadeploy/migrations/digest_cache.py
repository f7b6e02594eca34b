"""Statement digests of migration files, remembered by file content.

The drift check compares each applied migration's statements with the history by digest
(migrations.history.statements_digest), and computing a digest means splitting the file: on a project with a
thousand migrations, most of what a push with nothing to do would cost. The digests are kept in one small
JSON file per migrations folder under the user's cache directory, keyed by a hash of each file's bytes; the
file also records a hash of the splitter's and the digest's own source, so an edited migration or a changed
splitter is a miss, never a wrong answer. A cache that cannot be read or written is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
from collections.abc import Iterable
from pathlib import Path

from supadeploy.migrations.files import Migration

CACHE_DIR_VARIABLE = "SUPADEPLOY_CACHE_DIR"
FORMAT = 1


def cache_root() -> Path:
    """$SUPADEPLOY_CACHE_DIR, else $XDG_CACHE_HOME/supadeploy, else ~/.cache/supadeploy."""
    if os.environ.get(CACHE_DIR_VARIABLE):
        return Path(os.environ[CACHE_DIR_VARIABLE])
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"  # the XDG spec ignores relative paths
    return base / "supadeploy"


def _code_version() -> str | None:
    """What the digests depend on besides the file: the splitter and the digest formula (their source files,
    found without importing the splitter: a cache hit never needs it)."""
    code = b""
    for module in ("supadeploy.migrations.splitter", "supadeploy.migrations.history"):
        spec = importlib.util.find_spec(module)
        try:
            code += Path(spec.origin if spec and spec.origin else "").read_bytes()
        except OSError:
            return None
    return hashlib.blake2b(code + str(FORMAT).encode(), digest_size=16).hexdigest()


class DigestCache:
    def __init__(self, path: Path | None, code_version: str | None, digests: dict[str, str]) -> None:
        self.path = path
        self.code_version = code_version
        self.digests = digests

    @classmethod
    def for_folder(cls, migrations_dir: Path) -> DigestCache:
        code_version = _code_version()
        try:
            folder_key = hashlib.blake2b(str(migrations_dir.resolve()).encode(), digest_size=12).hexdigest()
            path = cache_root() / "digests" / f"{folder_key}.json"
        except (OSError, RuntimeError):  # no home directory
            return cls(None, None, {})
        if code_version is None:
            return cls(None, None, {})
        return cls(path, code_version, _read(path, code_version))

    def save(self, migrations: Iterable[Migration]) -> None:
        """Remember the digests of ``migrations`` (and forget files no longer there); never raises."""
        if self.path is None:
            return
        current = {m.source_hash: m.statements_digest for m in migrations if m.source_hash}
        if current == self.digests:
            return
        import tempfile  # only when writing: a push with nothing new to remember does not pay for it

        document = {"format": FORMAT, "code": self.code_version, "digests": current}
        self.digests = current
        temporary = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".digests-", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(document, file)
            os.replace(temporary, self.path)  # concurrent pushes: the last complete file wins
        except OSError:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)


def _read(path: Path, code_version: str) -> dict[str, str]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict) or document.get("code") != code_version:
        return {}
    digests = document.get("digests")
    if not isinstance(digests, dict):
        return {}
    return {key: value for key, value in digests.items() if isinstance(key, str) and isinstance(value, str)}
