"""Per-caller rate limiting with token buckets.

Each caller (an API key, or a client address for the token route) owns a
bucket of ``burst`` tokens refilled at ``rate`` tokens per second; a request
takes one token or is refused with the time until one is available. State is
in memory, per server process.

Client addresses are bucketed with :func:`address_bucket`: an IPv6 client
usually holds a whole /64, so its addresses share one bucket.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable


def address_bucket(address: str) -> str:
    """The rate-limit bucket of a client address: itself for IPv4, its /64 for IPv6.

    Examples
    --------
    >>> address_bucket("192.0.2.7"), address_bucket("2001:db8::1"), address_bucket("unknown")
    ('192.0.2.7', '2001:db8::/64', 'unknown')
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


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
