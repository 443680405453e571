"""Which tests are symmetric in their two inputs, checked on many random inputs.

docs/drift.md states it per test: KS and the raw Wasserstein distance are
symmetric on samples; PSI, Jensen-Shannon and chi-square are symmetric on
counts but not on samples (numeric samples are cut at the reference's
quantiles); KL and the normalised Wasserstein distance are not symmetric.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from aims.core.drift import (
    chi_square,
    chi_square_from_counts,
    jensen_shannon,
    jensen_shannon_from_counts,
    kl_divergence,
    kl_from_counts,
    ks_2samp,
    psi,
    psi_from_counts,
)
from aims.core.drift.wasserstein import normalised_wasserstein, wasserstein

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
samples = arrays(np.float64, st.integers(2, 60), elements=finite)


@st.composite
def count_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    cells = draw(st.integers(2, 12))
    cell = st.integers(0, 1000)
    r = draw(arrays(np.int64, cells, elements=cell).filter(lambda a: a.sum() > 0))
    c = draw(arrays(np.int64, cells, elements=cell).filter(lambda a: a.sum() > 0))
    return r, c


@settings(max_examples=150, deadline=None)
@given(count_pairs())
def test_psi_js_and_chi_square_are_symmetric_on_counts(pair) -> None:
    r, c = pair
    assert psi_from_counts(r, c) == pytest.approx(psi_from_counts(c, r), rel=1e-12, abs=1e-15)
    assert jensen_shannon_from_counts(r, c) == pytest.approx(
        jensen_shannon_from_counts(c, r), rel=1e-12, abs=1e-15
    )
    forward, backward = chi_square_from_counts(r, c), chi_square_from_counts(c, r)
    assert forward.statistic == pytest.approx(backward.statistic, rel=1e-12, abs=1e-12)
    assert forward.p_value == pytest.approx(backward.p_value, rel=1e-9, abs=1e-15)


@settings(max_examples=150, deadline=None)
@given(samples, samples)
def test_ks_and_raw_wasserstein_are_symmetric_on_samples(a, b) -> None:
    forward, backward = ks_2samp(a, b), ks_2samp(b, a)
    assert forward.statistic == backward.statistic
    assert forward.p_value == pytest.approx(backward.p_value, rel=1e-12, abs=1e-300)
    assert wasserstein(a, b) == pytest.approx(wasserstein(b, a), rel=1e-12, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(count_pairs())
def test_kl_is_not_negative_and_zero_only_for_equal_shares(pair) -> None:
    r, c = pair
    assert kl_from_counts(r, c) >= -1e-12
    assert kl_from_counts(r, r * 3) == pytest.approx(0.0, abs=1e-12)


def test_the_asymmetric_forms_differ_when_the_inputs_are_swapped() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.0, 1.0, 500), rng.exponential(2.0, 300)
    # KL and the normalised Wasserstein distance, by definition.
    assert kl_from_counts([10, 90], [50, 50]) != pytest.approx(kl_from_counts([50, 50], [10, 90]))
    assert normalised_wasserstein(a, b) != pytest.approx(normalised_wasserstein(b, a))
    # On samples, the bins are the reference's quantiles.
    for test in (psi, jensen_shannon, kl_divergence):
        assert test(a, b) != pytest.approx(test(b, a)), test.__name__
    assert chi_square(a, b).statistic != pytest.approx(chi_square(b, a).statistic)
