"""Drift of every feature in every window of a model, as the monitoring page draws it.

The monitoring page of a model with hundreds of features shows a feature ×
window heatmap of the **drift score**: the monitor's statistic relative to its
threshold (``statistic / threshold`` for distances, ``ln p / ln alpha`` for
p-value tests), so 1 is the threshold whatever the test, and >= 1 is drifted.

The figures come from :mod:`aims.services.window_drift`, which extracts them
from each window's results once, so a view never parses every window's whole
results document (15 MB for 300 features × 200 windows).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.services import registry
from aims.services.window_drift import FIGURES, WindowDrift, WindowRow, series_windows, window_drift
from aims.storage.schema import ModelVersion
from aims.workspace import Workspace

__all__ = [
    "FIGURES",
    "MISSING",
    "SORTS",
    "UNITS",
    "WindowDrift",
    "WindowRow",
    "feature_history",
    "importance",
    "matrix",
    "series_windows",
    "window_drift",
]

#: What each test's statistic measures, for the page's legend.
UNITS = {
    "wasserstein": "normalised Wasserstein distance: how far the distribution moved, "
    "in standard deviations of the training data",
    "jensen_shannon": "Jensen-Shannon distance between the two distributions (0 to 0.83)",
    "ks": "Kolmogorov-Smirnov test; the score is ln p / ln 0.05",
    "chi_square": "chi-square test of homogeneity; the score is ln p / ln 0.05",
    "psi": "population stability index (sum of (c - r) ln(c / r) over 10 cells)",
    "kl": "Kullback-Leibler divergence of the window from the training data, in nats",
}


def importance(s: Session, model_id: int, version: int | None) -> dict[str, Any]:
    """Permutation importance (and mean |SHAP|) of ``version``'s newest evaluation, if any."""
    from aims.services.evaluations import latest_evaluation

    out: dict[str, Any] = {"metric": None, "values": {}, "shap": {}, "version": version}
    if version is None:
        return out
    mv = s.scalar(
        select(ModelVersion).where(
            ModelVersion.model_id == model_id, ModelVersion.version == version
        )
    )
    stored = latest_evaluation(s, mv.id) if mv is not None else None
    ev = (stored or {}).get("evaluation") or {}
    perm = ev.get("importance") or {}
    out["metric"] = perm.get("metric")
    out["values"] = {
        k: v.get("mean") for k, v in (perm.get("features") or {}).items() if isinstance(v, dict)
    }
    out["shap"] = dict((ev.get("shap") or {}).get("features") or {})
    return out


SORTS = ("drift", "max", "importance", "name")


def matrix(
    ws: Workspace,
    name: str,
    role: str = "production",
    *,
    limit: int = 200,
    sort: str = "drift",
    top: int = 12,
) -> dict[str, Any]:
    """The feature × window drift scores of ``name``'s ``role``, features sorted by ``sort``.

    ``sort``: ``drift`` (the newest window's score, highest first), ``max``
    (the highest score over the windows shown), ``importance`` (permutation
    importance of the serving version) or ``name``. The ``top`` features with
    the highest newest score get their series in ``top_series`` for small
    charts. ``cells`` holds every score as base64 of little-endian uint16
    hundredths, feature by feature (65535: not tested), which the page decodes
    (:data:`MISSING`); ``score_now`` and ``score_max`` hold each row's newest and highest.
    """
    from aims.errors import InvalidInput

    if sort not in SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    with ws.db.session() as s:
        model = registry.get_model(s, name)
        rows = series_windows(s, model.id, role, max(1, min(limit, 2000)))
        drift = window_drift(ws, s, rows)
        serving = s.scalar(
            select(ModelVersion.version).where(
                ModelVersion.model_id == model.id, ModelVersion.stage == role
            )
        )
        imp = importance(s, model.id, serving if serving is not None else _last_version(rows))
    names: dict[str, None] = {}
    seen: set[tuple[str, ...]] = set()
    for row in reversed(rows):  # newest first: a feature's newest name order wins
        if drift[row.id].names not in seen:
            seen.add(drift[row.id].names)
            names.update(dict.fromkeys(drift[row.id].names))
    index = {n: i for i, n in enumerate(names)}
    cells = np.full((len(index), len(rows)), np.nan)
    tests: dict[str, str] = {}  # each feature's newest test
    used: set[str] = set()  # every test behind a score shown
    positions: dict[tuple[str, ...], np.ndarray] = {}
    last_tests: tuple[str | None, ...] | None = None
    for j, row in enumerate(rows):
        d = drift[row.id]
        where = positions.get(d.names)
        if where is None:
            where = positions[d.names] = np.array([index[n] for n in d.names], dtype=np.int64)
        if d.tests != last_tests:  # windows of one version mostly share their tests
            last_tests = d.tests
            tests.update((n, t) for n, t in zip(d.names, d.tests, strict=True) if t is not None)
            used.update(t for t in d.tests if t is not None)
        if len(where):
            cells[where, j] = d.figures["score"]
    features = list(index)
    latest = cells[:, -1] if rows else np.full(len(index), np.nan)
    tested = ~np.isnan(cells)
    peak = np.where(tested.any(axis=1), np.nanmax(np.where(tested, cells, -np.inf), axis=1), np.nan)
    weight = np.array([_num(imp["values"].get(f)) for f in features], dtype=float)
    chosen = {"drift": latest, "max": peak, "importance": weight}.get(sort)
    if chosen is None:
        order = sorted(range(len(features)), key=features.__getitem__)
    else:
        second = peak if sort == "drift" else latest
        # lexsort: last key first; missing values go last, then highest first
        order = list(
            np.lexsort(
                (
                    np.array(features, dtype=object).astype(str),
                    -np.nan_to_num(second, nan=-np.inf),
                    -np.nan_to_num(chosen, nan=-np.inf),
                    np.isnan(chosen),
                )
            )
        )
    top_rows = [
        i
        for i in np.argsort(-np.nan_to_num(latest, nan=-np.inf), kind="stable")
        if not np.isnan(latest[i])
    ][:top]
    newest = drift[rows[-1].id] if rows else None
    drifted_now = (
        {f: bool(v) for f, v in zip(newest.names, newest.drifted, strict=True) if v is not None}
        if newest is not None
        else {}
    )
    sorted_cells = cells[order] if len(order) else cells
    return {
        "model": name,
        "role": role,
        "sort": sort,
        "times": [int(r.start.timestamp()) for r in rows],
        "provisional": [drift[r.id].provisional for r in rows],
        "versions": [r.version for r in rows],
        "features": [features[i] for i in order],
        "cells": _encode(sorted_cells),
        "score_now": [_round(latest[i]) for i in order],
        "score_max": [_round(peak[i]) for i in order],
        "tests": [tests.get(features[i]) for i in order],
        "importance": [_round(weight[i], 6) for i in order],
        "importance_metric": imp["metric"],
        "importance_version": imp["version"],
        "shap": [imp["shap"].get(features[i]) for i in order] if imp["shap"] else None,
        "top": [features[i] for i in top_rows],
        "top_series": [[_round(v) for v in cells[i]] for i in top_rows],
        **_performance_series(rows, drift),
        "volume": [r.n_predictions for r in rows],
        "n_drifted": sum(1 for v in drifted_now.values() if v),
        "drifted_now": drifted_now,
        "units": {t: UNITS.get(t, t) for t in sorted(used)},
    }


