"""Interrupting the pushes a fleet runs on worker threads.

Ctrl-C and SIGTERM (a cancelled CI job) reach the main thread only; a member's push on a worker thread waits
inside libpq and would run on until the runner kills the process. So each member's push runs in a
``CancelScope``: every connection opened in it (``PostgresTarget``) is registered, and ``cancel()`` asks the
server to cancel what each one is running. The statement fails with query_canceled; the apply paths see
that their scope was cancelled and raise KeyboardInterrupt, so the push ends as an interrupted one does
(the migration in flight rolled back, the deploy-log row ``interrupted``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg

_local = threading.local()


class CancelScope:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: list[psycopg.Connection[Any]] = []
        self.cancelled = False

    def register(self, connection: psycopg.Connection[Any]) -> None:
        """A connection opened in the scope. After ``cancel()`` new ones still open: the interrupted push reads
        its history back and records the interruption on one."""
        with self._lock:
            self._connections.append(connection)

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            connections = [connection for connection in self._connections if not connection.closed]
        for connection in connections:
            with suppress(psycopg.Error, OSError):  # the session is gone already: nothing of it runs
                connection.cancel_safe(timeout=10)


def current_scope() -> CancelScope | None:
    scope: CancelScope | None = getattr(_local, "scope", None)
    return scope


@contextmanager
def inside(scope: CancelScope) -> Iterator[None]:
    """Run this thread's pushes in ``scope``."""
    _local.scope = scope
    try:
        yield
    finally:
        _local.scope = None


def cancelled_by_scope(error: BaseException) -> bool:
    """True for the query_canceled a ``CancelScope.cancel()`` caused."""
    scope = current_scope()
    return scope is not None and scope.cancelled and isinstance(error, psycopg.errors.QueryCanceled)
