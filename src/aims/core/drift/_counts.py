"""Turning samples into aligned counts: reference-quantile bins and category tables.

Every count-based drift test (PSI, Jensen–Shannon, chi-square, KL) compares
two count vectors over the same cells. For numeric data the cells are bins
whose edges are quantiles of the *reference*, so the reference spreads evenly
over them and a shift in the current data shows as uneven counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from aims.errors import InvalidInput


def as_sample(values: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    """``values`` as a 1-D float64 array of finite numbers (NaN and ±inf dropped)."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    finite = np.isfinite(arr)
    if not finite.all():
        arr = arr[finite]
    if arr.size == 0:
        raise InvalidInput(f"{what} has no finite values to compare")
    return arr


def as_counts(values: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    """``values`` as a 1-D float64 vector of non-negative counts with a positive total."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0 or not np.isfinite(arr).all() or (arr < 0).any():
        raise InvalidInput(f"{what} must be finite, non-negative counts")
    if arr.sum() <= 0:
        raise InvalidInput(f"{what} has no observations")
    return arr


def pair_counts(
    reference: Sequence[float] | np.ndarray, current: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Validate two count vectors over the same cells."""
    r = as_counts(reference, "reference counts")
    c = as_counts(current, "current counts")
    if r.shape != c.shape:
        raise InvalidInput(
            f"reference and current counts must cover the same cells ({r.size} != {c.size})"
        )
    return r, c


def quantile_edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """Interior edges at the reference's ``1/bins, 2/bins, ...`` quantiles (ties merged).

    Examples
    --------
    >>> quantile_edges(np.arange(10.0), 2)
    array([4.5])
    """
    if bins < 2:
        raise InvalidInput(f"bins must be >= 2, got {bins}")
    levels = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    return np.unique(np.quantile(reference, levels))


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of ``values`` in the cells ``(-inf, e0), [e0, e1), ..., [e_last, inf)``."""
    idx = np.searchsorted(edges, values, side="right")
    return np.bincount(idx, minlength=edges.size + 1).astype(np.float64)


def quantile_bin_counts(
    reference: np.ndarray, current: np.ndarray, bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """Counts of both samples on ``bins`` reference-quantile bins."""
    edges = quantile_edges(reference, bins)
    return bin_counts(reference, edges), bin_counts(current, edges)


def category_counts(
    reference: Sequence[object], current: Sequence[object]
) -> tuple[list[object], np.ndarray, np.ndarray]:
    """Categories seen in either sample (reference order of first sight) and their counts."""
    index: dict[object, int] = {}
    for v in list(reference) + list(current):
        index.setdefault(v, len(index))
    r = np.zeros(len(index))
    c = np.zeros(len(index))
    for v in reference:
        r[index[v]] += 1
    for v in current:
        c[index[v]] += 1
    return list(index), r, c


def proportions(counts: np.ndarray, eps: float | None = None) -> np.ndarray:
    """Counts as shares; with ``eps``, empty cells get share ``eps`` (no renormalising)."""
    p: np.ndarray = counts / counts.sum()
    if eps is not None:
        if not eps > 0:
            raise InvalidInput(f"eps must be > 0, got {eps}")
        p = np.where(p == 0, eps, p)
    return p
