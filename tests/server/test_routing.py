from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from scipy import stats

from aims.server.routing import BUCKETS, ModelRoutes, ServedVersion, bucket


def served(version: int) -> ServedVersion:
    return ServedVersion(
        model="m",
        project="p",
        version=version,
        version_id=version,
        artifact_sha256="0" * 64,
        flavour="skops",
        task="classification",
        features=("x",),
        classes=(0, 1),
        loaded=None,
        validator=None,
        logged_columns=("x",),
        pii={},
        key_column=None,
        contract_summary=[],
        loaded_at=datetime.now(UTC),
    )


def test_buckets_are_stable_and_uniform() -> None:
    keys = [f"customer-{i}" for i in range(20_000)]
    first = [bucket("m", k) for k in keys]
    assert first == [bucket("m", k) for k in keys]
    counts = np.bincount(np.asarray(first) * 10 // BUCKETS, minlength=10)
    # Chi-square goodness of fit against the uniform distribution over 10 bins.
    assert stats.chisquare(counts).pvalue > 0.001
    # The model name is part of the hash: another model's canary picks other callers.
    other = [bucket("n", k) < 2000 for k in keys]
    agree = np.mean([(b < 2000) == o for b, o in zip(first, other, strict=True)])
    assert abs(agree - (0.2 * 0.2 + 0.8 * 0.8)) < 0.02


def test_canary_share_and_stickiness() -> None:
    routes = ModelRoutes("m", "p", served(1), canary=served(2), traffic=20.0)
    picks = {f"k{i}": routes.choose(f"k{i}")[1] for i in range(5000)}
    share = sum(role == "canary" for role in picks.values()) / 5000
    assert abs(share - 0.2) < 0.03
    assert all(routes.choose(k)[1] == role for k, role in list(picks.items())[:500])


def test_raising_the_share_only_moves_callers_to_the_canary() -> None:
    low = ModelRoutes("m", "p", served(1), canary=served(2), traffic=10.0)
    high = ModelRoutes("m", "p", served(1), canary=served(2), traffic=30.0)
    for i in range(3000):
        if low.choose(f"k{i}")[1] == "canary":
            assert high.choose(f"k{i}")[1] == "canary"


def test_unkeyed_requests_follow_the_share_at_random() -> None:
    routes = ModelRoutes("m", "p", served(1), canary=served(2), traffic=20.0)
    n = 4000
    hits = sum(routes.choose(None)[1] == "canary" for _ in range(n))
    # Two-sided binomial test: 20 % is not rejected.
    assert stats.binomtest(hits, n, 0.2).pvalue > 0.001


def test_no_production_means_nothing_is_served_and_shadow_never_answers() -> None:
    assert ModelRoutes("m", "p", None, canary=served(2), traffic=50.0).choose("k") is None
    routes = ModelRoutes("m", "p", served(1), shadow=served(3))
    assert {routes.choose(f"k{i}")[0].version for i in range(200)} == {1}
    assert [(v.version, role) for v, role in routes.served()] == [(1, "production"), (3, "shadow")]
