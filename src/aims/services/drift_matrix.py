"""Drift of every feature in every window of a model, as the monitoring page draws it.

The monitoring page of a model with hundreds of features shows a feature ×
window heatmap of the **drift score**: the monitor's statistic relative to its
threshold (``statistic / threshold`` for distances, ``ln p / ln alpha`` for
p-value tests), so 1 is the threshold whatever the test, and >= 1 is drifted.

Reading it from the windows' stored results would parse every window's whole
results document (15 MB for 300 features × 200 windows) on every view. A
window's results never change once stored (a provisional window is replaced
by a new row), so the per-feature figures of each window are extracted once
into a compact file under ``.aims/state/dashboard/drift/``, named by the
window's id and the time it was computed, and read from there afterwards. The
files are a cache: deleting them costs one slower view.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.clock import utc
from aims.services import registry
from aims.storage.schema import ModelVersion, MonitorWindow
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

#: Per-feature figures kept for each window, in this order.
FIGURES = ("score", "statistic", "threshold", "psi", "null_share")
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
_FORMAT = 1  # of the cache files; a new format ignores the old files
_MEMORY_LIMIT = 4096  # windows kept decoded in memory, across models


@dataclass(frozen=True)
class WindowRow:
    """One stored window, without its results or profile."""

    id: int
    version: int
    start: datetime
    seconds: int
    n_predictions: int
    computed_at: datetime


@dataclass(frozen=True)
class WindowDrift:
    """The per-feature drift figures of one window (``None``: not tested)."""

    names: tuple[str, ...]
    tests: tuple[str | None, ...]
    drifted: tuple[bool | None, ...]
    figures: dict[str, np.ndarray]  # one float per feature, NaN where there is none
    provisional: bool = False
    #: The window's performance figures and labelled share (``results.performance``).
    performance: dict[str, Any] | None = None

    def value(self, figure: str, k: int) -> float | None:
        """One figure of the ``k``-th feature (``None``: none)."""
        v = float(self.figures[figure][k])
        return None if math.isnan(v) else v

    def to_bytes(self) -> bytes:
        """Compact msgpack bytes (the cache file's content)."""
        return msgpack.packb(
            {
                "names": list(self.names),
                "tests": list(self.tests),
                "drifted": list(self.drifted),
                "figures": {k: v.astype("<f8").tobytes() for k, v in self.figures.items()},
                "provisional": self.provisional,
                "performance": self.performance,
            },
            use_bin_type=True,
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> WindowDrift:
        """The figures :meth:`to_bytes` wrote."""
        raw = msgpack.unpackb(data, raw=False)
        return cls(
            tuple(raw["names"]),
            tuple(raw["tests"]),
            tuple(raw["drifted"]),
            {k: np.frombuffer(v, dtype="<f8") for k, v in raw["figures"].items()},
            bool(raw.get("provisional")),
            raw.get("performance"),
        )

    @classmethod
    def of_results(cls, results: dict[str, Any]) -> WindowDrift:
        """The figures of a window's stored results (features left out of drift: ``None``)."""
        names, tests, drifted = [], [], []
        figures: dict[str, list[float | None]] = {k: [] for k in FIGURES}
        for name, entry in (results.get("features") or {}).items():
            names.append(name)
            excluded = bool(entry.get("excluded"))
            tests.append(None if excluded else entry.get("test"))
            drifted.append(None if excluded else entry.get("drifted"))
            for key in FIGURES:
                field = "drift_score" if key == "score" else key
                figures[key].append(None if excluded else _number(entry.get(field)))
        return cls(
            tuple(names),
            tuple(tests),
            tuple(drifted),
            {k: np.array([np.nan if x is None else x for x in v]) for k, v in figures.items()},
            bool(results.get("provisional")),
            _performance(results.get("performance")),
        )


def _performance(section: Any) -> dict[str, Any] | None:
    if not isinstance(section, dict):
        return None
    values = section.get("values") or {}
    return {
        "values": {k: _number(v) for k, v in values.items() if isinstance(k, str)},
        "labelled_share": _number(section.get("labelled_share")),
    }


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


class _Cache:
    """Decoded windows in memory (bounded), backed by one file per window."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, int, str], WindowDrift] = OrderedDict()

    def get(self, key: tuple[str, int, str]) -> WindowDrift | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: tuple[str, int, str], value: WindowDrift) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > _MEMORY_LIMIT:
                self._items.popitem(last=False)


_CACHE = _Cache()


def _folder(ws: Workspace) -> Path:
    return Path(ws.settings.state_dir) / "dashboard" / "drift"


def _stamp(row: WindowRow) -> str:
    return utc(row.computed_at).strftime("%Y%m%dT%H%M%S%f")


def window_drift(ws: Workspace, s: Session, rows: list[WindowRow]) -> dict[int, WindowDrift]:
    """The drift figures of ``rows`` by window id: from memory, the files, or the store."""
    folder = _folder(ws)
    out: dict[int, WindowDrift] = {}
    missing: list[WindowRow] = []
    for row in rows:
        key = (str(folder), row.id, _stamp(row))
        hit = _CACHE.get(key)
        if hit is None:
            path = folder / f"{row.id}-{key[2]}.v{_FORMAT}.msgpack"
            try:
                hit = WindowDrift.from_bytes(path.read_bytes())
            except (OSError, ValueError, KeyError, TypeError, msgpack.ExtraData):
                missing.append(row)
                continue
            _CACHE.put(key, hit)
        out[row.id] = hit
    if missing:
        by_id = {r.id: r for r in missing}
        for wid, results in s.execute(
            select(MonitorWindow.id, MonitorWindow.results).where(MonitorWindow.id.in_(by_id))
        ).all():
            drift = WindowDrift.of_results(results or {})
            out[wid] = drift
            key = (str(folder), wid, _stamp(by_id[wid]))
            _CACHE.put(key, drift)
            _write(folder / f"{wid}-{key[2]}.v{_FORMAT}.msgpack", drift.to_bytes())
    return out


def _write(path: Path, data: bytes) -> None:
    """Write a cache file atomically; a read-only state folder only costs speed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError:
        pass


def series_windows(s: Session, model_id: int, role: str, limit: int) -> list[WindowRow]:
    """One window per start for ``role``, oldest first, the newest ``limit`` of them.

    Reads no results and no profiles. When two versions held the role in one
    window (a promotion in its middle), the version holding the role now wins,
    else the busier one, as on the rest of the monitoring page.
    """
    current = s.scalar(
        select(ModelVersion.version).where(
            ModelVersion.model_id == model_id, ModelVersion.stage == role
        )
    )
    rows = s.execute(
        select(
            MonitorWindow.id,
            MonitorWindow.version,
            MonitorWindow.window_start,
            MonitorWindow.window_seconds,
            MonitorWindow.n_predictions,
            MonitorWindow.computed_at,
        )
        .where(MonitorWindow.model_id == model_id, MonitorWindow.role == role)
        .order_by(MonitorWindow.window_start.desc())
        .limit(limit * 2)
    ).all()
    best: dict[datetime, WindowRow] = {}
    for wid, version, start, seconds, n, computed in rows:
        row = WindowRow(wid, version, utc(start), seconds, n, utc(computed))
        held = best.get(row.start)
        if held is None or _rank(row, current) > _rank(held, current):
            best[row.start] = row
    return [best[t] for t in sorted(best)][-limit:]


def _rank(row: WindowRow, current: int | None) -> tuple[bool, int]:
    return (row.version == current, row.n_predictions)


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
