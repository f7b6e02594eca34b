"""A read-only Postgres session over libpq through ctypes, for checks that must start fast.

Importing psycopg costs more than a whole push with nothing to do may take (it loads asyncio,
importlib.metadata and its type system: ~0.1-0.3 s). This module loads the same libpq psycopg uses (the copy
bundled with psycopg-binary, else the system's) and runs plain-text queries: enough to read the migration
history. Everything else (every write, the deploy lock, migrations) belongs to PostgresTarget.

Errors are reported as ``LibpqError`` carrying libpq's own message; callers decide what a user sees.
"""

from __future__ import annotations

import ctypes
import importlib.util
import sys
from pathlib import Path
from types import TracebackType

CONNECTION_OK = 0
PGRES_COMMAND_OK = 1
PGRES_TUPLES_OK = 2
_SYSTEM_NAMES = {"darwin": ("libpq.5.dylib",), "win32": ("libpq.dll",)}.get(sys.platform, ("libpq.so.5",))

Row = tuple[str | None, ...]


class LibpqError(Exception):
    """libpq could not be loaded, could not connect, or a query failed."""


def _bundled_candidates() -> list[Path]:
    """libpq shipped inside psycopg-binary's wheel (found without importing psycopg)."""
    spec = importlib.util.find_spec("psycopg_binary")
    if spec is None or not spec.submodule_search_locations:
        return []
    package = Path(next(iter(spec.submodule_search_locations)))
    folders = (package.parent / "psycopg_binary.libs", package / ".dylibs")  # auditwheel/delvewheel, delocate
    return sorted(path for folder in folders if folder.is_dir() for path in folder.glob("libpq*"))


def _declare(library: ctypes.CDLL) -> ctypes.CDLL:
    pointer, text, integer = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    signatures = {
        "PQconnectdbParams": ([ctypes.POINTER(text), ctypes.POINTER(text), integer], pointer),
        "PQstatus": ([pointer], integer),
        "PQerrorMessage": ([pointer], text),
        "PQfinish": ([pointer], None),
        "PQexec": ([pointer, text], pointer),
        "PQresultStatus": ([pointer], integer),
        "PQresultErrorMessage": ([pointer], text),
        "PQntuples": ([pointer], integer),
        "PQnfields": ([pointer], integer),
        "PQgetvalue": ([pointer, integer, integer], text),
        "PQgetisnull": ([pointer, integer, integer], integer),
        "PQclear": ([pointer], None),
    }
    for name, (arguments, result) in signatures.items():
        function = getattr(library, name)
        function.argtypes = arguments
        function.restype = result
    return library


_loaded: list[ctypes.CDLL] = []


def load_libpq() -> ctypes.CDLL:
    """The libpq psycopg would use; LibpqError when there is none this process can load."""
    if _loaded:
        return _loaded[0]
    for candidate in [*map(str, _bundled_candidates()), *_SYSTEM_NAMES]:
        try:
            library = _declare(ctypes.CDLL(candidate))
        except (OSError, AttributeError):
            continue
        _loaded.append(library)
        return library
    raise LibpqError("libpq not found")


class ReadOnlySession:
    """One connection; ``rows(sql)`` runs a query and returns its rows as text (None for NULL)."""

    def __init__(self, parameters: dict[str, str]) -> None:
        """``parameters`` are libpq connection keywords; a ``dbname`` that is a URL is expanded, and the
        keywords after it override what the URL says (as psycopg.connect's keyword arguments do)."""
        self._library = load_libpq()
        keys = list(parameters)
        keywords = (ctypes.c_char_p * (len(keys) + 1))(*[key.encode() for key in keys], None)
        values = (ctypes.c_char_p * (len(keys) + 1))(*[parameters[key].encode() for key in keys], None)
        self._connection: int | None = self._library.PQconnectdbParams(keywords, values, 1)
        if self._connection is None:
            raise LibpqError("out of memory")
        if self._library.PQstatus(self._connection) != CONNECTION_OK:
            message = self._message(self._library.PQerrorMessage(self._connection))
            self.close()
            raise LibpqError(message)

    def rows(self, sql: str) -> list[Row]:
        if self._connection is None:
            raise LibpqError("the session is closed")
        library = self._library
        result = library.PQexec(self._connection, sql.encode())
        if result is None:
            raise LibpqError(self._message(library.PQerrorMessage(self._connection)))
        try:
            status = library.PQresultStatus(result)
            if status not in (PGRES_TUPLES_OK, PGRES_COMMAND_OK):
                raise LibpqError(self._message(library.PQresultErrorMessage(result)))
            fields = range(library.PQnfields(result))
            value, is_null = library.PQgetvalue, library.PQgetisnull
            return [
                tuple(None if is_null(result, row, field) else value(result, row, field).decode() for field in fields)
                for row in range(library.PQntuples(result))
            ]
        finally:
            library.PQclear(result)

    def connected(self) -> bool:
        """False once the connection is gone (e.g. lost during a query)."""
        return self._connection is not None and self._library.PQstatus(self._connection) == CONNECTION_OK

    def close(self) -> None:
        if self._connection is not None:
            self._library.PQfinish(self._connection)
            self._connection = None

    def __enter__(self) -> ReadOnlySession:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    @staticmethod
    def _message(raw: bytes | None) -> str:
        return (raw or b"").decode(errors="replace").strip() or "unknown libpq error"
