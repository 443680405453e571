"""How a drift comparison tests its columns and judges the dataset.

One frozen, validated value carries every choice (tests and thresholds per
column, binning, the share of drifted columns that makes the dataset drift,
p-value correction), so the command line, the Python API and the monitor pass
the same object and a bad choice is refused before any data is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from aims.core.drift.choice import SMALL_SAMPLE, get_test
from aims.errors import InvalidInput

__all__ = ["Correction", "DriftOptions"]

Correction = Literal["none", "bh"]
"""``"bh"``: Benjamini–Hochberg adjust the p-values across columns."""


@dataclass(frozen=True)
class DriftOptions:
    """How columns are tested and the dataset judged.

    Parameters
    ----------
    tests
        Column name -> test name, overriding the default choice
        (:func:`aims.core.drift.choice.default_test`).
    thresholds
        Column name or test name -> threshold (a column's entry wins).
    bins
        Reference-quantile bins for PSI, Jensen–Shannon, KL and chi-square on
        numeric columns.
    eps
        Share given to empty cells by PSI and KL.
    small_sample
        Up to this many values on the smaller side, p-value tests are the default.
    drift_share
        The dataset drifts when at least this share of its columns drift.
    correction
        ``"bh"``: Benjamini–Hochberg adjust p-values across columns.
    """

    tests: Mapping[str, str] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)
    bins: int = 10
    eps: float = 1e-4
    small_sample: int = SMALL_SAMPLE
    drift_share: float = 0.5
    correction: Correction = "none"

    def __post_init__(self) -> None:
        if self.correction not in ("none", "bh"):
            raise InvalidInput(f"unknown correction {self.correction!r}; use 'none' or 'bh'")
        if not 0.0 < self.drift_share <= 1.0:
            raise InvalidInput(f"drift_share must be in (0, 1], got {self.drift_share}")
        if self.bins < 2:
            raise InvalidInput(f"bins must be >= 2, got {self.bins}")
        for name in self.tests.values():
            get_test(name)
