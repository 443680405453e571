"""Wasserstein-1 (earth mover's) distance, raw and normalised.

For one-dimensional distributions ``W1 = integral |F_ref(x) - F_cur(x)| dx``:
the average distance each unit of probability mass has to move to turn one
distribution into the other, in the units of the data. aims's default test
for numeric columns divides it by the reference's standard deviation
(population, ``ddof=0``), so ``0.1`` means "a tenth of a standard deviation"
whatever the unit, and flags ``W1 / sd >= 0.1``. When the reference is
constant the pooled standard deviation of both samples is used instead, and
when both are the same constant the distance is 0.

``W1`` is symmetric; the normalised form is not (it scales by the reference).

The profile version integrates the gap between both binned distribution
functions, linear inside each bucket (exact when values are spread evenly
within buckets). Its error is at most ``sum_k width_k * max(r_k, c_k)`` over
buckets with reference and current mass shares ``r_k``, ``c_k``; this bound is
returned with the value.

References
----------
Vallender, S. S. (1974). Calculation of the Wasserstein distance between
probability distributions on the line. Theory of Probability and Its
Applications 18(4), 784–786.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from aims.core.drift._counts import as_sample

__all__ = ["normalised_wasserstein", "pooled_std", "scale", "wasserstein", "wasserstein_from_cdfs"]


def wasserstein(
    reference: Sequence[float] | np.ndarray, current: Sequence[float] | np.ndarray
) -> float:
    """Exact Wasserstein-1 distance of two numeric samples (NaN and ±inf ignored).

    Equals ``scipy.stats.wasserstein_distance``.

    Examples
    --------
    >>> wasserstein([0.0, 1.0, 3.0], [5.0, 6.0, 8.0])
    5.0
    """
    x = np.sort(as_sample(reference, "reference"))
    y = np.sort(as_sample(current, "current"))
    n, m = x.size, y.size
    # merge the two sorted samples; where values tie the order is irrelevant,
    # because the gap between tied points has zero width
    at = np.searchsorted(x, y, side="left") + np.arange(m)
    from_y = np.zeros(n + m, dtype=bool)
    from_y[at] = True
    points = np.empty(n + m)
    points[at] = y
    points[~from_y] = x
    cy = np.cumsum(from_y[:-1])
    cx = np.arange(1, n + m) - cy
    return float(np.sum(np.abs(cx / n - cy / m) * np.diff(points)))


def pooled_std(n1: int, mean1: float, var1: float, n2: int, mean2: float, var2: float) -> float:
    """Population standard deviation of two samples together, from their moments."""
    n = n1 + n2
    if n == 0:
        return 0.0
    mean = (n1 * mean1 + n2 * mean2) / n
    m2 = n1 * (var1 + (mean1 - mean) ** 2) + n2 * (var2 + (mean2 - mean) ** 2)
    return math.sqrt(max(m2 / n, 0.0))


def scale(n1: int, mean1: float, var1: float, n2: int, mean2: float, var2: float) -> float:
    """The normaliser: reference sd, else pooled sd, else 0 (both constant and equal)."""
    sd = math.sqrt(max(var1, 0.0))
    if sd > 0:
        return sd
    return pooled_std(n1, mean1, var1, n2, mean2, var2)


def normalised_wasserstein(
    reference: Sequence[float] | np.ndarray, current: Sequence[float] | np.ndarray
) -> float:
    """Exact ``W1 / sd(reference)`` (see the module docstring for constant data).

    Examples
    --------
    >>> round(normalised_wasserstein([0.0, 2.0], [1.0, 3.0]), 6)
    1.0
    """
    x = as_sample(reference, "reference")
    y = as_sample(current, "current")
    s = scale(x.size, float(x.mean()), float(x.var()), y.size, float(y.mean()), float(y.var()))
    distance = wasserstein(x, y)
    return distance / s if s > 0 else 0.0


def wasserstein_from_cdfs(
    edges: np.ndarray, ref_counts: np.ndarray, cur_counts: np.ndarray
) -> tuple[float, float]:
    """W1 from counts on common buckets ``[edges[k], edges[k+1]]``, and its error bound.

    Both distribution functions are taken as linear inside each bucket, and
    ``|F_ref - F_cur|`` is integrated exactly for that shape (a trapezoid, or
    two triangles where the sign changes).
    """
    if ref_counts.size == 0:
        return 0.0, 0.0
    r = ref_counts / ref_counts.sum()
    c = cur_counts / cur_counts.sum()
    gap = np.concatenate([[0.0], np.cumsum(r) - np.cumsum(c)])
    gap[-1] = 0.0
    widths = np.diff(edges)
    left, right = gap[:-1], gap[1:]
    same_sign = left * right >= 0
    total = np.abs(left) + np.abs(right)
    safe = np.where(total > 0, total, 1.0)
    area = np.where(
        same_sign, widths * total / 2.0, widths * (left * left + right * right) / (2.0 * safe)
    )
    bound = float(np.sum(widths * np.maximum(r, c)))
    return float(np.sum(area)), bound
