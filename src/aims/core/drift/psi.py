"""Population Stability Index (PSI).

For cells with reference shares ``r_i`` and current shares ``c_i``::

    PSI = sum_i (c_i - r_i) * ln(c_i / r_i)

An empty cell would make the logarithm infinite, so its share is replaced by
``eps`` (and only empty cells are changed; shares are not renormalised). PSI
is symmetric in the two count vectors; on raw samples it is not, because the
bins are quantiles of the reference.

Rule of thumb (Siddiqi 2006; Yurdakul 2018): below 0.1 no significant change,
0.1–0.25 moderate, above 0.25 significant. aims flags PSI >= 0.1 by default.

References
----------
Siddiqi, N. (2006). Credit Risk Scorecards. Wiley, ch. 8.
Yurdakul, B. (2018). Statistical properties of population stability index.
Western Michigan University dissertation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from aims.core.drift._counts import as_sample, pair_counts, proportions, quantile_bin_counts

__all__ = ["DEFAULT_BINS", "DEFAULT_EPS", "psi", "psi_from_counts"]

DEFAULT_EPS = 1e-4
DEFAULT_BINS = 10


def psi_from_counts(
    reference: Sequence[float] | np.ndarray,
    current: Sequence[float] | np.ndarray,
    *,
    eps: float = DEFAULT_EPS,
) -> float:
    """PSI of two count vectors over the same cells.

    Parameters
    ----------
    reference, current
        Non-negative counts (or shares) per cell.
    eps
        Share given to an empty cell.

    Examples
    --------
    >>> round(psi_from_counts([50, 50], [40, 60]), 6)
    0.040547
    """
    r, c = pair_counts(reference, current)
    p, q = proportions(r, eps), proportions(c, eps)
    return float(np.sum((q - p) * np.log(q / p)))


def psi(
    reference: Sequence[float] | np.ndarray,
    current: Sequence[float] | np.ndarray,
    *,
    bins: int = DEFAULT_BINS,
    eps: float = DEFAULT_EPS,
) -> float:
    """PSI of two numeric samples on ``bins`` reference-quantile bins.

    NaN and infinite values are ignored. Bin edges are
    ``numpy.quantile(reference, k / bins)``; a value equal to an edge falls in
    the bin above it.

    Examples
    --------
    >>> psi(np.arange(100.0), np.arange(100.0))
    0.0
    """
    r = as_sample(reference, "reference")
    c = as_sample(current, "current")
    rc, cc = quantile_bin_counts(r, c, bins)
    return psi_from_counts(rc, cc, eps=eps)
