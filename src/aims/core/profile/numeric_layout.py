"""The bucket layout of a numeric column: a fine core grid and geometric tails.

A layout is fitted once, on the reference data, and then fixed: every profile
of the column bins its values on it, so profiles of different batches add up
bucket by bucket (see :mod:`aims.core.profile.numeric` for the profile and the
error bounds of its quantiles). The core holds ``bins`` equal-width bins over
the reference's central range, widened by a margin so a moderate shift stays
on the fine grid; beyond each edge, tail bucket ``j`` holds the values whose
distance from the edge, in core-bin widths, lies in ``(growth**(j-1), growth**j]``,
so no finite value is ever clipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from aims.errors import InvalidInput

__all__ = [
    "DEFAULT_BINS",
    "DEFAULT_GROWTH",
    "DEFAULT_MARGIN",
    "RANGE_QUANTILES",
    "SAMPLE_ROWS",
    "NumericLayout",
]

DEFAULT_BINS = 1024
DEFAULT_GROWTH = 1.05
DEFAULT_MARGIN = 0.25
RANGE_QUANTILES = (0.001, 0.999)
SAMPLE_ROWS = 65_536  # rows of a strided sample used to place the core range
_HALF_MAX = float(np.finfo(np.float64).max) / 2.0


@dataclass(frozen=True)
class NumericLayout:
    """Bucket layout of a numeric column, fixed by the reference data.

    Parameters
    ----------
    lo, hi
        The core range; ``lo < hi``.
    bins
        Number of equal-width core bins.
    growth
        Ratio between successive tail bucket boundaries (> 1).
    """

    lo: float
    hi: float
    bins: int = DEFAULT_BINS
    growth: float = DEFAULT_GROWTH

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lo) and math.isfinite(self.hi) and self.lo < self.hi):
            raise InvalidInput(
                f"layout range must be finite with lo < hi, got [{self.lo}, {self.hi}]"
            )
        if self.bins < 1:
            raise InvalidInput(f"layout bins must be >= 1, got {self.bins}")
        if not self.growth > 1.0:
            raise InvalidInput(f"layout growth must be > 1, got {self.growth}")

    @property
    def width(self) -> float:
        """Width of one core bin."""
        return (self.hi - self.lo) / self.bins

    @classmethod
    def fit(
        cls,
        values: np.ndarray,
        *,
        bins: int = DEFAULT_BINS,
        growth: float = DEFAULT_GROWTH,
        margin: float = DEFAULT_MARGIN,
    ) -> NumericLayout:
        """Choose a layout for ``values`` (finite float64, any order).

        The core covers the 0.1 %–99.9 % quantiles of a strided sample of at
        most 65,536 values, widened by ``margin`` times that span on both
        sides, so a single outlier cannot stretch the grid. A constant column
        gets a core of ``±0.1 %`` of its value (at least ``±0.001``).

        Examples
        --------
        >>> layout = NumericLayout.fit(np.arange(1001.0), bins=10, margin=0.0)
        >>> round(layout.lo, 3), round(layout.hi, 3)
        (1.0, 999.0)
        """
        if margin < 0:
            raise InvalidInput(f"margin must be >= 0, got {margin}")
        if values.size == 0:
            return cls(-0.5, 0.5, bins=bins, growth=growth)
        step = max(1, values.size // SAMPLE_ROWS)
        sample = values[::step]
        with np.errstate(over="ignore", invalid="ignore"):  # values near the float limits
            q_lo, q_hi = np.quantile(sample, RANGE_QUANTILES)
        # Python floats: a span past the float limit is inf, not a numpy overflow warning.
        q_lo, q_hi = float(q_lo), float(q_hi)
        span = q_hi - q_lo
        if not span > 0 or not math.isfinite(span):
            lo_v, hi_v = float(values.min()), float(values.max())
            with np.errstate(over="ignore"):
                q_lo, q_hi, span = lo_v, hi_v, hi_v - lo_v
        if not span > 0:
            half = max(abs(float(q_lo)) * 1e-3, 1e-3)
            if not math.isfinite(float(q_lo) + half) or not math.isfinite(float(q_lo) - half):
                return cls(-_HALF_MAX, _HALF_MAX, bins=bins, growth=growth)
            return cls(float(q_lo) - half, float(q_lo) + half, bins=bins, growth=growth)
        with np.errstate(over="ignore", invalid="ignore"):
            lo = float(q_lo) - margin * span
            hi = float(q_hi) + margin * span
        if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(hi - lo)):
            # values near the float limits: keep the widest grid whose width is finite
            lo, hi = max(float(q_lo), -_HALF_MAX), min(float(q_hi), _HALF_MAX)
            if not hi > lo:
                lo, hi = -_HALF_MAX, _HALF_MAX
        if not math.isfinite(bins / (hi - lo)):
            # a span of subnormal width: bins this narrow cannot be addressed
            mid = (lo + hi) / 2
            lo, hi = mid - 1e-3, mid + 1e-3
        return cls(lo, hi, bins=bins, growth=growth)

    def to_dict(self) -> dict[str, Any]:
        return {"lo": self.lo, "hi": self.hi, "bins": self.bins, "growth": self.growth}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NumericLayout:
        return cls(float(data["lo"]), float(data["hi"]), int(data["bins"]), float(data["growth"]))

    def tail_bounds(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inner and outer distance from the edge (in value units) of tail buckets."""
        w = self.width
        index = np.asarray(index, dtype=np.float64)
        outer = w * np.power(self.growth, index)
        inner = np.where(index > 0, w * np.power(self.growth, index - 1.0), 0.0)
        return inner, outer

    def tail_index(self, distance: np.ndarray) -> np.ndarray:
        """Tail bucket of values at ``distance`` (> 0, value units) beyond an edge."""
        with np.errstate(over="ignore"):
            d = np.minimum(distance, np.finfo(np.float64).max) / self.width
        d = np.minimum(d, np.finfo(np.float64).max)
        j = np.zeros(d.shape, dtype=np.int64)
        far = d > 1.0
        if far.any():
            j[far] = np.ceil(np.log(d[far]) / math.log(self.growth)).astype(np.int64)
        return j
