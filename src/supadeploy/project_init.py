"""What `supadeploy init` finds in an existing repository: the migrations folder, the Supabase CLI's project.

A team adopting supadeploy already has numbered SQL files somewhere (``supabase/migrations`` when it uses the
Supabase CLI; ``backend/migrations``, ``migrations`` or ``db/migrations`` when it applies them by hand), and may
have ``supabase/config.toml`` and a linked project (``supabase/.temp/project-ref``, written by ``supabase link``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from supadeploy.config import DEFAULT_MIGRATIONS_DIR
from supadeploy.migrations.files import DOWN_FILE_SUFFIX, MIGRATION_FILE_PATTERN

MIGRATION_FOLDER_CANDIDATES = ("supabase/migrations", "backend/migrations", "migrations", "db/migrations")
PROJECT_REF_FILE = Path("supabase") / ".temp" / "project-ref"
_PROJECT_REF = re.compile(r"^[a-z]{20}$")


@dataclass(frozen=True)
class FoundFolder:
    folder: str
    migrations: int
    """Files named as the Supabase CLI names migrations (``<version>_<name>.sql``)."""
    misnamed: tuple[str, ...] = ()
    """Other ``.sql`` files: the CLI (and supadeploy) skip them."""


@dataclass(frozen=True)
class ProjectDiscovery:
    migrations_dir: str = DEFAULT_MIGRATIONS_DIR
    found: tuple[FoundFolder, ...] = ()
    has_supabase_config: bool = False
    project_ref: str | None = None
    notes: list[str] = field(default_factory=list)


def discover_project(workdir: Path) -> ProjectDiscovery:
    """The first candidate folder holding migrations (or the default), and the Supabase CLI's project files."""
    found = tuple(folder for folder in (_found(workdir, candidate) for candidate in MIGRATION_FOLDER_CANDIDATES)
                  if folder is not None)
    chosen = next((folder.folder for folder in found if folder.migrations), DEFAULT_MIGRATIONS_DIR)
    notes = [f"{folder.folder}/ also holds {folder.migrations} migration file(s); set [project] migrations_dir to "
             "use it instead" for folder in found if folder.folder != chosen and folder.migrations]
    for folder in found:
        if folder.misnamed:
            notes.append(f"{folder.folder}/: {', '.join(folder.misnamed[:3])}"
                         f"{' …' if len(folder.misnamed) > 3 else ''} do not follow <version>_<name>.sql and are "
                         "skipped (the Supabase CLI's naming rule, so the history stays the CLI's)")
    return ProjectDiscovery(migrations_dir=chosen, found=found,
                            has_supabase_config=(workdir / "supabase" / "config.toml").is_file(),
                            project_ref=_linked_project_ref(workdir), notes=notes)


def _found(workdir: Path, candidate: str) -> FoundFolder | None:
    folder = workdir / candidate
    if not folder.is_dir():
        return None
    names = sorted(path.name for path in folder.glob("*.sql") if not path.name.endswith(DOWN_FILE_SUFFIX))
    migrations = [name for name in names if MIGRATION_FILE_PATTERN.match(name)]
    return FoundFolder(candidate, len(migrations), tuple(name for name in names if name not in migrations))


def _linked_project_ref(workdir: Path) -> str | None:
    try:
        text = (workdir / PROJECT_REF_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text if _PROJECT_REF.match(text) else None


CONFIG_TEMPLATE = """\
# supadeploy configuration. Secrets never go in this file: remote database URLs are read from
# the environment variables named by db_url_env.

[project]
default_environment = "local"
migrations_dir = "{migrations_dir}"   # the numbered SQL files, applied in file-name order

[push]
lock_timeout = "10s"        # how long one statement may wait for a table lock
statement_timeout = "0"     # 0 = no limit
deploy_lock_wait = "300s"   # how long a push waits for another push to the same database
backup_dir = ".supadeploy/backups"  # pg_dump files taken before deploys to protected environments (0600,
                                    # git-ignored; outside the repository is safer still)
# keep_backups = 5          # pg_dump files kept per environment (default: all)
require_clean_git = false   # true: protected environments refuse a dirty git work tree

[verify]
fail_on = "error"           # findings that fail `verify` and `push`: error, warn or none
# schemas = ["api"]         # exposed schemas besides public

[types]
# Regenerated after every push; `supadeploy types --check` fails when they are stale.
# typescript = "src/lib/database.types.ts"
# python = "backend/db/models.py"

[environments.local]
# `supadeploy local start` (or `supabase start`) serves this database.
db_url = "postgresql://postgres:postgres@127.0.0.1:54322/postgres"

[environments.staging]
db_url_env = "STAGING_DB_URL"
{staging_project_ref}

[environments.production]
db_url_env = "PRODUCTION_DB_URL"
# project_ref = "abcdefghijklmnopqrst"
protected = true
"""


def config_text(found: ProjectDiscovery) -> str:
    """supadeploy.toml for a project: the template with the migrations folder and linked project found."""
    ref = (f'project_ref = "{found.project_ref}"   # from {PROJECT_REF_FILE.as_posix()} (supabase link)'
           if found.project_ref else '# project_ref = "abcdefghijklmnopqrst"')
    return CONFIG_TEMPLATE.format(migrations_dir=found.migrations_dir, staging_project_ref=ref)
