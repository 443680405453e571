"""Jensen–Shannon distance against SciPy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import distance

from aims.core.drift import jensen_shannon, jensen_shannon_from_counts


@pytest.mark.parametrize("k", [1, 2, 3, 10, 57])
@pytest.mark.parametrize("seed", range(4))
def test_equals_scipy(k: int, seed: int) -> None:
    rng = np.random.default_rng(seed * 100 + k)
    p = rng.integers(0, 50, k).astype(float)
    q = rng.integers(0, 50, k).astype(float)
    p[0] += 1
    q[-1] += 1
    for base in (None, 2.0):
        assert jensen_shannon_from_counts(p, q, base=base) == pytest.approx(
            distance.jensenshannon(p, q, base=base), abs=1e-9
        )


def test_symmetric_and_bounded() -> None:
    p, q = [5, 0, 3], [0, 4, 4]
    assert jensen_shannon_from_counts(p, q) == jensen_shannon_from_counts(q, p)
    assert jensen_shannon_from_counts([1, 0], [0, 1]) == pytest.approx(np.sqrt(np.log(2)))


def test_numeric_samples_use_reference_quantile_bins() -> None:
    x = np.arange(100.0)
    assert jensen_shannon(x, x) == 0.0
    assert jensen_shannon(x, x + 1000) == pytest.approx(
        distance.jensenshannon([0.1] * 10, [0] * 9 + [1])
    )
