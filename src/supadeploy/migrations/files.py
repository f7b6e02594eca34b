"""Discover, read and validate the migration files in supabase/migrations/."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from supadeploy.errors import MigrationFileError
from supadeploy.migrations.header import Directives, RunbookHeader, parse_directives, parse_header
from supadeploy.migrations.splitter import Statement, line_and_column, split_statements

# The Supabase CLI's rule for migration file names.
MIGRATION_FILE_PATTERN = re.compile(r"^([0-9]+)_(.*)\.sql$")
# Down SQL for `supadeploy rollback` (docs/safety.md); the Supabase CLI would apply it as a migration.
DOWN_FILE_SUFFIX = ".down.sql"


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path
    sql: str
    statements: tuple[Statement, ...]
    header: RunbookHeader
    directives: Directives

    @property
    def file_name(self) -> str:
        return self.path.name

    @property
    def statement_texts(self) -> list[str]:
        return [statement.text for statement in self.statements]

    @functools.cached_property
    def statements_digest(self) -> str:
        """The digest the drift check compares with the history (see migrations.history.statements_digest)."""
        from supadeploy.migrations.history import statements_digest

        return statements_digest(self.statement_texts)

    @property
    def transactional(self) -> bool:
        return not self.directives.no_transaction

    def location(self, offset: int) -> str:
        """file:line:column of a character offset in this file."""
        line, column = line_and_column(self.sql, offset)
        return f"{self.path}:{line}:{column}"


@dataclass(frozen=True)
class Discovery:
    migrations: list[Migration]
    warnings: list[str]

    def by_version(self) -> dict[str, Migration]:
        return {migration.version: migration for migration in self.migrations}


def discover_migrations(directory: Path) -> Discovery:
    """Read every migration in ``directory``, ordered as the Supabase CLI orders them (by file name).

    Files are validated before anything is applied: unreadable or non-UTF-8 files, empty files and two
    files with the same version raise MigrationFileError naming the file. A ``.sql`` file whose name
    does not match ``<version>_<name>.sql`` is skipped with a warning, as the CLI does. ``<version>_<name>.down.sql``
    files hold rollback SQL and are not migrations (``supadeploy lint`` warns that the CLI would apply them).
    """
    if not directory.is_dir():
        raise MigrationFileError(
            "migrations folder not found", where=str(directory),
            fix="run `supadeploy init` or pass --workdir pointing at the folder that holds supabase/",
        )
    warnings: list[str] = []
    migrations: list[Migration] = []
    seen: dict[str, Path] = {}
    for path in sorted(directory.iterdir(), key=lambda p: p.name):
        if not path.name.endswith(".sql") or path.name.endswith(DOWN_FILE_SUFFIX) or path.is_dir():
            continue
        match = MIGRATION_FILE_PATTERN.match(path.name)
        if not match:
            warnings.append(
                f"{path}: skipped: file name must match <version>_<name>.sql, e.g. 20240101120000_create_users.sql"
            )
            continue
        version, name = match.group(1), match.group(2)
        if version in seen:
            raise MigrationFileError(
                f"two migration files have version {version}: {seen[version].name} and {path.name}",
                where=str(path), fix="give one of them the next free version number",
            )
        seen[version] = path
        migrations.append(read_migration(path, version, name))
    return Discovery(migrations=migrations, warnings=warnings)


def read_migration(path: Path, version: str, name: str) -> Migration:
    sql = _read_text(path)
    if not sql.strip().lstrip("\ufeff").strip():
        raise MigrationFileError("migration file is empty", where=str(path),
                                 fix="add the migration's SQL, or delete the file")
    return Migration(
        version=version, name=name, path=path, sql=sql,
        statements=tuple(split_statements(sql)),
        header=parse_header(sql), directives=parse_directives(sql),
    )


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MigrationFileError(f"cannot read migration file: {exc.strerror or exc}", where=str(path),
                                 fix="check that the file exists and is readable") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise MigrationFileError(
            f"migration file is not valid UTF-8 (byte 0x{data[exc.start]:02x})", where=f"{path}:{line}:{column}",
            fix="save the file as UTF-8",
        ) from None
