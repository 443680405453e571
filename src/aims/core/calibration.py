"""Calibration: reliability diagrams on equal-width bins and the errors read from them.

Expected calibration error is computed here (scikit-learn has none) on
equal-width bins with an explicit ``n_bins``. A :class:`Calibration` is stored
with an evaluation and drawn on the model card.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from aims.errors import InvalidInput

DEFAULT_N_BINS = 10


@dataclass(frozen=True)
class CalibrationBin:
    """One bin of a reliability diagram."""

    lower: float
    upper: float
    count: int
    mean_predicted: float | None
    observed_rate: float | None


@dataclass(frozen=True)
class Calibration:
    """A reliability diagram on equal-width bins and the errors read from it."""

    kind: Literal["positive_class", "top_label"]
    n_bins: int
    bins: tuple[CalibrationBin, ...]
    ece: float
    mce: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "n_bins": self.n_bins,
            "ece": self.ece,
            "mce": self.mce,
            "bins": [vars(b).copy() for b in self.bins],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            kind=data["kind"],
            n_bins=int(data["n_bins"]),
            bins=tuple(CalibrationBin(**b) for b in data["bins"]),
            ece=float(data["ece"]),
            mce=float(data["mce"]),
        )


def reliability(
    outcome: Sequence[float] | np.ndarray,
    prob: Sequence[float] | np.ndarray,
    *,
    n_bins: int = DEFAULT_N_BINS,
    kind: Literal["positive_class", "top_label"] = "positive_class",
) -> Calibration:
    """Bin predicted probabilities and compare them with observed outcomes.

    Bins are equal-width on [0, 1]: bin ``b`` holds ``b/n_bins <= p <
    (b+1)/n_bins``, and the last bin also holds ``p == 1``. The expected
    calibration error is the count-weighted mean of ``|observed - predicted|``
    over non-empty bins; the maximum calibration error is the largest such gap.

    Parameters
    ----------
    outcome
        1 where the event happened (the positive class, or a correct top-label
        prediction), else 0.
    prob
        The predicted probability of that event, in [0, 1].
    n_bins
        Number of equal-width bins.
    kind
        Recorded with the result to say what the probabilities were.

    Examples
    --------
    >>> cal = reliability([0, 1, 1, 1], [0.2, 0.2, 0.8, 0.8], n_bins=2)
    >>> round(cal.ece, 6)
    0.25

    References
    ----------
    Naeini, Cooper, Hauskrecht (2015). Obtaining well calibrated probabilities
    using Bayesian binning. AAAI. Guo, Pleiss, Sun, Weinberger (2017). On
    calibration of modern neural networks. ICML.
    """
    if n_bins < 1:
        raise InvalidInput(f"n_bins must be at least 1, got {n_bins}")
    y = np.asarray(outcome, dtype=float)
    p = np.asarray(prob, dtype=float)
    if y.shape != p.shape or y.ndim != 1:
        raise InvalidInput(
            f"outcome and prob must be 1-D of equal length, got {y.shape} and {p.shape}"
        )
    if y.size == 0:
        raise InvalidInput("cannot compute calibration on zero rows")
    if not np.all(np.isfinite(p)) or p.min() < 0.0 or p.max() > 1.0:
        raise InvalidInput("probabilities must be finite and within [0, 1]")
    # floor(p * n_bins) puts p exactly on an inner edge into the upper bin; clip
    # keeps p == 1 in the last bin instead of an extra one.
    idx = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=p, minlength=n_bins)
    sum_y = np.bincount(idx, weights=y, minlength=n_bins)
    bins = []
    ece = 0.0
    mce = 0.0
    for b in range(n_bins):
        n = int(counts[b])
        if n == 0:
            bins.append(CalibrationBin(b / n_bins, (b + 1) / n_bins, 0, None, None))
            continue
        mean_p = float(sum_p[b] / n)
        rate = float(sum_y[b] / n)
        gap = abs(rate - mean_p)
        ece += n / y.size * gap
        mce = max(mce, gap)
        bins.append(CalibrationBin(b / n_bins, (b + 1) / n_bins, n, mean_p, rate))
    return Calibration(kind=kind, n_bins=n_bins, bins=tuple(bins), ece=float(ece), mce=mce)


def expected_calibration_error(
    outcome: Sequence[float] | np.ndarray,
    prob: Sequence[float] | np.ndarray,
    *,
    n_bins: int = DEFAULT_N_BINS,
) -> float:
    """Expected calibration error on ``n_bins`` equal-width bins (see :func:`reliability`).

    Examples
    --------
    >>> round(expected_calibration_error([1, 1, 0, 0], [0.9, 0.9, 0.1, 0.1]), 6)
    0.1
    """
    return reliability(outcome, prob, n_bins=n_bins).ece


def top_label_calibration(
    y_index: np.ndarray, proba: np.ndarray, *, n_bins: int = DEFAULT_N_BINS
) -> Calibration:
    """Calibration of the confidence in the predicted class (multiclass ECE)."""
    top = np.argmax(proba, axis=1)
    correct = (top == y_index).astype(float)
    conf = proba[np.arange(len(top)), top]
    return reliability(correct, conf, n_bins=n_bins, kind="top_label")


__all__ = [
    "DEFAULT_N_BINS",
    "Calibration",
    "CalibrationBin",
    "expected_calibration_error",
    "reliability",
    "top_label_calibration",
]
