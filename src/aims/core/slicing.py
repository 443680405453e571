"""Slices: the rows of one category, or one quantile bin, of a column, and their metrics.

A model that is good on average can be poor for a group of rows; evaluation
reports the metrics per slice and flags the worst ones. Categorical columns
slice by value (the most frequent ``max_categories``, the rest pooled as
``(other)``); numeric columns with more distinct values than that are cut at
quantiles. Missing values form their own slice, ``(missing)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import polars as pl

from aims.core.metric_catalog import METRICS
from aims.errors import InvalidInput

MISSING_LABEL = "(missing)"
OTHER_LABEL = "(other)"


class Scorer(Protocol):
    """What slicing needs from an evaluation: metrics of some rows."""

    def metrics(
        self, yt: np.ndarray, yp: np.ndarray, proba: np.ndarray | None
    ) -> dict[str, float]: ...


@dataclass(frozen=True)
class SliceResult:
    """Metrics on the rows where ``column`` falls in one category or numeric bin."""

    column: str
    value: str
    n: int
    metrics: dict[str, float]
    flagged: bool = False


def _text(column: pl.Series) -> np.ndarray:
    """Column values as text, with missing values (null or NaN) as ``(missing)``."""
    if column.dtype.is_float():
        column = column.fill_nan(None)
    return column.cast(pl.String).fill_null(MISSING_LABEL).to_numpy().astype(str)


def slice_labels(column: pl.Series, numeric_bins: int, max_categories: int) -> np.ndarray:
    """The slice of each row of ``column``, as text such as ``NYC``, ``[18, 31)`` or ``(other)``.

    Numeric columns with more than ``max_categories`` distinct values are cut
    at ``numeric_bins`` quantiles (the last bin closed); other columns keep
    their ``max_categories - 1`` most frequent values and pool the rest.
    """
    dtype = column.dtype
    numeric = dtype.is_numeric() and dtype != pl.Boolean
    if numeric and column.drop_nulls().n_unique() > max_categories:
        values = column.cast(pl.Float64).fill_nan(None)
        present = values.drop_nulls().to_numpy()
        edges = np.unique(np.quantile(present, np.linspace(0.0, 1.0, numeric_bins + 1)))
        inner = edges[1:-1]
        idx = np.searchsorted(inner, np.nan_to_num(values.to_numpy(), nan=0.0), side="right")
        names = [
            f"[{lo:.4g}, {hi:.4g}{']' if i == len(edges) - 2 else ')'}"
            for i, (lo, hi) in enumerate(itertools.pairwise(edges))
        ] or [f"[{edges[0]:.4g}, {edges[0]:.4g}]"]
        out: np.ndarray = np.asarray(names, dtype=object)[np.minimum(idx, len(names) - 1)]
        out[values.is_null().to_numpy()] = MISSING_LABEL
        return out.astype(str)
    text = _text(column)
    distinct, counts = np.unique(text, return_counts=True)
    if distinct.size > max_categories:
        keep = set(distinct[np.argsort(-counts, kind="stable")[: max_categories - 1]])
        text = np.where(np.isin(text, list(keep)), text, OTHER_LABEL)
    return text


def slice_metrics(
    frame: pl.DataFrame,
    columns: Sequence[str],
    scorer: Scorer,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None,
    overall: dict[str, float],
    key: str,
    *,
    numeric_bins: int,
    max_categories: int,
    min_slice_size: int,
    n_worst: int,
) -> list[SliceResult]:
    """The metrics of every slice of ``columns``; up to ``n_worst`` slices of at least
    ``min_slice_size`` rows that are worse than ``overall`` on metric ``key`` are flagged."""
    higher = METRICS[key].higher_is_better if key in METRICS else None
    if higher is None:
        raise InvalidInput(
            f"slice metric {key!r} has no better direction or is unknown; use one of "
            f"{', '.join(k for k, v in METRICS.items() if v.higher_is_better is not None)}"
        )
    out: list[SliceResult] = []
    for col in columns:
        values, codes = np.unique(
            slice_labels(frame[col], numeric_bins, max_categories), return_inverse=True
        )
        for i in _ordered(values.tolist()):
            mask = codes == i
            m = scorer.metrics(y_true[mask], y_pred[mask], None if proba is None else proba[mask])
            out.append(SliceResult(col, str(values[i]), int(mask.sum()), m))
    reference = overall.get(key)
    candidates = [
        (i, s.metrics[key])
        for i, s in enumerate(out)
        if s.n >= min_slice_size
        and key in s.metrics
        and reference is not None
        and (s.metrics[key] < reference if higher else s.metrics[key] > reference)
    ]
    candidates.sort(key=lambda t: t[1], reverse=not higher)
    for i, _ in candidates[:n_worst]:
        s = out[i]
        out[i] = SliceResult(s.column, s.value, s.n, s.metrics, flagged=True)
    return out


def _ordered(values: list[str]) -> list[int]:
    """Positions of slice values in reading order: numeric bins by lower edge, then the rest."""

    def sort_key(i: int) -> tuple[int, float, str]:
        v = values[i]
        if v.startswith("[") and "," in v:
            try:
                return (0, float(v[1 : v.index(",")]), v)
            except ValueError:
                pass
        return (1 if v not in (OTHER_LABEL, MISSING_LABEL) else 2, 0.0, v)

    return sorted(range(len(values)), key=sort_key)


__all__ = ["MISSING_LABEL", "OTHER_LABEL", "SliceResult", "slice_labels", "slice_metrics"]
