"""Benjamini–Hochberg adjustment against SciPy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from aims.core.drift import benjamini_hochberg


@pytest.mark.parametrize("seed", range(5))
def test_equals_scipy(seed: int) -> None:
    p = np.random.default_rng(seed).uniform(0, 0.2, 30)
    assert benjamini_hochberg(p) == pytest.approx(stats.false_discovery_control(p), abs=1e-12)


def test_empty() -> None:
    assert benjamini_hochberg([]).size == 0
