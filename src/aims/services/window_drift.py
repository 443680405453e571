"""The per-feature drift figures of each stored window, extracted once and cached.

A window's results never change once stored (a provisional window is replaced
by a new row), so the figures the dashboard draws for many windows (each
feature's drift score, statistic, threshold, PSI and missing share, the
window's performance) are extracted once into a compact file under
``.aims/state/dashboard/drift/``, named by the window's id and the time it was
computed, and read from there (and a bounded memory cache) afterwards. The
files are a cache: deleting them costs one slower view. Parsing the whole
results of 200 windows of 300 features on every view took over a second.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.clock import utc
from aims.storage.schema import ModelVersion, MonitorWindow
from aims.workspace import Workspace

__all__ = ["FIGURES", "WindowDrift", "WindowRow", "remember", "series_windows", "window_drift"]

#: Per-feature figures kept for each window, in this order.
FIGURES = ("score", "statistic", "threshold", "psi", "null_share")
_FORMAT = 2  # of the cache files; a new format ignores the old files
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
    #: Whether a trigger fired on the window (``results.fired``).
    fired: bool = False

    @property
    def any_drifted(self) -> bool:
        """Whether the window shows drift or fired a trigger (a model's health)."""
        return self.fired or any(self.drifted)

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
                "fired": self.fired,
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
            bool(raw.get("fired")),
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
            bool(results.get("fired")),
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


def remember(ws: Workspace, windows: Iterable[MonitorWindow]) -> None:
    """Write the cache files of windows the monitor has just stored (their results final).

    Called by the monitor once its transaction is committed, so the first
    view of the monitoring page reads files instead of parsing every window's
    results (2.5 s for 200 windows of 300 features).
    """
    folder = _folder(ws)
    for w in windows:
        row = WindowRow(
            w.id,
            w.version,
            utc(w.window_start),
            w.window_seconds,
            w.n_predictions,
            utc(w.computed_at),
        )
        drift = WindowDrift.of_results(w.results or {})
        key = (str(folder), row.id, _stamp(row))
        _CACHE.put(key, drift)
        _write(folder / f"{row.id}-{key[2]}.v{_FORMAT}.msgpack", drift.to_bytes())


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
