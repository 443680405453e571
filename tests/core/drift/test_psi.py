"""PSI: a hand-computed case, eps handling, symmetry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aims.core.drift import psi, psi_from_counts
from aims.errors import InvalidInput


def test_hand_computed() -> None:
    # shares r = (0.2, 0.3, 0.5), c = (0.3, 0.3, 0.4)
    expected = (0.3 - 0.2) * math.log(0.3 / 0.2) + 0 + (0.4 - 0.5) * math.log(0.4 / 0.5)
    assert psi_from_counts([20, 30, 50], [30, 30, 40]) == pytest.approx(expected, abs=1e-15)
    assert expected == pytest.approx(0.0628609, abs=1e-7)


def test_empty_bin_gets_eps() -> None:
    # r = (0.5, 0.5, 0); c = (0.5, 0.25, 0.25): the empty reference cell has share eps
    eps = 1e-4
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.25 - eps) * math.log(0.25 / eps)
    assert psi_from_counts([2, 2, 0], [2, 1, 1], eps=eps) == pytest.approx(expected, rel=1e-12)
    assert psi_from_counts([2, 2, 0], [2, 1, 1], eps=1e-2) < psi_from_counts([2, 2, 0], [2, 1, 1])


def test_symmetric_on_counts_not_on_samples() -> None:
    assert psi_from_counts([1, 2, 3], [3, 2, 2]) == pytest.approx(
        psi_from_counts([3, 2, 2], [1, 2, 3])
    )
    rng = np.random.default_rng(0)
    x, y = rng.normal(0, 1, 2000), rng.normal(0.5, 2, 2000)
    assert psi(x, y) != pytest.approx(psi(y, x), rel=1e-3)


def test_sample_bins_are_reference_deciles() -> None:
    x = np.arange(1000.0)
    # current all above the 90th percentile of the reference: one cell has everything
    y = np.full(100, 950.0)
    eps = 1e-4
    expected = 9 * (eps - 0.1) * math.log(eps / 0.1) + (1 - 0.1) * math.log(1 / 0.1)
    assert psi(x, y, eps=eps) == pytest.approx(expected, rel=1e-12)


def test_invalid_counts() -> None:
    with pytest.raises(InvalidInput):
        psi_from_counts([1, 2], [1, 2, 3])
    with pytest.raises(InvalidInput):
        psi_from_counts([0, 0], [1, 2])
    with pytest.raises(InvalidInput):
        psi_from_counts([1, -1], [1, 2])
