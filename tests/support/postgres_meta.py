"""The reference for `supadeploy types`: @supabase/postgres-meta 0.99.0 run with node from .tools/.

``generate`` runs postgres-meta itself (``node dist/server/server.js`` in type-generation mode: it prints the
types and exits, ~2 s, mostly node start-up). ``generate_many`` runs the same generation for many databases
in one node process (postgres_meta_batch.mjs calls exactly what server.js calls); a test checks both agree.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
NODE_MODULES = REPO_ROOT / ".tools" / "node_modules"
SERVER = NODE_MODULES / "@supabase" / "postgres-meta" / "dist" / "server" / "server.js"
BATCH = Path(__file__).resolve().parent / "postgres_meta_batch.mjs"
CORPUS = REPO_ROOT / "tests" / "corpus" / "types"


@dataclass(frozen=True)
class Request:
    url: str
    schemas: tuple[str, ...]
    lang: str = "typescript"
    one_to_one: bool = True
    postgrest_version: str | None = None


def available() -> bool:
    return SERVER.is_file()


def environment(request: Request) -> dict[str, str]:
    env = {
        **os.environ,
        "PG_META_DB_URL": request.url,
        "PG_META_GENERATE_TYPES": request.lang,
        "PG_META_GENERATE_TYPES_INCLUDED_SCHEMAS": ",".join(request.schemas),
        "PG_META_GENERATE_TYPES_DETECT_ONE_TO_ONE_RELATIONSHIPS": "true" if request.one_to_one else "false",
    }
    if request.postgrest_version:
        env["PG_META_POSTGREST_VERSION"] = request.postgrest_version
    return env


def generate(request: Request, timeout: float = 180) -> str:
    """postgres-meta's stdout, from ``node dist/server/server.js``."""
    completed = subprocess.run(["node", str(SERVER)], env=environment(request), capture_output=True, text=True,
                               timeout=timeout)
    if completed.returncode != 0:
        raise RuntimeError(f"postgres-meta failed for {request}: {completed.stderr[-2000:]}")
    return completed.stdout


def generate_many(requests: list[Request], timeout: float = 300) -> list[str]:
    """What ``generate`` prints, for each request, from one node process."""
    payload = [{"url": request.url, "schemas": list(request.schemas), "lang": request.lang,
                "oneToOne": request.one_to_one, "postgrestVersion": request.postgrest_version}
               for request in requests]
    completed = subprocess.run(["node", str(BATCH), str(NODE_MODULES)], input=json.dumps(payload),
                               capture_output=True, text=True, timeout=timeout)
    if completed.returncode != 0:
        raise RuntimeError(f"postgres-meta (batch) failed: {completed.stderr[-2000:]}")
    results: list[str] = json.loads(completed.stdout)
    return results


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.sql"))


def corpus_schemas(path: Path) -> tuple[str, ...]:
    """The schemas a corpus file is generated for: its ``-- schemas: a,b`` header line."""
    match = re.search(r"^-- schemas: (.+)$", path.read_text(encoding="utf-8"), re.MULTILINE)
    return tuple(part.strip() for part in match.group(1).split(",")) if match else ("public",)


def load_sql(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql.encode("utf-8"))
