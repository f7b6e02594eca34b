"""A fault-injecting TCP proxy (standard library, threads) for the reliability tests.

It listens on 127.0.0.1 and forwards every connection to one upstream (the real Postgres, or the local
Management API server). Bytes from the client to the server travel "up", replies travel "down". Faults are
armed on the proxy and fire on the traffic that follows:

* ``drop(direction, at_byte=N)``: forward the first N bytes of that direction (counted over every connection
  since the fault was armed), then close both sides of the connection carrying byte N.
* ``drop(direction, before=PATTERN)``: forward everything up to the pattern, then close; the pattern itself
  and everything after it never arrive. ``armed_by=PATTERN`` makes the fault count only once an "up" chunk
  carrying that pattern went through on the same connection (e.g. "drop the reply to the request that holds
  this migration"); with ``sticky=True``, on every connection from then on (an outage that starts there).
* ``stall(direction, seconds, ...)``: hold that direction for ``seconds`` when the fault fires, then go on.
* ``latency(seconds)``: delay every chunk in both directions.

A fault fires ``times`` times (default once), then the proxy is transparent again, so the rerun a test makes
afterwards goes through the same proxy. Everything stays on 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

Direction = Literal["up", "down"]
DIRECTIONS: tuple[Direction, ...] = ("up", "down")
CHUNK = 65536
# Postgres's CommandComplete message for COMMIT: 'C', int32 length (4 + len("COMMIT\0")), "COMMIT\0".
# The server sends it only once the transaction has committed.
PG_COMMIT_COMPLETE = b"C\x00\x00\x00\x0bCOMMIT\x00"


@dataclass
class Fault:
    kind: Literal["drop", "stall"]
    direction: Direction
    at_byte: int | None = None
    before: bytes | None = None
    armed_by: bytes | None = None
    sticky: bool = False         # armed_by arms the fault on every connection, from then on
    seconds: float = 0.0
    times: int = 1
    seen: int = 0                # bytes of this direction counted towards at_byte
    fired: int = 0


@dataclass
class Stats:
    connections: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    faults_fired: list[str] = field(default_factory=list)


class _Connection:
    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client = client
        self.server = server
        self.armed: set[bytes] = set()     # armed_by patterns seen on this connection's up stream
        self.tails: dict[Direction, bytes] = {"up": b"", "down": b""}
        self.closed = threading.Event()

    def close(self) -> None:
        self.closed.set()
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.stats = Stats()
        self._faults: list[Fault] = []
        self._seen_patterns: set[bytes] = set()   # sticky armed_by patterns seen on any connection
        self._latency = 0.0
        self._lock = threading.Lock()
        self._connections: list[_Connection] = []
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self._stopped = threading.Event()

    # --- lifecycle -------------------------------------------------------------------------------------

    @classmethod
    def for_url(cls, url: str) -> FaultProxy:
        parts = urlsplit(url)
        default_port = 5432 if parts.scheme.startswith("postgres") else 80
        return cls(parts.hostname or "127.0.0.1", parts.port or default_port)

    @property
    def port(self) -> int:
        assert self._listener is not None
        return int(self._listener.getsockname()[1])

    def url(self, upstream_url: str) -> str:
        """``upstream_url`` with its host and port replaced by the proxy's."""
        parts = urlsplit(upstream_url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else f"127.0.0.1:{self.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    def start(self) -> FaultProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(0.1)
        self._listener = listener
        self._accepting = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)
        self._accepting.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._accepting is not None:
            self._accepting.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
        self.drop_all()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- faults ----------------------------------------------------------------------------------------

    def drop(self, direction: Direction, *, at_byte: int | None = None, before: bytes | None = None,
             armed_by: bytes | None = None, sticky: bool = False, times: int = 1) -> Fault:
        return self._arm(Fault("drop", direction, at_byte=at_byte, before=before, armed_by=armed_by, sticky=sticky,
                               times=times))

    def stall(self, direction: Direction, seconds: float, *, at_byte: int | None = None,
              before: bytes | None = None, armed_by: bytes | None = None, times: int = 1) -> Fault:
        return self._arm(Fault("stall", direction, at_byte=at_byte, before=before, armed_by=armed_by,
                               seconds=seconds, times=times))

    def latency(self, seconds: float) -> None:
        self._latency = seconds

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._seen_patterns.clear()
        self._latency = 0.0

    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    def drop_all(self) -> None:
        """Close every open connection (a network cut)."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close()

    def open_connections(self) -> int:
        with self._lock:
            return sum(1 for connection in self._connections if not connection.closed.is_set())

    def _arm(self, fault: Fault) -> Fault:
        if fault.at_byte is None and fault.before is None:
            fault.at_byte = 0
        with self._lock:
            self._faults.append(fault)
        return fault

    # --- forwarding ------------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            client.settimeout(None)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = _Connection(client, server)
            with self._lock:
                self.stats.connections += 1
                self._connections = [c for c in self._connections if not c.closed.is_set()] + [connection]
            for direction in ("up", "down"):
                threading.Thread(target=self._pump, args=(connection, direction), daemon=True,
                                 name=f"fault-proxy-{direction}").start()

    def _pump(self, connection: _Connection, direction: Direction) -> None:
        source, sink = ((connection.client, connection.server) if direction == "up"
                        else (connection.server, connection.client))
        try:
            while not connection.closed.is_set():
                chunk = source.recv(CHUNK)
                if not chunk:
                    break
                if self._latency:
                    time.sleep(self._latency)
                if not self._forward(connection, direction, chunk, sink):
                    return
        except OSError:
            pass
        connection.close()

    def _forward(self, connection: _Connection, direction: Direction, chunk: bytes, sink: socket.socket) -> bool:
        """Send ``chunk`` on (all, part or none of it, per the faults); False once the connection is dropped."""
        while chunk:
            fault, cut = self._next_fault(connection, direction, chunk)
            if fault is None:
                sink.sendall(chunk)
                self._count(direction, len(chunk))
                return True
            head, chunk = chunk[:cut], chunk[cut:]
            if head:
                sink.sendall(head)
                self._count(direction, len(head))
            with self._lock:
                self.stats.faults_fired.append(f"{fault.kind} {direction}")
            if fault.kind == "drop":
                connection.close()
                return False
            connection.closed.wait(fault.seconds)   # a stall: bounded, ends early if the connection closes
            if connection.closed.is_set():
                return False
        return True

    def _next_fault(self, connection: _Connection, direction: Direction, chunk: bytes) -> tuple[Fault | None, int]:
        """The first fault that fires within ``chunk`` and the offset where it cuts; updates the counters."""
        tail = connection.tails[direction]
        window = tail + chunk
        with self._lock:
            if direction == "up":
                for fault in self._faults:
                    if fault.armed_by is not None and fault.armed_by in window:
                        connection.armed.add(fault.armed_by)
                        if fault.sticky:
                            self._seen_patterns.add(fault.armed_by)
            chosen: tuple[Fault, int] | None = None
            for fault in self._faults:
                if fault.direction != direction or not self._is_armed(fault, connection):
                    continue
                cut = _cut(fault, len(tail), window, len(chunk))
                if cut is not None and (chosen is None or cut < chosen[1]):
                    chosen = (fault, cut)
            passed = len(chunk) if chosen is None else chosen[1]
            for fault in self._faults:
                if fault.direction == direction and fault.at_byte is not None and self._is_armed(fault, connection):
                    fault.seen += passed
            connection.tails[direction] = (tail + chunk[:passed])[-256:]
            if chosen is None:
                return None, 0
            fault, cut = chosen
            fault.fired += 1
            fault.seen = 0
            if fault.fired >= fault.times:
                self._faults.remove(fault)
            return fault, cut

    def _is_armed(self, fault: Fault, connection: _Connection) -> bool:
        return (fault.armed_by is None or fault.armed_by in connection.armed
                or (fault.sticky and fault.armed_by in self._seen_patterns))

    def _count(self, direction: Direction, length: int) -> None:
        with self._lock:
            if direction == "up":
                self.stats.bytes_up += length
            else:
                self.stats.bytes_down += length


def _cut(fault: Fault, tail_length: int, window: bytes, chunk_length: int) -> int | None:
    """Where ``fault`` cuts a chunk (bytes of it forwarded first), or None when it does not fire in it."""
    if fault.at_byte is not None:
        remaining = fault.at_byte - fault.seen
        return max(remaining, 0) if remaining < chunk_length else None
    assert fault.before is not None
    # only a match that ends inside the new chunk (one seen earlier went through before the fault was armed)
    index = window.find(fault.before, max(tail_length - len(fault.before) + 1, 0))
    return None if index < 0 else max(index - tail_length, 0)


@contextlib.contextmanager
def proxy_for(url: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy.for_url(url).start()
    try:
        yield proxy
    finally:
        proxy.stop()
