"""How long a command waits on a Management API that does not answer: one deadline per client (per command).

The deadline runs while no answer arrives: time in requests that time out or fail, retry back-offs and the waits
the API asks for (``Retry-After``, rate-limit resets) all count; every answer starts it again, so a long push that
keeps getting answers is never cut short. Each request's own timeouts are cut to what is left of it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from supadeploy.config import parse_duration_seconds

DEADLINE_VARIABLE = "SUPADEPLOY_API_DEADLINE"
DEFAULT_DEADLINE_SECONDS = 120.0


def deadline_seconds(read_timeout: float) -> float:
    """$SUPADEPLOY_API_DEADLINE ('90', '90s', '5min'), else the default, but never shorter than the read timeout
    the project configured ([api] timeout) unless the variable says so."""
    value = os.environ.get(DEADLINE_VARIABLE, "").strip()
    if value:
        return parse_duration_seconds(value, where=f"${DEADLINE_VARIABLE}")
    return max(DEFAULT_DEADLINE_SECONDS, read_timeout)


class Deadline:
    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self.seconds = seconds
        self._clock = clock
        self._since = clock()

    def answered(self) -> None:
        """The API answered: the wait starts again."""
        self._since = self._clock()

    def remaining(self) -> float:
        return max(0.0, self.seconds - (self._clock() - self._since))
