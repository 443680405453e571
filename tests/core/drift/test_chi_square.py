"""Chi-square test against scipy.stats.chi2_contingency."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from aims.core.drift import chi_square, chi_square_from_counts


@pytest.mark.parametrize("k", [2, 3, 5, 20])
@pytest.mark.parametrize("correction", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_equals_scipy(k: int, correction: bool, seed: int) -> None:
    rng = np.random.default_rng(seed * 10 + k)
    r = rng.integers(1, 200, k)
    c = rng.integers(1, 200, k)
    ours = chi_square_from_counts(r, c, correction=correction)
    ref = stats.chi2_contingency(np.vstack([r, c]), correction=correction)
    assert ours.statistic == pytest.approx(ref.statistic, abs=1e-9, rel=1e-9)
    assert ours.p_value == pytest.approx(ref.pvalue, abs=1e-9)


def test_cells_empty_on_both_sides_are_dropped() -> None:
    ours = chi_square_from_counts([10, 0, 5], [7, 0, 9])
    ref = stats.chi2_contingency(np.array([[10, 5], [7, 9]]))
    assert ours.statistic == pytest.approx(ref.statistic) and ours.p_value == pytest.approx(
        ref.pvalue
    )


def test_one_cell_means_no_evidence() -> None:
    assert chi_square_from_counts([10], [3]) == chi_square_from_counts([10, 0], [3, 0])
    assert chi_square_from_counts([10], [3]).p_value == 1.0


def test_symmetric_and_samples() -> None:
    assert chi_square_from_counts([3, 9, 1], [5, 5, 5]) == chi_square_from_counts(
        [5, 5, 5], [3, 9, 1]
    )
    rng = np.random.default_rng(2)
    assert chi_square(rng.normal(0, 1, 500), rng.normal(1, 1, 500)).p_value < 1e-10
