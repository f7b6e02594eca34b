"""Stay inside the Management API's published rate limits instead of waiting for a 429.

Two sources, whichever asks for the longer pause wins:

* the published budget per endpoint (120 requests per minute; ``POST /database/migrations`` 120 per
  3 minutes), counted over a sliding window of our own requests;
* the server's ``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` headers from the last response of that
  endpoint: with nothing left we wait for the reset, and when few requests remain we spread them over the
  time until the reset.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

DEFAULT_BUDGET = (120, 60.0)
PUBLISHED_BUDGETS: dict[str, tuple[int, float]] = {
    "POST /v1/projects/{ref}/database/migrations": (120, 180.0),
}
# Below this share of the limit left, requests are spread out over the time until the reset.
SPREAD_BELOW = 0.1
# An X-RateLimit-Reset larger than this is an epoch timestamp, not a number of seconds.
_EPOCH_SECONDS = 1_000_000_000
_EPOCH_MILLISECONDS = 1_000_000_000_000


@dataclass
class _EndpointState:
    limit: int
    window_seconds: float
    sent: deque[float] = field(default_factory=deque)
    server_limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None


class RateLimitPacer:
    def __init__(self, *, clock: Callable[[], float], wall_clock: Callable[[], float],
                 budgets: Mapping[str, tuple[int, float]] | None = None) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        self._budgets = {**PUBLISHED_BUDGETS, **(budgets or {})}
        self._endpoints: dict[str, _EndpointState] = {}

    def _state(self, endpoint: str) -> _EndpointState:
        if endpoint not in self._endpoints:
            limit, window = self._budgets.get(endpoint, DEFAULT_BUDGET)
            self._endpoints[endpoint] = _EndpointState(limit=limit, window_seconds=window)
        return self._endpoints[endpoint]

    def delay_before(self, endpoint: str) -> float:
        """Seconds to wait before the next request to ``endpoint``."""
        state = self._state(endpoint)
        now = self._clock()
        while state.sent and state.sent[0] <= now - state.window_seconds:
            state.sent.popleft()
        delay = 0.0
        if len(state.sent) >= state.limit:
            delay = state.sent[0] + state.window_seconds - now
        if state.remaining is not None and state.reset_at is not None and state.reset_at > now:
            until_reset = state.reset_at - now
            if state.remaining <= 0:
                delay = max(delay, until_reset)
            elif state.remaining < max(1, (state.server_limit or state.limit) * SPREAD_BELOW):
                delay = max(delay, until_reset / (state.remaining + 1))
        return max(0.0, delay)

    def record_request(self, endpoint: str) -> None:
        state = self._state(endpoint)
        state.sent.append(self._clock())
        if state.remaining is not None:
            state.remaining -= 1

    def observe(self, endpoint: str, headers: Mapping[str, str]) -> None:
        """Read the server's X-RateLimit-* headers from a response."""
        state = self._state(endpoint)
        lowered = {key.lower(): value for key, value in headers.items()}
        limit = _number(lowered.get("x-ratelimit-limit"))
        remaining = _number(lowered.get("x-ratelimit-remaining"))
        reset = _number(lowered.get("x-ratelimit-reset"))
        if limit is not None and limit >= 1:
            state.server_limit = int(limit)
        if remaining is None or reset is None:
            return
        state.remaining = int(remaining)
        state.reset_at = self._clock() + self._seconds_until(reset)

    def _seconds_until(self, reset: float) -> float:
        if reset >= _EPOCH_MILLISECONDS:
            return max(0.0, reset / 1000 - self._wall_clock())
        if reset >= _EPOCH_SECONDS:
            return max(0.0, reset - self._wall_clock())
        return max(0.0, reset)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None
