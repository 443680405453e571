"""KS test against scipy.stats.ks_2samp on many shapes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from aims.core.drift import ks_2samp
from aims.errors import InvalidInput

SHAPES = [
    (1, 1),
    (1, 7),
    (5, 5),
    (13, 29),
    (40, 40),
    (100, 37),
    (333, 500),
    (1000, 999),
    (2500, 4000),
    (10_000, 9_000),
    (10_001, 500),
    (60_000, 45_000),
]


@pytest.mark.parametrize(("n1", "n2"), SHAPES)
@pytest.mark.parametrize("shift", [0.0, 0.1, 0.5])
def test_equals_scipy(n1: int, n2: int, shift: float) -> None:
    rng = np.random.default_rng(n1 * 7919 + n2)
    x = rng.normal(0, 1, n1)
    y = rng.normal(shift, 1.2, n2)
    ours = ks_2samp(x, y)
    ref = stats.ks_2samp(x, y)
    assert ours.statistic == pytest.approx(ref.statistic, abs=1e-12)
    assert ours.p_value == pytest.approx(ref.pvalue, abs=1e-9, rel=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_equals_scipy_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 6, rng.integers(5, 300))
    y = rng.integers(0, 7, rng.integers(5, 300))
    ours, ref = ks_2samp(x, y), stats.ks_2samp(x, y)
    assert ours.statistic == pytest.approx(ref.statistic, abs=1e-12)
    assert ours.p_value == pytest.approx(ref.pvalue, abs=1e-9)


def test_methods_match_scipy_methods() -> None:
    rng = np.random.default_rng(11)
    x, y = rng.normal(0, 1, 300), rng.normal(0.2, 1, 200)
    for method in ("exact", "asymp"):
        assert ks_2samp(x, y, method=method).p_value == pytest.approx(
            stats.ks_2samp(x, y, method=method).pvalue, abs=1e-9
        )


def test_symmetric() -> None:
    rng = np.random.default_rng(12)
    x, y = rng.normal(0, 1, 80), rng.normal(0.3, 1, 120)
    assert ks_2samp(x, y) == ks_2samp(y, x)


def test_ignores_nan_and_inf_and_rejects_empty() -> None:
    x = np.array([1.0, 2.0, np.nan, np.inf])
    assert ks_2samp(x, [1.0, 2.0]).statistic == 0.0
    with pytest.raises(InvalidInput):
        ks_2samp([np.nan], [1.0])
