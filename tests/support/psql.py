"""Apply a file with psql, the reference for what a migration file means (`psql -X -1 -v ON_ERROR_STOP=1 -f`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

PSQL_FALLBACK = Path("/usr/lib/postgresql/15/bin/psql")


def psql_binary() -> str:
    found = shutil.which("psql")
    if found:
        return found
    if PSQL_FALLBACK.exists():
        return str(PSQL_FALLBACK)
    raise FileNotFoundError(f"psql is neither on PATH nor at {PSQL_FALLBACK}")


def libpq_environment(url: str) -> dict[str, str]:
    """The connection as libpq variables, so that no password reaches a process argument."""
    parts = urlsplit(url)
    environment = {**os.environ, "PGHOST": parts.hostname or "127.0.0.1", "PGPORT": str(parts.port or 5432),
                   "PGDATABASE": parts.path.lstrip("/"), "PGUSER": unquote(parts.username or "postgres")}
    if parts.password is not None:
        environment["PGPASSWORD"] = unquote(parts.password)
    return environment


def apply_with_psql(url: str, path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``path`` as one transaction that stops at the first error, the way the runbook applies a file by hand."""
    return subprocess.run(
        [psql_binary(), "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-f", str(path)],
        env=libpq_environment(url), capture_output=True, text=True, timeout=60,
    )
