from __future__ import annotations

import pytest

from aims.server.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_sustained_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=10.0, burst=5.0, clock=clock)
    assert [limiter.wait_time("a") for _ in range(5)] == [0.0] * 5
    assert limiter.wait_time("a") == pytest.approx(0.1)
    clock.now = 1.0  # ten tokens refilled, capped at the burst of five
    allowed = sum(limiter.wait_time("a") == 0.0 for _ in range(20))
    assert allowed == 5
    # Over 10 s at 20 requests/s only about rate * 10 s pass.
    passed = 0
    for step in range(200):
        clock.now = 1.0 + (step + 1) * 0.05
        passed += limiter.wait_time("a") == 0.0
    assert 99 <= passed <= 101


def test_callers_have_separate_buckets_and_idle_ones_are_pruned() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=1.0, max_callers=3, clock=clock)
    assert limiter.wait_time("a") == 0.0 and limiter.wait_time("a") > 0
    assert limiter.wait_time("b") == 0.0
    clock.now = 10.0
    for caller in ("c", "d", "e"):
        assert limiter.wait_time(caller) == 0.0
    assert len(limiter._buckets) <= 3


def test_rejects_nonsense_parameters() -> None:
    with pytest.raises(ValueError):
        RateLimiter(rate=0.0, burst=1.0)
    with pytest.raises(ValueError):
        RateLimiter(rate=1.0, burst=0.5)
