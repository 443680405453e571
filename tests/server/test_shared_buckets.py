"""Rate-limit buckets in a mapped file: shared by every mapping, apart per namespace."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from aims.server.shared_buckets import (
    PROBES,
    SharedBuckets,
    SharedRateLimiter,
    create_bucket_file,
    fingerprint,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def bucket_file():
    path = create_bucket_file(slots=64)
    yield path
    shutil.rmtree(path.parent)


def test_two_mappings_take_from_one_bucket(bucket_file: Path) -> None:
    # Two mappings of one file stand for two workers.
    clock = Clock()
    first = SharedRateLimiter(SharedBuckets(bucket_file), "key", 1.0, 4.0, clock=clock)
    second = SharedRateLimiter(SharedBuckets(bucket_file), "key", 1.0, 4.0, clock=clock)
    waits = [limiter.wait_time("k1") for limiter in (first, second, first, second, first)]
    assert waits == [0.0, 0.0, 0.0, 0.0, 1.0]
    assert second.wait_time("k1") == 1.0
    clock.now += 1.0  # one token back, for whichever worker asks first
    assert second.wait_time("k1") == 0.0
    assert first.wait_time("k1") == 1.0
    # Another caller, and the same caller of another namespace, have their own buckets.
    assert first.wait_time("k2") == 0.0
    other = SharedRateLimiter(SharedBuckets(bucket_file), "address", 1.0, 4.0, clock=clock)
    assert other.wait_time("k1") == 0.0


def test_a_full_neighbourhood_gives_up_the_idlest_bucket(bucket_file: Path) -> None:
    clock = Clock()
    buckets = SharedBuckets(bucket_file)
    limiter = SharedRateLimiter(buckets, "key", 1.0, 2.0, clock=clock)
    # Callers whose fingerprints all fall on slot 5: more than a neighbourhood holds.
    crowd = [c for c in (f"caller-{i}" for i in range(20_000)) if fingerprint(f"key:{c}") % 64 == 5]
    crowd = crowd[: PROBES + 1]
    assert len(crowd) == PROBES + 1
    for caller in crowd[:PROBES]:
        clock.now += 1.0
        assert limiter.wait_time(caller) == 0.0
        assert limiter.wait_time(caller) == 0.0  # its burst used up
    clock.now += 0.1
    # The newcomer takes the slot of the caller served longest ago, with a full burst.
    assert limiter.wait_time(crowd[PROBES]) == 0.0
    held = {buckets.read(i)[0] for i in range(5, 5 + PROBES)}
    assert fingerprint(f"key:{crowd[0]}") not in held
    assert fingerprint(f"key:{crowd[PROBES]}") in held
    # The others kept theirs: still empty.
    assert limiter.wait_time(crowd[PROBES - 1]) > 0.0


def test_a_file_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "buckets"
    path.write_bytes(b"\0" * 100)
    with pytest.raises(ValueError, match="is not a bucket file"):
        SharedBuckets(path)


def test_the_gateways_limits_are_shared_by_the_workers(bucket_file: Path, workspace: Any) -> None:
    # Two gateway proxies, as two workers' would be after start-up, each given the
    # mapped buckets: an agent's burst and a tool's burst hold across them.
    from prometheus_client import CollectorRegistry

    from aims.server.gateway.proxy import GatewayProxy
    from aims.server.gateway.recorder import GatewayMetrics
    from aims.server.workers import _share_gateway_limits
    from aims.services.gateway.policy import gateway_policy

    policy = gateway_policy({"agent_burst": 3, "tool_burst": 5, "list_burst": 2})
    proxies = []
    for _ in range(2):
        proxy = GatewayProxy(
            workspace, policy, metrics=GatewayMetrics(CollectorRegistry()), salt="s"
        )
        app = SimpleNamespace(state=SimpleNamespace(gateway=SimpleNamespace(proxy=proxy)))
        _share_gateway_limits(app, SharedBuckets(bucket_file))
        proxies.append(proxy)
    try:
        taken = [p.agent_limiter.wait_time("agent-a") == 0.0 for p in proxies * 3]
        assert taken.count(True) == 3  # not 3 per worker
        assert [p.listing_limiter.wait_time("agent-a") == 0.0 for p in proxies * 2].count(True) == 2
        assert [p.tool_limiter.wait_time("srv/t") == 0.0 for p in proxies * 4].count(True) == 5
        # Each limiter keeps its own namespace: the agent's drained bucket is not the tool's.
        assert proxies[0].tool_limiter.wait_time("agent-a") == 0.0
    finally:
        for proxy in proxies:
            proxy.recorder.close()
