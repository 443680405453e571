"""Two-sample Kolmogorov–Smirnov test.

The statistic is the largest gap between the two empirical distribution
functions, ``D = sup_x |F_ref(x) - F_cur(x)|``, evaluated at every observed
value so that ties are handled exactly. The two-sided p-value is

* exact when both samples have at most 10,000 values: the share of monotone
  lattice paths from (0, 0) to (n1, n2) that leave the band
  ``|i/n1 - j/n2| < D`` (Hodges 1957), counted row by row with rescaling;
* otherwise Smirnov's limit distribution, ``scipy.stats.kstwo`` with
  ``round(n1 * n2 / (n1 + n2))`` degrees of freedom.

This is the same choice, and gives the same numbers, as
``scipy.stats.ks_2samp(method="auto")``. The test is symmetric in its inputs.
The exact p-value assumes continuous data; with many ties it is conservative.

References
----------
Hodges, J. L. (1958). The significance probability of the Smirnov two-sample
test. Arkiv för Matematik 3(5), 469–486.
Smirnov, N. (1948). Table for estimating the goodness of fit of empirical
distributions. Annals of Mathematical Statistics 19(2), 279–281.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from aims.core.drift._counts import as_sample
from aims.errors import InvalidInput

__all__ = ["EXACT_MAX_N", "Method", "TestResult", "ks_2samp", "ks_from_cdfs", "ks_p_value"]

EXACT_MAX_N = 10_000
Method = Literal["auto", "exact", "asymp"]


@dataclass(frozen=True)
class TestResult:
    """Outcome of a hypothesis test: its statistic and two-sided p-value."""

    statistic: float
    p_value: float


def _log_binom(n: int, k: int) -> np.longdouble:
    """``ln C(n, k)`` in extended precision (lgamma's double rounding is too coarse here)."""
    k = min(k, n - k)
    steps = np.arange(1, k + 1, dtype=np.longdouble)
    return np.longdouble(np.sum(np.log((n - k + steps) / steps)))


def _exact_p_value(n1: int, n2: int, h: int) -> float:
    """P(D >= h / lcm(n1, n2)) under the null, by counting lattice paths."""
    if h <= 0:
        return 1.0
    if n1 > n2:  # fewer, longer rows are faster; the count is symmetric
        n1, n2 = n2, n1
    g = math.gcd(n1, n2)
    a, b = n2 // g, n1 // g  # i/n1 - j/n2 = (i*a - j*b) / lcm
    # extended precision: in float64 the running sums over ~10^4 rows lose up to
    # 1e-2 of the total for wide bands; 80-bit sums keep it near 1e-11
    row = np.zeros(n2 + 1, dtype=np.longdouble)
    new = np.zeros(n2 + 1, dtype=np.longdouble)
    hi = min(n2, (h - 1) // b)
    row[: hi + 1] = 1.0
    prev_lo, prev_hi = 0, hi
    log_scale = np.longdouble(0.0)
    for i in range(1, n1 + 1):
        ia = i * a
        lo = max(0, (ia - h) // b + 1)  # smallest j with j*b > ia - h
        hi = min(n2, (ia + h - 1) // b)  # largest j with j*b < ia + h
        if lo > hi:
            return 1.0
        # paths reach (i, j) from (i-1, j) or (i, j-1): a running sum along the row
        new[lo : hi + 1] = np.cumsum(row[lo : hi + 1])
        top = new[hi]
        if top <= 0:
            return 1.0
        new[lo : hi + 1] /= top
        log_scale += np.log(top)
        row[prev_lo : prev_hi + 1] = 0.0
        row, new = new, row
        prev_lo, prev_hi = lo, hi
    last = row[n2]
    if last <= 0:
        return 1.0
    inside = float(np.exp(np.log(last) + log_scale - _log_binom(n1 + n2, n1)))
    return min(max(1.0 - inside, 0.0), 1.0)


def ks_p_value(statistic: float, n1: int, n2: int) -> float:
    """Smirnov's asymptotic two-sided p-value for ``D = statistic``."""
    # Imported on use, so that a process never calling this skips its ~100 MB.
    from scipy import stats

    if n1 < 1 or n2 < 1:
        raise InvalidInput("both samples need at least one value")
    en = round(n1 * n2 / (n1 + n2))
    return float(np.clip(stats.kstwo.sf(statistic, en), 0.0, 1.0))


def ks_2samp(
    reference: Sequence[float] | np.ndarray,
    current: Sequence[float] | np.ndarray,
    *,
    method: Method = "auto",
) -> TestResult:
    """Two-sample KS test of two numeric samples (NaN and ±inf ignored).

    Parameters
    ----------
    reference, current
        The two samples.
    method
        ``"exact"`` lattice-path p-value, ``"asymp"`` Smirnov's distribution,
        or ``"auto"``: exact when both samples have at most 10,000 values.

    Examples
    --------
    >>> r = ks_2samp([1.0, 2.0, 3.0, 4.0], [3.0, 4.0, 5.0, 6.0])
    >>> r.statistic, round(r.p_value, 6)
    (0.5, 0.771429)
    """
    x = np.sort(as_sample(reference, "reference"))
    y = np.sort(as_sample(current, "current"))
    n1, n2 = x.size, y.size
    g = math.gcd(n1, n2)
    a, b = n2 // g, n1 // g
    lcm = n1 * a
    points = np.concatenate([x, y])
    # counts below or at every observed value, on the integer scale of lcm
    gap = (
        np.searchsorted(x, points, side="right").astype(np.int64) * a
        - np.searchsorted(y, points, side="right").astype(np.int64) * b
    )
    h = int(np.abs(gap).max())
    statistic = h / lcm
    if method not in ("auto", "exact", "asymp"):
        raise InvalidInput(f"unknown KS method {method!r}; use auto, exact or asymp")
    exact = method == "exact" or (method == "auto" and max(n1, n2) <= EXACT_MAX_N)
    p = _exact_p_value(n1, n2, h) if exact else ks_p_value(statistic, n1, n2)
    return TestResult(statistic, p)


def ks_from_cdfs(ref_cdf: np.ndarray, cur_cdf: np.ndarray, n1: int, n2: int) -> TestResult:
    """KS test from both distribution functions evaluated on common points.

    Used on binned profiles: the gap is only seen at bucket boundaries, so the
    statistic can fall short of the exact one by at most the largest mass of
    one bucket in either sample. The p-value is Smirnov's asymptotic one.
    """
    statistic = float(np.max(np.abs(ref_cdf - cur_cdf))) if ref_cdf.size else 0.0
    return TestResult(statistic, ks_p_value(statistic, n1, n2))
