"""Multiple-testing correction of per-column p-values.

Testing 27 columns at the 5 % level flags one or two unchanged columns by
chance in about three runs out of four. The Benjamini–Hochberg procedure
controls the expected share of false alarms among flagged columns (the false
discovery rate) instead of the per-column error.

References
----------
Benjamini, Y., Hochberg, Y. (1995). Controlling the false discovery rate: a
practical and powerful approach to multiple testing. JRSS B 57(1), 289–300.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["benjamini_hochberg"]


def benjamini_hochberg(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (same order as the input).

    ``adjusted_(i) = min_{j >= i} min(1, m * p_(j) / j)`` over the p-values
    sorted ascending; a column is significant at FDR ``q`` when its adjusted
    p-value is below ``q``.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out
