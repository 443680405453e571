"""Mergeable profile of a numeric column: counts, moments and a fixed-layout histogram.

A :class:`NumericLayout` is chosen once, from the reference data, and every
later profile of the same column bins its values the same way, so profiles add
up bucket by bucket. The layout has three parts:

* a **core** of ``bins`` equal-width bins over ``[lo, hi]``: the reference's
  0.1 %–99.9 % range widened by ``margin`` of that span on each side, so a
  moderate shift of the current data still falls on the fine grid;
* two **tails** of geometric buckets beyond ``lo`` and ``hi``: bucket ``j``
  holds values whose distance from the edge, in core-bin widths ``w``, lies in
  ``(growth**(j-1), growth**j]`` (bucket 0: within one width). Any finite value
  has a bucket, so nothing is clipped; resolution there is relative
  (``growth - 1`` of the distance from the edge).

The same buckets serve as the quantile sketch: a quantile is read off the
cumulative counts with linear interpolation inside one bucket, so its error is
at most one core-bin width inside the core and ``growth - 1`` of the distance
from the edge in the tails. Unlike a randomised sketch the layout makes
merging exact: ``merge(profile(a), profile(b))`` has the same counts as
``profile(a + b)``; mean and variance merge with Chan's formulas and agree to
floating-point rounding.

NaN, +inf and -inf are counted apart and kept out of the histogram and the
moments; nulls are counted apart too.

References
----------
Chan, T. F., Golub, G. H., LeVeque, R. J. (1979). Updating formulae and a
pairwise algorithm for computing sample variances. Stanford CS report 79-773.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aims.core.profile.numeric_layout import NumericLayout
from aims.errors import InvalidInput

__all__ = [
    "BLOCK",
    "NumericLayout",
    "NumericProfile",
    "aligned",
    "profile_values",
]


def _tail_counts(index: np.ndarray) -> dict[int, int]:
    if index.size == 0:
        return {}
    keys, counts = np.unique(index, return_counts=True)
    return {int(k): int(c) for k, c in zip(keys, counts, strict=True)}


def _add_tails(a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
    out = dict(a)
    for k, c in b.items():
        out[k] = out.get(k, 0) + c
    return dict(sorted(out.items()))


@dataclass
class NumericProfile:
    """Mergeable summary of one numeric (or temporal) column.

    ``rows`` counts every row; ``nulls``, ``nans``, ``pos_inf`` and
    ``neg_inf`` the rows that are not finite numbers; ``n`` the finite values,
    which alone enter ``minimum``, ``maximum``, ``mean``, ``m2`` (sum of
    squared deviations from the mean), the core ``counts`` and the tail
    buckets ``below`` / ``above`` (bucket index -> count).
    """

    layout: NumericLayout
    kind: str = "numeric"
    dtype: str = "Float64"
    rows: int = 0
    nulls: int = 0
    nans: int = 0
    pos_inf: int = 0
    neg_inf: int = 0
    n: int = 0
    minimum: float | None = None
    maximum: float | None = None
    mean: float = 0.0
    m2: float = 0.0
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    below: dict[int, int] = field(default_factory=dict)
    above: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.counts.size == 0:
            self.counts = np.zeros(self.layout.bins, dtype=np.int64)

    @property
    def missing(self) -> int:
        """Rows that are null or NaN."""
        return self.nulls + self.nans

    @property
    def variance(self) -> float:
        """Population variance of the finite values (0 when there are none)."""
        return self.m2 / self.n if self.n > 0 else 0.0

    @property
    def std(self) -> float:
        """Population standard deviation of the finite values."""
        return math.sqrt(max(self.variance, 0.0))

    def merge(self, other: NumericProfile) -> NumericProfile:
        """The profile of both batches together; layouts must be equal."""
        if other.layout != self.layout:
            raise InvalidInput(
                "cannot merge numeric profiles with different bin layouts; "
                "build window profiles with profile_like(reference, data)"
            )
        n, mean, m2 = _combine(self.n, self.mean, self.m2, other.n, other.mean, other.m2)
        return NumericProfile(
            layout=self.layout,
            kind=self.kind,
            dtype=self.dtype,
            rows=self.rows + other.rows,
            nulls=self.nulls + other.nulls,
            nans=self.nans + other.nans,
            pos_inf=self.pos_inf + other.pos_inf,
            neg_inf=self.neg_inf + other.neg_inf,
            n=n,
            minimum=_pick(min, self.minimum, other.minimum),
            maximum=_pick(max, self.maximum, other.maximum),
            mean=mean,
            m2=m2,
            counts=self.counts + other.counts,
            below=_add_tails(self.below, other.below),
            above=_add_tails(self.above, other.above),
        )

    def buckets(self) -> tuple[np.ndarray, np.ndarray]:
        """Ordered bucket boundaries (length k + 1) and counts (length k).

        Empty buckets at both ends are dropped and the outer boundaries are
        clamped to the observed minimum and maximum.
        """
        return aligned(self, self)[:2]

    def quantile(self, q: float | np.ndarray) -> float | np.ndarray:
        """Quantile(s) of the finite values, read from the buckets.

        Error: at most one core-bin width inside ``[lo, hi]``, at most
        ``growth - 1`` times the distance from the nearest edge outside it.

        Examples
        --------
        >>> p = profile_values(np.arange(1, 1001.0), NumericLayout(0.0, 1000.0, bins=1000))
        >>> bool(abs(p.quantile(0.5) - np.median(np.arange(1, 1001.0))) <= p.layout.width)
        True
        """
        edges, counts = self.buckets()
        scalar = np.ndim(q) == 0
        qs = np.atleast_1d(np.asarray(q, dtype=np.float64))
        if np.any((qs < 0) | (qs > 1)):
            raise InvalidInput("quantile levels must lie in [0, 1]")
        if self.n == 0:
            out = np.full(qs.shape, np.nan)
        else:
            cdf = np.concatenate([[0.0], np.cumsum(counts) / self.n])
            out = np.interp(qs, cdf, edges)
        return float(out[0]) if scalar else out

    def to_dict(self) -> dict[str, Any]:
        nz = np.flatnonzero(self.counts)
        start = int(nz[0]) if nz.size else 0
        stop = int(nz[-1]) + 1 if nz.size else 0
        return {
            "type": "numeric",
            "kind": self.kind,
            "dtype": self.dtype,
            "layout": self.layout.to_dict(),
            "rows": self.rows,
            "nulls": self.nulls,
            "nans": self.nans,
            "pos_inf": self.pos_inf,
            "neg_inf": self.neg_inf,
            "n": self.n,
            "min": self.minimum,
            "max": self.maximum,
            "mean": self.mean,
            "m2": self.m2 if math.isfinite(self.m2) else "inf",
            "counts_start": start,
            "counts": self.counts[start:stop].tolist(),
            "below": [[k, c] for k, c in self.below.items()],
            "above": [[k, c] for k, c in self.above.items()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NumericProfile:
        layout = NumericLayout.from_dict(data["layout"])
        counts = np.zeros(layout.bins, dtype=np.int64)
        start = int(data["counts_start"])
        stored = np.asarray(data["counts"], dtype=np.int64)
        counts[start : start + stored.size] = stored
        return cls(
            layout=layout,
            kind=str(data["kind"]),
            dtype=str(data["dtype"]),
            rows=int(data["rows"]),
            nulls=int(data["nulls"]),
            nans=int(data["nans"]),
            pos_inf=int(data["pos_inf"]),
            neg_inf=int(data["neg_inf"]),
            n=int(data["n"]),
            minimum=None if data["min"] is None else float(data["min"]),
            maximum=None if data["max"] is None else float(data["max"]),
            mean=float(data["mean"]),
            m2=float(data["m2"]),  # "inf" when the spread overflowed
            counts=counts,
            below={int(k): int(c) for k, c in data["below"]},
            above={int(k): int(c) for k, c in data["above"]},
        )


def _combine(
    n1: int, mean1: float, m2_1: float, n2: int, mean2: float, m2_2: float
) -> tuple[int, float, float]:
    """Count, mean and M2 of two groups together (Chan, Golub and LeVeque)."""
    n = n1 + n2
    if n1 == 0 or n2 == 0:
        return (n, mean2, m2_2) if n1 == 0 else (n, mean1, m2_1)
    with np.errstate(over="ignore", invalid="ignore"):
        delta = mean2 - mean1
        if math.isfinite(delta):
            mean = mean1 + delta * n2 / n
            m2 = m2_1 + m2_2 + delta * delta * (n1 * n2 / n)
        else:  # means of opposite sign near the float limit
            mean = mean1 * (n1 / n) + mean2 * (n2 / n)
            m2 = math.inf
    return n, mean, m2


def _pick(fn: Callable[[float, float], float], a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return fn(a, b)


BLOCK = 32_768  # values per block: small enough to stay in a core's L2 cache
_SCRATCH = threading.local()


def _scratch() -> tuple[np.ndarray, np.ndarray]:
    """Per-thread float and integer work buffers of ``BLOCK`` elements."""
    fbuf = getattr(_SCRATCH, "f", None)
    if fbuf is None:
        _SCRATCH.f = fbuf = np.empty(BLOCK, dtype=np.float64)
        _SCRATCH.i = np.empty(BLOCK, dtype=np.intp)
    return fbuf, _SCRATCH.i


def _accumulate(prof: NumericProfile, values: np.ndarray) -> None:
    """Add finite ``values`` to ``prof`` block by block.

    Every statistic of a block is taken while the block is in cache, so the
    column is read from memory once; block moments combine with Chan's
    formulas (as in :meth:`NumericProfile.merge`).
    """
    layout = prof.layout
    bins = layout.bins
    scale = bins / (layout.hi - layout.lo)
    counts = np.zeros(bins + 1, dtype=np.int64)
    fbuf, ibuf = _scratch()
    below: list[np.ndarray] = []
    above: list[np.ndarray] = []
    n, mean, m2 = 0, 0.0, 0.0
    lo_v, hi_v = math.inf, -math.inf
    for start in range(0, values.size, BLOCK):
        block = values[start : start + BLOCK]
        k = block.size
        f, i = fbuf[:k], ibuf[:k]
        b_lo, b_hi = float(block.min()), float(block.max())
        with np.errstate(over="ignore", invalid="ignore"):
            b_mean = float(np.add.reduce(block)) / k
            if not math.isfinite(b_mean):  # the sum overflowed; the mean cannot
                b_mean = float(np.add.reduce(block / k))
            np.subtract(block, b_mean, out=f)
            # square in place rather than np.dot: BLAS threads from two callers
            # at once contend badly on small vectors
            f *= f
            b_m2 = float(np.add.reduce(f))
        n, mean, m2 = _combine(n, mean, m2, k, b_mean, b_m2)
        lo_v, hi_v = min(lo_v, b_lo), max(hi_v, b_hi)
        if b_lo >= layout.lo and b_hi <= layout.hi:
            np.subtract(block, layout.lo, out=f)
            f *= scale
            np.copyto(i, f, casting="unsafe")
            counts += np.bincount(i, minlength=bins + 1)[: bins + 1]
        else:
            # Values far outside the core (near the float limit) may overflow
            # here; they only feed the tail buckets, where +inf is the last one.
            with np.errstate(over="ignore", invalid="ignore"):
                np.subtract(block, layout.lo, out=f)
                f *= scale
                inside = (block >= layout.lo) & (block <= layout.hi)
                counts += np.bincount(f[inside].astype(np.intp), minlength=bins + 1)[: bins + 1]
                below.append(layout.lo - block[block < layout.lo])
                above.append(block[block > layout.hi] - layout.hi)
    # the value hi itself (and rounding just below it) lands on index ``bins``
    counts[bins - 1] += counts[bins]
    prof.counts = counts[:bins].copy()
    prof.n, prof.mean, prof.m2 = n, mean, m2
    prof.minimum, prof.maximum = lo_v, hi_v
    if below:
        prof.below = _tail_counts(layout.tail_index(np.concatenate(below)))
        prof.above = _tail_counts(layout.tail_index(np.concatenate(above)))


def profile_values(
    values: np.ndarray,
    layout: NumericLayout,
    *,
    kind: str = "numeric",
    dtype: str = "Float64",
    nulls: int = 0,
) -> NumericProfile:
    """Profile float64 ``values`` (NaN and infinities allowed) on ``layout``.

    ``nulls`` is the number of null rows already removed (they count in
    ``rows`` but have no value).
    """
    values = np.asarray(values, dtype=np.float64)
    prof = NumericProfile(
        layout=layout, kind=kind, dtype=dtype, rows=int(values.size) + nulls, nulls=nulls
    )
    with np.errstate(over="ignore", invalid="ignore"):
        total = float(np.add.reduce(values)) if values.size else 0.0
    if not math.isfinite(total):
        # rare path: something is NaN or infinite (or the sum overflowed)
        prof.nans = int(np.isnan(values).sum())
        prof.pos_inf = int(np.isposinf(values).sum())
        prof.neg_inf = int(np.isneginf(values).sum())
        values = values[np.isfinite(values)]
    if values.size:
        _accumulate(prof, values)
    return prof


def aligned(ref: NumericProfile, cur: NumericProfile) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Common bucket boundaries and both profiles' counts on them.

    Returns ``(edges, ref_counts, cur_counts)`` with ``len(edges) ==
    len(counts) + 1``: tail buckets of both profiles below ``lo``, the core,
    tail buckets above ``hi``; buckets empty in both at either end are
    dropped and the outermost boundaries clamped to the joint min and max.
    """
    if ref.layout != cur.layout:
        raise InvalidInput(
            "numeric profiles have different bin layouts; build the current profile "
            "with profile_like(reference, data)"
        )
    layout = ref.layout
    below_keys = np.array(sorted(set(ref.below) | set(cur.below)), dtype=np.int64)
    above_keys = np.array(sorted(set(ref.above) | set(cur.above)), dtype=np.int64)
    # below: farthest bucket first (ascending values)
    below_keys = below_keys[::-1]
    b_inner, b_outer = layout.tail_bounds(below_keys)
    a_inner, a_outer = layout.tail_bounds(above_keys)
    core_edges = np.linspace(layout.lo, layout.hi, layout.bins + 1)
    lower = np.concatenate([layout.lo - b_outer, core_edges[:-1], layout.hi + a_inner])
    upper = np.concatenate([layout.lo - b_inner, core_edges[1:], layout.hi + a_outer])
    rc = np.concatenate(
        [
            np.array([ref.below.get(int(k), 0) for k in below_keys], dtype=np.int64),
            ref.counts,
            np.array([ref.above.get(int(k), 0) for k in above_keys], dtype=np.int64),
        ]
    )
    cc = np.concatenate(
        [
            np.array([cur.below.get(int(k), 0) for k in below_keys], dtype=np.int64),
            cur.counts,
            np.array([cur.above.get(int(k), 0) for k in above_keys], dtype=np.int64),
        ]
    )
    used = np.flatnonzero((rc > 0) | (cc > 0))
    if used.size == 0:
        return np.zeros(1), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    first, last = int(used[0]), int(used[-1]) + 1
    edges = np.concatenate([lower[first:last], upper[last - 1 : last]])
    lows = [v for v in (ref.minimum, cur.minimum) if v is not None]
    highs = [v for v in (ref.maximum, cur.maximum) if v is not None]
    edges[0] = max(edges[0], min(lows))
    edges[-1] = min(edges[-1], max(highs))
    # a bucket boundary can sit past a clamped end when everything is one value
    edges = np.clip(edges, edges[0], edges[-1])
    return edges, rc[first:last], cc[first:last]
