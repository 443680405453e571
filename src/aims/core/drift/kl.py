"""Kullback–Leibler divergence of the current distribution from the reference.

``KL(reference || current) = sum_i r_i * ln(r_i / c_i)`` over cells with
reference shares ``r_i`` and current shares ``c_i``. Empty cells get share
``eps`` and both vectors are then renormalised to sum to one, so the value is
a true divergence (>= 0) and equals ``scipy.stats.entropy`` of the smoothed
vectors. KL is **not symmetric**: swapping the inputs changes the value.

References
----------
Kullback, S., Leibler, R. A. (1951). On information and sufficiency.
Annals of Mathematical Statistics 22(1), 79–86.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from aims.core.drift._counts import as_sample, pair_counts, proportions, quantile_bin_counts

__all__ = ["DEFAULT_BINS", "DEFAULT_EPS", "kl_divergence", "kl_from_counts"]

DEFAULT_EPS = 1e-4
DEFAULT_BINS = 10


def kl_from_counts(
    reference: Sequence[float] | np.ndarray,
    current: Sequence[float] | np.ndarray,
    *,
    eps: float = DEFAULT_EPS,
    base: float | None = None,
) -> float:
    """KL(reference || current) of two count vectors over the same cells.

    Parameters
    ----------
    reference, current
        Non-negative counts per cell.
    eps
        Share given to an empty cell before renormalising.
    base
        Logarithm base (default: natural logarithm, nats).

    Examples
    --------
    >>> round(kl_from_counts([1, 1], [1, 3]), 6)
    0.143841
    """
    r, c = pair_counts(reference, current)
    p = proportions(r, eps)
    q = proportions(c, eps)
    p, q = p / p.sum(), q / q.sum()
    value = float(np.sum(p * np.log(p / q)))
    return value / math.log(base) if base is not None else value


def kl_divergence(
    reference: Sequence[float] | np.ndarray,
    current: Sequence[float] | np.ndarray,
    *,
    bins: int = DEFAULT_BINS,
    eps: float = DEFAULT_EPS,
    base: float | None = None,
) -> float:
    """KL(reference || current) of two numeric samples on reference-quantile bins."""
    r = as_sample(reference, "reference")
    c = as_sample(current, "current")
    rc, cc = quantile_bin_counts(r, c, bins)
    return kl_from_counts(rc, cc, eps=eps, base=base)
