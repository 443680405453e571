"""KL divergence against scipy.stats.entropy of the smoothed shares."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from aims.core.drift import kl_divergence, kl_from_counts


@pytest.mark.parametrize("seed", range(6))
def test_equals_scipy_entropy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    r = rng.integers(0, 30, 8).astype(float)
    c = rng.integers(0, 30, 8).astype(float)
    r[0] += 1
    c[1] += 1
    eps = 1e-3
    p = np.where(r == 0, eps, r / r.sum())
    q = np.where(c == 0, eps, c / c.sum())
    assert kl_from_counts(r, c, eps=eps) == pytest.approx(stats.entropy(p, q), abs=1e-12)
    assert kl_from_counts(r, c, eps=eps, base=2) == pytest.approx(stats.entropy(p, q, base=2))


def test_not_symmetric() -> None:
    assert kl_from_counts([1, 1], [1, 3]) != pytest.approx(kl_from_counts([1, 3], [1, 1]))
    x = np.arange(200.0)
    assert kl_divergence(x, x) == pytest.approx(0.0, abs=1e-15)
