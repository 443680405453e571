"""Group fairness: per-group metrics and the gaps between groups, computed by Fairlearn.

Fairlearn is an optional extra (``pip install 'aims[fairness]'``); it is
imported only when fairness is asked for, and its absence is reported as one
clear error.

Binary tasks get demographic parity (gaps in selection rate) and equalized
odds (the larger gap of true and false positive rates), each as a difference
(largest minus smallest group) and a ratio (smallest over largest). Every task
gets per-group metrics with their ``difference.<metric>`` and ``ratio.<metric>``
spread.

Fairlearn loops over rows in Python, which takes seconds per column on a few
hundred thousand rows. A classification outcome is fully described by (group,
true class, predicted class), so rows are first counted per distinct triple and
Fairlearn is given those few triples with the counts as sample weights: every
figure is the same, computed on at most ``groups x classes²`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np

from aims.core.metric_catalog import FAIRNESS_STATISTICS
from aims.errors import InvalidInput

Kind = Literal["binary", "multiclass", "regression"]
STATISTICS = tuple(FAIRNESS_STATISTICS)
"""Demographic parity and equalized odds, as differences and ratios."""


@dataclass(frozen=True)
class FairnessResult:
    """Group fairness for one sensitive column."""

    column: str
    statistics: dict[str, float]
    """Fairness statistics and per-metric ``difference.<m>`` / ``ratio.<m>`` between groups."""
    groups: dict[str, dict[str, float]]
    """Per-group metrics, by group value."""


def group_fairness(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    groups: np.ndarray,
    *,
    kind: Kind,
    column: str = "group",
    n_classes: int = 2,
) -> FairnessResult:
    """Per-group metrics and group fairness statistics for one sensitive column.

    Parameters
    ----------
    y_true, y_pred
        For ``binary``: 1 for the positive class, else 0 (booleans work). For
        ``multiclass``: class positions ``0 .. n_classes-1``. For
        ``regression``: numbers.
    groups
        The group of each row (text; missing values should already be a label).
    kind
        Which metrics apply; only ``binary`` has demographic parity and
        equalized odds.
    column
        Name recorded with the result.
    n_classes
        Number of classes of a ``multiclass`` task (for macro F1).

    References
    ----------
    Hardt, Price, Srebro (2016). Equality of opportunity in supervised learning.
    NeurIPS. Bird et al. (2020). Fairlearn: a toolkit for assessing and
    improving fairness in AI. Microsoft Tech Report MSR-TR-2020-32.
    """
    # Imported on use, so that a process never calling this skips its ~100 MB.
    from sklearn import metrics as skm

    yt, yp, g = np.asarray(y_true), np.asarray(y_pred), np.asarray(groups).astype(str)
    if not yt.shape == yp.shape == g.shape or yt.ndim != 1:
        raise InvalidInput(
            f"y_true, y_pred and groups must be 1-D of equal length, got "
            f"{yt.shape}, {yp.shape}, {g.shape}"
        )
    if kind == "regression":
        return _regression(column, yt.astype(float), yp.astype(float), g)
    if kind not in ("binary", "multiclass"):
        raise InvalidInput(f"kind must be binary, multiclass or regression, got {kind!r}")
    try:
        from fairlearn import metrics as flm
    except ImportError:
        raise InvalidInput(
            "fairness metrics need Fairlearn; install it with: pip install 'aims[fairness]'"
        ) from None
    k = 2 if kind == "binary" else n_classes
    yt_c, yp_c, g_c, weight = _count_outcomes(yt.astype(np.int64), yp.astype(np.int64), g, k)
    if kind == "binary":
        fns: dict[str, Any] = {
            "accuracy": skm.accuracy_score,
            "precision": partial(skm.precision_score, zero_division=0),
            "recall": partial(skm.recall_score, zero_division=0),
            "f1": partial(skm.f1_score, zero_division=0),
            "selection_rate": flm.selection_rate,
            "false_positive_rate": flm.false_positive_rate,
        }
    else:
        labels = np.arange(k)
        fns = {
            "accuracy": skm.accuracy_score,
            "f1": partial(skm.f1_score, average="macro", labels=labels, zero_division=0),
        }
    frame = flm.MetricFrame(
        metrics=fns,
        y_true=yt_c,
        y_pred=yp_c,
        sensitive_features=g_c,
        sample_params={name: {"sample_weight": weight} for name in fns},
    )
    counts = dict(zip(*np.unique(g, return_counts=True), strict=True))
    by_group = {
        str(group): {m: float(v) for m, v in row.items() if np.isfinite(v)}
        | {"count": float(counts[group])}
        for group, row in frame.by_group.iterrows()
    }
    stats: dict[str, float] = {}
    for spread, values in (("difference", frame.difference()), ("ratio", frame.ratio())):
        for m, v in values.items():
            if np.isfinite(v):
                stats[f"{spread}.{m}"] = float(v)
    if kind == "binary":
        for name in STATISTICS:
            value = float(
                getattr(flm, name)(yt_c, yp_c, sensitive_features=g_c, sample_weight=weight)
            )
            if np.isfinite(value):  # a ratio is undefined when every group's rate is zero
                stats[name] = value
    return FairnessResult(column, dict(sorted(stats.items())), by_group)


def _count_outcomes(
    yt: np.ndarray, yp: np.ndarray, groups: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (true, predicted, group) triples and how many rows each stands for."""
    names, code = np.unique(groups, return_inverse=True)
    key = (code.astype(np.int64) * k + yt) * k + yp
    distinct, weight = np.unique(key, return_counts=True)
    return (distinct // k) % k, distinct % k, names[distinct // (k * k)], weight.astype(float)


def _regression(column: str, yt: np.ndarray, yp: np.ndarray, g: np.ndarray) -> FairnessResult:
    # Continuous outcomes do not compress; the per-group errors are plain
    # scikit-learn calls on each group's rows.
    # Imported on use, so that a process never calling this skips its ~100 MB.
    from sklearn import metrics as skm

    by_group: dict[str, dict[str, float]] = {}
    for group in np.unique(g):
        mask = g == group
        by_group[str(group)] = {
            "mae": float(skm.mean_absolute_error(yt[mask], yp[mask])),
            "rmse": float(skm.root_mean_squared_error(yt[mask], yp[mask])),
            "count": float(mask.sum()),
        }
    stats: dict[str, float] = {}
    for m in ("mae", "rmse"):
        values = [v[m] for v in by_group.values()]
        stats[f"difference.{m}"] = max(values) - min(values)
        if max(values) > 0:
            stats[f"ratio.{m}"] = min(values) / max(values)
    return FairnessResult(column, dict(sorted(stats.items())), by_group)


__all__ = ["STATISTICS", "FairnessResult", "Kind", "group_fairness"]
