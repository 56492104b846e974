"""A minimal circuit breaker for optional dependencies (Redis, Elasticsearch).

After a failure the dependency is skipped for ``retry_after`` seconds, so an unreachable host (a
connect timeout, not a quick refusal) costs one timeout per window instead of one per request.
Per process; thread-safe enough for its purpose (a float assignment under the GIL).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Breaker:
    def __init__(self, retry_after: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.retry_after = retry_after
        self._clock = clock
        self._open_until = 0.0
        self.last_error: str | None = None

    @property
    def is_open(self) -> bool:
        """True while the dependency should be skipped."""
        return self._clock() < self._open_until

    def failed(self, error: str) -> bool:
        """Records a failure; returns True when this failure opened the breaker (log it once)."""
        was_closed = self.last_error is None
        self.last_error = error
        self._open_until = self._clock() + self.retry_after
        return was_closed

    def succeeded(self) -> bool:
        """Records a success; returns True when this closed a previously failed breaker."""
        recovered = self.last_error is not None
        self.last_error = None
        self._open_until = 0.0
        return recovered
