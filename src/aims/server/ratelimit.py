"""Per-caller rate limiting with token buckets.

Each caller (an API key, or a client address for the token route) owns a
bucket of ``burst`` tokens refilled at ``rate`` tokens per second; a request
takes one token or is refused with the time until one is available. State is
in memory, per server process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Token buckets keyed by caller.

    Parameters
    ----------
    rate
        Tokens added per second (the sustained request rate allowed).
    burst
        Bucket size: how many requests may arrive at once after a quiet spell.
    max_callers
        Idle buckets are pruned once this many callers are tracked, so a flood
        of distinct callers cannot grow memory without bound.

    Examples
    --------
    >>> clock = iter([0.0, 0.0, 0.0, 0.5]).__next__
    >>> limiter = RateLimiter(rate=2.0, burst=2.0, clock=clock)
    >>> [limiter.wait_time("k") for _ in range(3)]
    [0.0, 0.0, 0.5]
    >>> limiter.wait_time("k")  # half a second later one token is back
    0.0
    """

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        max_callers: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, got rate={rate}, burst={burst}")
        self.rate = float(rate)
        self.burst = float(burst)
        self.max_callers = max_callers
        self._clock = clock
        self._buckets: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def wait_time(self, caller: str) -> float:
        """Take a token for ``caller``: 0.0 when allowed, else seconds until a token is free."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(caller)
            if bucket is None:
                if len(self._buckets) >= self.max_callers:
                    self._prune(now)
                bucket = self._buckets[caller] = [self.burst, now]
            tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
            if tokens >= 1.0:
                bucket[0] = tokens - 1.0
                return 0.0
            bucket[0] = tokens
            return (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        # A bucket that has refilled completely carries no state worth keeping.
        full = self.burst / self.rate
        for caller in [c for c, (_, last) in self._buckets.items() if now - last >= full]:
            del self._buckets[caller]
        if len(self._buckets) >= self.max_callers:
            self._buckets.clear()
