"""Jensen–Shannon distance between the reference and current distributions.

With shares ``p`` and ``q`` and their average ``m = (p + q) / 2``::

    JS = sqrt( (KL(p || m) + KL(q || m)) / 2 )

It is symmetric, finite without any smoothing (``m`` is positive wherever
``p`` or ``q`` is), and bounded by ``sqrt(ln 2) ~ 0.833`` in nats (1 with
``base=2``). It equals ``scipy.spatial.distance.jensenshannon``. aims flags
JS >= 0.1 (natural logarithm) by default for categorical columns.

References
----------
Lin, J. (1991). Divergence measures based on the Shannon entropy.
IEEE Transactions on Information Theory 37(1), 145–151.
Endres, D. M., Schindelin, J. E. (2003). A new metric for probability
distributions. IEEE Transactions on Information Theory 49(7), 1858–1860.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from aims.core.drift._counts import as_sample, pair_counts, quantile_bin_counts

__all__ = ["DEFAULT_BINS", "jensen_shannon", "jensen_shannon_from_counts"]

DEFAULT_BINS = 10


def _kl_part(p: np.ndarray, m: np.ndarray) -> float:
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / m[nz])))


def jensen_shannon_from_counts(
    reference: Sequence[float] | np.ndarray,
    current: Sequence[float] | np.ndarray,
    *,
    base: float | None = None,
) -> float:
    """Jensen–Shannon distance of two count vectors over the same cells.

    Parameters
    ----------
    reference, current
        Non-negative counts (or shares) per cell.
    base
        Logarithm base (default: natural logarithm).

    Examples
    --------
    >>> jensen_shannon_from_counts([1, 0], [0, 1], base=2)
    1.0
    """
    r, c = pair_counts(reference, current)
    p, q = r / r.sum(), c / c.sum()
    m = (p + q) / 2.0
    div = (_kl_part(p, m) + _kl_part(q, m)) / 2.0
    if base is not None:
        div /= math.log(base)
    return math.sqrt(max(div, 0.0))


def jensen_shannon(
    reference: Sequence[float] | np.ndarray,
    current: Sequence[float] | np.ndarray,
    *,
    bins: int = DEFAULT_BINS,
    base: float | None = None,
) -> float:
    """Jensen–Shannon distance of two numeric samples on reference-quantile bins."""
    r = as_sample(reference, "reference")
    c = as_sample(current, "current")
    rc, cc = quantile_bin_counts(r, c, bins)
    return jensen_shannon_from_counts(rc, cc, base=base)
