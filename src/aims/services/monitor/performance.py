"""Performance of a window's labelled predictions: metrics, their drop from the baseline, per slice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from aims.core.metric_catalog import metric_direction
from aims.core.metrics import indexed_classification_metrics, regression_metrics
from aims.core.outputs import text_of
from aims.core.triggers import SliceFacts
from aims.services.monitor.figures import finite, share
from aims.services.monitor.reference import Reference
from aims.services.monitor.triggers import MonitoringPolicy


def _proba_matrix(frame: pl.DataFrame, k: int) -> np.ndarray | None:
    if "proba" in frame.columns and isinstance(frame.schema["proba"], pl.List):
        lens = frame["proba"].list.len()
        if frame["proba"].null_count() == 0 and bool((lens == k).all()):
            p = np.asarray(frame["proba"].to_list(), dtype=float)
            if np.all(np.isfinite(p)):
                return p
    if k == 2 and "score" in frame.columns and frame["score"].null_count() == 0:
        s = frame["score"].cast(pl.Float64).to_numpy()
        if np.all(np.isfinite(s)) and np.all((s >= 0) & (s <= 1)):
            return np.column_stack([1 - s, s])
    return None


def _metrics(frame: pl.DataFrame, ref: Reference, only: set[str] | None = None) -> dict[str, float]:
    if ref.task == "regression":
        y = frame["label"].cast(pl.Float64, strict=False).to_numpy()
        p = frame["prediction"].cast(pl.Float64, strict=False).to_numpy()
        ok = np.isfinite(y) & np.isfinite(p)
        return regression_metrics(y[ok], p[ok], only=only) if ok.any() else {}
    classes = ref.classes or []
    index = {c: i for i, c in enumerate(classes)}
    yt = np.array([index[v] for v in frame["label"].to_list()], dtype=np.int64)
    yp = np.array([index[v] for v in frame["prediction"].to_list()], dtype=np.int64)
    proba = _proba_matrix(frame, len(classes))
    return indexed_classification_metrics(yt, yp, proba, n_classes=len(classes), only=only)


def _drops(metrics: Mapping[str, float], baseline: Mapping[str, float]) -> dict[str, float]:
    out = {}
    for name, value in metrics.items():
        base = baseline.get(name)
        direction = metric_direction(name)
        if base is None or direction is None:
            continue
        out[f"{name}_drop"] = base - value if direction else value - base
    return out


def labelled_rows(frame: pl.DataFrame, ref: Reference) -> tuple[pl.DataFrame, int]:
    """Rows with a usable label (and prediction), and how many labelled rows were unusable."""
    frame = frame.filter(pl.col("label").is_not_null())
    total = frame.height
    if ref.task == "classification":
        known = pl.Series(ref.classes or [], dtype=pl.String)
        frame = frame.with_columns(
            text_of(pl.col("label").cast(pl.String)).alias("label"),
            text_of(pl.col("prediction").cast(pl.String)).alias("prediction"),
        ).filter(pl.col("label").is_in(known) & pl.col("prediction").is_in(known))
    return frame, total - frame.height


def performance(
    frame: pl.DataFrame, ref: Reference, rows: int, policy: MonitoringPolicy
) -> tuple[dict[str, Any], dict[str, float | None]]:
    """Metrics of the labelled predictions of a window, overall and per slice.

    ``frame`` holds the window's log rows with a ``label`` column (null when
    not labelled yet); ``rows`` is the window's number of predictions.
    """
    usable, unusable = labelled_rows(frame, ref)
    n = usable.height
    section: dict[str, Any] = {
        "n_labelled": n,
        "labelled_share": share(n, rows),
        "unusable_labels": unusable,
        "baseline": dict(ref.baseline),
        "metrics": {},
        "drop": {},
        "slices": [],
    }
    values: dict[str, float | None] = {"n_labelled": float(n), "labelled_share": share(n, rows)}
    if n == 0:
        return section, values
    only = policy.metrics_for(ref.task)
    metrics = {k: v for k, v in _metrics(usable, ref, only).items() if finite(v) is not None}
    drops = _drops(metrics, ref.baseline)
    section["metrics"], section["drop"] = metrics, drops
    values.update(metrics)
    values.update(drops)
    for col in policy.slices:
        if col not in usable.columns:
            continue
        counts = (
            usable.group_by(pl.col(col).cast(pl.String).alias("_v"))
            .len()
            .filter(pl.col("len") >= policy.min_slice_labels)
            .sort(["len", "_v"], descending=[True, False])
            .head(policy.max_slices)
        )
        for value, count in counts.iter_rows():
            part = (
                usable.filter(pl.col(col).cast(pl.String) == value)
                if value is not None
                else (usable.filter(pl.col(col).is_null()))
            )
            try:
                m = {k: v for k, v in _metrics(part, ref, only).items() if finite(v) is not None}
            except ValueError:
                continue  # e.g. a slice with a single class has no defined ROC AUC
            m.update(_drops(m, ref.baseline))
            section["slices"].append(
                {"column": col, "value": value, "n_labelled": int(count), "metrics": m}
            )
    return section, values


def slice_facts(section: Mapping[str, Any]) -> list[SliceFacts]:
    """The per-slice figures of a stored performance section, as trigger conditions read them."""
    return [
        SliceFacts(f"{s['column']}={s['value']}", int(s["n_labelled"]), dict(s["metrics"]))
        for s in section.get("slices", [])
    ]


__all__ = ["labelled_rows", "performance", "slice_facts"]
