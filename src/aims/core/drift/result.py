"""The result of a drift comparison: one row per column and a dataset verdict.

``DriftReport.to_dict()`` is the JSON that ``aims drift --format json``
prints: ``{"columns": [{"name", "kind", "test", "statistic", "p_value",
"threshold", "drifted", ...}], "n_drifted", "share_drifted",
"dataset_drift", ...}``. Keys may be added over time, never removed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aims.core.profile import FrameProfile

__all__ = ["ColumnDrift", "DriftReport"]


@dataclass
class ColumnDrift:
    """Drift verdict of one column.

    ``test`` is ``"schema"`` when the column is missing on one side or its
    type changed, ``"none"`` when it cannot be tested (unsupported type, or no
    values on either side). ``score`` orders columns by how far past their
    threshold they are: ``statistic / threshold`` for distances,
    ``ln p / ln threshold`` for p-value tests (>= 1 means drifted).
    ``error_bound`` is the largest possible difference from the exact value
    when the statistic was computed from binned profiles (Wasserstein, KS).
    ``missing_*`` is the share of rows that are null or NaN, ``infinite_*``
    the share that are ``inf``/``-inf``; the tests run on the other rows.
    """

    name: str
    kind: str
    test: str
    statistic: float | None
    p_value: float | None
    threshold: float | None
    drifted: bool
    score: float = 0.0
    n_reference: int = 0
    n_current: int = 0
    missing_reference: float = 0.0
    missing_current: float = 0.0
    infinite_reference: float = 0.0
    infinite_current: float = 0.0
    method: str = "exact"
    p_value_adjusted: float | None = None
    error_bound: float | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float) and not math.isfinite(value):
                out[key] = None
        return out


@dataclass
class DriftReport:
    """Drift of every compared column, and whether the dataset as a whole drifted."""

    columns: list[ColumnDrift]
    drift_share: float = 0.5
    correction: str = "none"
    method: str = "exact"
    reference: FrameProfile | None = field(default=None, repr=False)
    current: FrameProfile | None = field(default=None, repr=False)

    @property
    def n_drifted(self) -> int:
        return sum(1 for c in self.columns if c.drifted)

    @property
    def share_drifted(self) -> float:
        return self.n_drifted / len(self.columns) if self.columns else 0.0

    @property
    def dataset_drift(self) -> bool:
        """True when at least ``drift_share`` of the columns drifted."""
        return bool(self.columns) and self.share_drifted >= self.drift_share

    @property
    def drifted_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.drifted]

    def column(self, name: str) -> ColumnDrift:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [c.to_dict() for c in self.columns],
            "n_drifted": self.n_drifted,
            "share_drifted": self.share_drifted,
            "dataset_drift": self.dataset_drift,
            "n_columns": len(self.columns),
            "drift_share": self.drift_share,
            "correction": self.correction,
            "method": self.method,
            "schema_changes": [c.name for c in self.columns if c.test == "schema"],
        }
