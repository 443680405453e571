"""Wasserstein distance: exact path against SciPy, profile path within its bound."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import stats

from aims.core.drift import normalised_wasserstein, wasserstein
from aims.core.drift.wasserstein import wasserstein_from_cdfs
from aims.core.profile import profile, profile_like
from aims.core.profile.numeric import aligned


@pytest.mark.parametrize(
    ("n1", "n2"), [(1, 1), (1, 9), (7, 3), (100, 100), (1000, 37), (5000, 20000)]
)
@pytest.mark.parametrize("dist", ["normal", "lognormal", "integers"])
def test_equals_scipy(n1: int, n2: int, dist: str) -> None:
    rng = np.random.default_rng(n1 + 31 * n2)
    if dist == "normal":
        x, y = rng.normal(0, 1, n1), rng.normal(0.4, 2, n2)
    elif dist == "lognormal":
        x, y = rng.lognormal(0, 1, n1), rng.lognormal(0.2, 1, n2)
    else:
        x, y = rng.integers(0, 5, n1).astype(float), rng.integers(1, 6, n2).astype(float)
    assert wasserstein(x, y) == pytest.approx(stats.wasserstein_distance(x, y), abs=1e-9, rel=1e-9)


def test_symmetric_but_normalised_is_not() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(0, 1, 500), rng.normal(1, 3, 400)
    assert wasserstein(x, y) == pytest.approx(wasserstein(y, x), rel=1e-12)
    assert normalised_wasserstein(x, y) == pytest.approx(wasserstein(x, y) / np.std(x), rel=1e-12)
    assert normalised_wasserstein(x, y) != pytest.approx(normalised_wasserstein(y, x), rel=1e-3)


def test_constant_reference_uses_pooled_sd() -> None:
    x, y = np.zeros(50), np.ones(50)
    # W1 = 1, pooled sd of fifty 0s and fifty 1s = 0.5
    assert normalised_wasserstein(x, y) == pytest.approx(2.0)
    assert normalised_wasserstein(x, x) == 0.0


def test_hand_computed_binned_case() -> None:
    # two buckets [0, 1], [1, 2]; reference all in the first, current all in the second
    value, bound = wasserstein_from_cdfs(
        np.array([0.0, 1.0, 2.0]), np.array([1, 0]), np.array([0, 1])
    )
    assert value == pytest.approx(1.0)  # uniform on [0,1] vs uniform on [1,2]
    assert bound == pytest.approx(2.0)


@pytest.mark.parametrize("seed", range(5))
def test_profile_path_within_reported_bound(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.gamma(2.0, 1.0, 50_000)
    y = rng.gamma(2.0, 1.3, 40_000) + rng.normal(0, 0.1, 40_000)
    ref = profile(pl.DataFrame({"x": x}))
    cur = profile_like(ref, pl.DataFrame({"x": y}))
    value, bound = wasserstein_from_cdfs(*aligned(ref["x"], cur["x"]))
    exact = stats.wasserstein_distance(x, y)
    assert abs(value - exact) <= bound
    assert abs(value - exact) < 1e-3 * np.std(x)  # in practice far inside the bound
