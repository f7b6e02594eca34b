"""The HTTP server under the tests' local API servers (Management API, GitHub REST)."""

from __future__ import annotations

from http.server import ThreadingHTTPServer
from typing import Any

ACCEPT_TIMEOUT_SECONDS = 0.5


class LocalHttpServer(ThreadingHTTPServer):
    """Quiet about clients that hang up, and with an accept() that cannot block shutdown.

    serve_forever() waits in select() and then calls accept() on a blocking socket: a connection the client
    dropped in between leaves it blocked in accept() for good, and shutdown() waits for it forever (seen once
    in a CI run, in test_pr_comment's teardown). With a timeout on the listening socket, accept() gives up
    (an OSError serve_forever ignores); the sockets it accepts are blocking as before.
    """

    daemon_threads = True

    def server_activate(self) -> None:
        super().server_activate()
        self.socket.settimeout(ACCEPT_TIMEOUT_SECONDS)

    def handle_error(self, request: Any, client_address: Any) -> None:  # clients hanging up are expected
        pass