def _performance_series(rows: list[WindowRow], drift: dict[int, WindowDrift]) -> dict[str, Any]:
    """The first of roc_auc, accuracy and rmse the windows have, and the labelled share."""
    perfs = [drift[r.id].performance or {} for r in rows]
    metric = None
    for p in perfs:
        metric = next(
            (m for m in ("roc_auc", "accuracy", "rmse") if m in (p.get("values") or {})), None
        )
        if metric:
            break
    return {
        "performance_metric": metric,
        "performance": [(p.get("values") or {}).get(metric) if metric else None for p in perfs],
        "label_coverage": [p.get("labelled_share") for p in perfs],
    }


#: The value :func:`matrix` encodes for a cell that was not tested.
MISSING = 65535


def _encode(cells: np.ndarray) -> str:
    import base64

    scaled = np.clip(np.rint(np.nan_to_num(cells, nan=0.0) * 100), 0, MISSING - 1)
    packed = np.where(np.isnan(cells), MISSING, scaled).astype("<u2")
    return base64.b64encode(packed.tobytes()).decode("ascii")


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else np.nan


def _round(value: float, digits: int = 3) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def _last_version(rows: list[WindowRow]) -> int | None:
    return rows[-1].version if rows else None


def feature_history(
    ws: Workspace, name: str, feature: str, role: str = "production", *, limit: int = 200
) -> dict[str, Any]:
    """One feature over the windows: score, statistic, threshold, PSI, missing share, test."""
    from aims.errors import NotFound

    with ws.db.session() as s:
        model = registry.get_model(s, name)
        rows = series_windows(s, model.id, role, max(1, min(limit, 2000)))
        drift = window_drift(ws, s, rows)
    series: dict[str, list[float | None]] = {k: [] for k in FIGURES}
    tests: list[str | None] = []
    drifted: list[bool | None] = []
    seen = False
    for row in rows:
        d = drift[row.id]
        try:
            k = d.names.index(feature)
        except ValueError:
            for key in FIGURES:
                series[key].append(None)
            tests.append(None)
            drifted.append(None)
            continue
        seen = True
        for key in FIGURES:
            series[key].append(d.value(key, k))
        tests.append(d.tests[k])
        drifted.append(d.drifted[k])
    if not seen:
        raise NotFound(f"model {name!r} has no monitored feature {feature!r} in its {role} windows")
    test = next((t for t in reversed(tests) if t), None)
    return {
        "model": name,
        "role": role,
        "feature": feature,
        "times": [int(r.start.timestamp()) for r in rows],
        "series": series,
        "tests": tests,
        "drifted": drifted,
        "test": test,
        "unit": UNITS.get(test or "", test),
    }
