"""Discover, read and validate the migration files in supabase/migrations/."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from supadeploy.errors import MigrationFileError
from supadeploy.migrations.header import Directives, RunbookHeader, parse_directives, parse_header

if TYPE_CHECKING:
    from supadeploy.migrations.executable import ExecutableSql
    from supadeploy.migrations.splitter import Statement

# The Supabase CLI's rule for migration file names.
MIGRATION_FILE_PATTERN = re.compile(r"^([0-9]+)_(.*)\.sql$")
_NOT_BLANK = re.compile("[^\\s\ufeff]")
# Above this size a file's statements are streamed rather than kept (digest, history row).
LARGE_FILE_CHARS = 1 << 20
# Down SQL for `supadeploy rollback` (docs/safety.md); the Supabase CLI would apply it as a migration.
DOWN_FILE_SUFFIX = ".down.sql"


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path
    sql: str
    source_hash: str = field(default="", compare=False, repr=False)
    """A hash of the file's bytes (see ``source_hash``): what the digest cache is keyed by."""
    known_statements_digest: str | None = field(default=None, compare=False, repr=False)
    """The statements digest, when the digest cache already knows it (spares splitting the file)."""

    @property
    def file_name(self) -> str:
        return self.path.name

    @functools.cached_property
    def header(self) -> RunbookHeader:
        return parse_header(self.sql)

    @functools.cached_property
    def directives(self) -> Directives:
        return parse_directives(self.sql)

    @functools.cached_property
    def statements(self) -> tuple[Statement, ...]:
        """The statements as the Supabase CLI splits and stores them (split on first use)."""
        from supadeploy.migrations.splitter import split_statements

        return tuple(split_statements(self.sql))

    @property
    def statement_texts(self) -> list[str]:
        return [statement.text for statement in self.statements]

    @functools.cached_property
    def statements_digest(self) -> str:
        """The digest the drift check compares with the history (see migrations.history.statements_digest)."""
        if self.known_statements_digest is not None:
            return self.known_statements_digest
        from supadeploy.migrations.history import statements_digest

        return statements_digest(self.iter_statement_texts())

    def iter_statement_texts(self) -> Iterator[str]:
        """The CLI's statements one at a time: a big file is split without holding its statements as a list."""
        if "statements" in self.__dict__ or len(self.sql) < LARGE_FILE_CHARS:
            yield from self.statement_texts
            return
        from supadeploy.migrations.splitter import iter_statements

        yield from (statement.text for statement in iter_statements(self.sql))

    @property
    def transactional(self) -> bool:
        return not self.directives.no_transaction

    def executable(self, *, standard_conforming_strings: bool = True) -> ExecutableSql:
        """What runs: the file's statements as PostgreSQL's lexer and psql split them, checked (transaction
        control, COPY FROM STDIN, meta-commands). MigrationFileError at file:line when refused."""
        cache: dict[bool, ExecutableSql] = self.__dict__.setdefault("_executable", {})
        if standard_conforming_strings not in cache:
            from supadeploy.migrations.executable import prepare_sql

            small = len(self.sql) < LARGE_FILE_CHARS  # a big file is not split into a list for the fast path
            cli = [(st.offset, st.offset + len(st.text)) for st in self.statements] if small else None
            cache[standard_conforming_strings] = prepare_sql(
                self.sql, self.path, transactional=self.transactional,
                standard_conforming_strings=standard_conforming_strings, cli_statements=cli)
        return cache[standard_conforming_strings]

    def location(self, offset: int) -> str:
        """file:line:column of a character offset in this file."""
        from supadeploy.migrations.splitter import line_and_column

        line, column = line_and_column(self.sql, offset)
        return f"{self.path}:{line}:{column}"


@dataclass(frozen=True)
class Discovery:
    migrations: list[Migration]
    warnings: list[str]

    def by_version(self) -> dict[str, Migration]:
        return {migration.version: migration for migration in self.migrations}


def discover_migrations(directory: Path, known_digests: Mapping[str, str] | None = None) -> Discovery:
    """Read every migration in ``directory``, ordered as the Supabase CLI orders them (by file name).

    Files are validated before anything is applied: unreadable or non-UTF-8 files, empty files and two
    files with the same version raise MigrationFileError naming the file. ``known_digests`` maps source hashes
    to statements digests already computed (migrations.digest_cache). A ``.sql`` file whose name
    does not match ``<version>_<name>.sql`` is skipped with a warning, as the CLI does. ``<version>_<name>.down.sql``
    files hold rollback SQL and are not migrations (``supadeploy lint`` warns that the CLI would apply them).
    A name matching ``<version>_<name>.sql`` that is not a regular file (nor a symlink to one) is refused.
    """
    if not directory.is_dir():
        raise MigrationFileError(
            "migrations folder not found", where=str(directory),
            fix="run `supadeploy init` or pass --workdir pointing at the folder that holds supabase/",
        )
    warnings: list[str] = []
    migrations: list[Migration] = []
    seen: dict[str, Path] = {}
    with os.scandir(directory) as scanned:  # scandir knows file kinds without a stat per file
        entries = sorted(scanned, key=lambda entry: entry.name)
    for entry in entries:  # before any file is read: opening a FIFO would block for ever
        refuse_special_file(entry)
    for entry in entries:
        file_name = entry.name
        if not file_name.endswith(".sql") or file_name.endswith(DOWN_FILE_SUFFIX) or entry.is_dir():
            continue
        path = directory / file_name
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
        migrations.append(read_migration(path, version, name, known_digests))
    return Discovery(migrations=migrations, warnings=warnings)


def refuse_special_file(entry: os.DirEntry[str]) -> None:
    """MigrationFileError for an entry named like a migration that is not a regular file: a FIFO would block the
    push for ever; a directory, socket or device cannot be a migration. A symlink to a regular file is fine (a
    broken one is left to read_migration, which says it cannot be read)."""
    if not MIGRATION_FILE_PATTERN.match(entry.name) or entry.is_file():  # is_file follows symlinks
        return
    try:
        mode = entry.stat().st_mode
    except OSError:
        return
    raise MigrationFileError(f"not a regular file but {_special_file_kind(mode)}; nothing was read or applied",
                             where=entry.path,
                             fix="replace it with a regular .sql file, or move it out of the migrations folder")


def _special_file_kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
    return next((kind for is_kind, kind in kinds if is_kind(mode)), "a special file")


def read_migration(path: Path, version: str, name: str, known_digests: Mapping[str, str] | None = None) -> Migration:
    data = _read_bytes(path)
    sql = _decode(data, path)
    if _NOT_BLANK.search(sql) is None:  # (no .strip(): a 50 MB file would be copied)
        raise MigrationFileError("migration file is empty", where=str(path),
                                 fix="add the migration's SQL, or delete the file")
    digest_key = source_hash(data)
    return Migration(
        version=version, name=name, path=path, sql=sql,
        source_hash=digest_key,
        known_statements_digest=known_digests.get(digest_key) if known_digests else None,
    )


def source_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def read_text(path: Path) -> str:
    """A SQL file's text; MigrationFileError naming the file when it cannot be read or is not UTF-8."""
    return _decode(_read_bytes(path), path)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise MigrationFileError(f"cannot read migration file: {exc.strerror or exc}", where=str(path),
                                 fix="check that the file exists and is readable") from None


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise MigrationFileError(
            f"migration file is not valid UTF-8 (byte 0x{data[exc.start]:02x})", where=f"{path}:{line}:{column}",
            fix="save the file as UTF-8",
        ) from None
