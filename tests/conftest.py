from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import databases

REPO_ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.support.secret_scan"]


@pytest.fixture(scope="session", autouse=True)
def digest_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The statement-digest cache of every push in the suite (processes included), kept out of ~/.cache."""
    folder = tmp_path_factory.mktemp("digest-cache")
    previous = os.environ.get("SUPADEPLOY_CACHE_DIR")
    os.environ["SUPADEPLOY_CACHE_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("SUPADEPLOY_CACHE_DIR", None)
    else:
        os.environ["SUPADEPLOY_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    url, server = databases.find_or_start_server()
    databases.build_template(url)
    yield url
    if server is not None:
        server.stop()  # type: ignore[attr-defined]


@pytest.fixture
def make_db(pg_admin_url: str) -> Iterator[Callable[[], str]]:
    """Factory of fresh Supabase-shaped databases, all dropped at the end of the test."""
    created: list[str] = []

    def factory() -> str:
        url = databases.create_database(pg_admin_url)
        created.append(url)
        return url

    yield factory
    for url in created:
        databases.drop_database(pg_admin_url, url)


@pytest.fixture
def db_url(make_db: Callable[[], str]) -> str:
    return make_db()


@pytest.fixture
def explicit_db_url(db_url: str) -> str:
    """A fresh database on the explicit grants model (Supabase since 2026-10-30): new tables in public are not
    granted to the API roles. Every database of the suite is; the name says what a test relies on."""
    return db_url


@pytest.fixture(scope="session")
def legacy_template(pg_admin_url: str) -> str:
    """The template prepared on the legacy grants model (new tables granted to anon, authenticated and
    service_role, as projects were prepared before 2026-10-30)."""
    return databases.build_template(pg_admin_url, grants_model="legacy")


@pytest.fixture
def legacy_db_url(pg_admin_url: str, legacy_template: str) -> Iterator[str]:
    """A fresh database on the legacy grants model: for the tests about that model only."""
    url = databases.create_database(pg_admin_url, template=legacy_template)
    yield url
    databases.drop_database(pg_admin_url, url)


@pytest.fixture(scope="session")
def supabase_cli() -> str:
    """Path of the real Supabase CLI 2.117.0 (installed by .ci/run into .tools/)."""
    candidates = [
        os.environ.get("SUPABASE_CLI", ""),
        str(REPO_ROOT / ".tools" / "node_modules" / ".bin" / "supabase"),
        shutil.which("supabase") or "",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail("the Supabase CLI is not installed: run `make tools` (npm i -E supabase@2.117.0 into .tools/)")


@pytest.fixture(scope="session")
def supabase_cli3() -> str:
    """Path of the real Supabase CLI 3.1.0 (installed by `make tools` into .tools/cli3/; $SUPABASE_CLI3 overrides)."""
    installed = REPO_ROOT / ".tools" / "cli3" / "node_modules" / ".bin" / "supabase"
    candidate = os.environ.get("SUPABASE_CLI3") or str(installed)
    if Path(candidate).exists():
        return candidate
    pytest.fail("the Supabase CLI 3.1.0 is not installed: run `make tools` (npm i -E supabase@3.1.0 into .tools/cli3/)")


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """An empty project folder with supabase/migrations/."""
    (tmp_path / "supabase" / "migrations").mkdir(parents=True)
    return tmp_path
