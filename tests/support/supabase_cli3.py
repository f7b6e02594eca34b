"""The reference for `supadeploy types --cli-version 3.1.0`: the real Supabase CLI 3.1.0 from .tools/cli3/.

``gen_types`` runs ``supabase gen types typescript --db-url URL`` (in process in the CLI: no Docker) in a
project folder, as a team runs it, and returns its stdout: the TypeScript, unformatted. ``sslmode=disable`` is
added to the URL (the local server has no TLS), else the CLI prints a TLS warning on stdout before the types.
``gen_types_many`` runs several at once (two at a time: each run is ~1 s, mostly start-up).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
CLI3 = REPO_ROOT / ".tools" / "cli3" / "node_modules" / ".bin" / "supabase"
VERSION = "3.1.0"


@dataclass(frozen=True)
class Cli3Request:
    url: str
    schemas: tuple[str, ...] | None  # None: the CLI's default schemas for the project folder
    workdir: Path | None = None  # None: an empty folder (no supabase/config.toml)


def available() -> bool:
    return CLI3.exists()


def without_tls(url: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["sslmode"] = "disable"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def gen_types(request: Cli3Request, timeout: float = 180) -> str:
    command = [str(CLI3), "gen", "types", "typescript", "--db-url", without_tls(request.url)]
    if request.schemas is not None:
        command += ["--schema", ",".join(request.schemas)]
    with tempfile.TemporaryDirectory(prefix="sdcli3-") as empty:
        completed = subprocess.run(command, cwd=request.workdir or empty, capture_output=True, text=True,
                                   timeout=timeout, stdin=subprocess.DEVNULL)
    if completed.returncode != 0:
        raise RuntimeError(f"supabase gen types (3.1.0) failed: {completed.stderr[-2000:]}")
    return completed.stdout


def gen_types_many(requests: Sequence[Cli3Request]) -> list[str]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(gen_types, requests))
