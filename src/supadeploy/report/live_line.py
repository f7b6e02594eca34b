"""One status line kept up to date in place on a terminal (stderr): ``fleet push`` shows its counts there,
and the messages in between are printed above it as ordinary lines."""

from __future__ import annotations

import shutil
import sys
import threading
from typing import TextIO

_CLEAR = "\r\x1b[2K"


class LiveLine:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._line = ""
        self._lock = threading.Lock()

    def show(self, text: str) -> None:
        """Replace the status line with ``text`` (cut to the terminal's width)."""
        width = shutil.get_terminal_size((100, 24)).columns - 1
        with self._lock:
            self._line = text[:width]
            self._stream.write(_CLEAR + self._line)
            self._stream.flush()

    def say(self, text: str) -> None:
        """A message printed above the status line, which stays below it."""
        with self._lock:
            self._stream.write(f"{_CLEAR}{text}\n{self._line}")
            self._stream.flush()

    def close(self) -> None:
        """The last status line kept, as an ordinary line."""
        with self._lock:
            if self._line:
                self._stream.write(f"{_CLEAR}{self._line}\n")
                self._stream.flush()
            self._line = ""
