"""What the dashboard shows, computed from the store (nothing here is entered by hand).

Health of a model, from its latest monitor windows and open incidents:

* **red** — an open incident of severity ``critical`` or ``high``;
* **amber** — any other open incident, an overdue risk review, or a drifted
  latest window;
* **green** — none of these.
"""

from __future__ import annotations

import datetime as dt
import math
from itertools import pairwise
from typing import Any

import numpy as np
from sqlalchemy import func, select

from aims.core.profile import CategoricalProfile, ColumnProfile, NumericProfile
from aims.services import governance, lifecycle, registry
from aims.services.monitor import window_store
from aims.storage.predlog.schema import utc  # SQLite gives naive UTC times, PostgreSQL aware
from aims.storage.schema import Incident, Model, ModelVersion, MonitorWindow
from aims.workspace import Workspace

SEVERE = ("critical", "high")
#: Share of the pooled reference and window values a numeric chart's x axis spans.
CENTRAL_MASS = 0.99
#: A numeric chart has about this many bars at most.
MAX_BARS = 30
#: Categories drawn with a bar each; the rest share one "(other)" bar.
TOP_CATEGORIES = 15
#: Labelled ticks on a numeric chart's x axis, at most.
MAX_TICKS = 10
OTHER = "(other)"
#: Model outputs the monitor profiles, in the order the page shows them.
OUTPUT_COLUMNS = ("prediction", "score", "confidence", "entropy")


def _visible(project: str | None, model: Model) -> bool:
    return project is None or model.project == project


def latest_windows(s: Any, model_id: int) -> list[MonitorWindow]:
    """The newest window of each version that holds a served stage now, in that role.

    Versions archived since are left out: their last window says nothing of
    the model as it is served today.
    """
    return window_store.current_windows(s, model_id)


def window_drifted(results: dict[str, Any]) -> bool:
    """Whether a window's results show drift or fired a trigger."""
    features = results.get("features") or {}
    return bool(results.get("fired")) or any(f.get("drifted") for f in features.values())


def health(open_incidents: list[Incident], overdue: bool, windows: list[MonitorWindow]) -> str:
    if any(i.severity in SEVERE for i in open_incidents):
        return "red"
    if open_incidents or overdue or any(window_drifted(w.results) for w in windows):
        return "amber"
    return "green"


def inventory(ws: Workspace, project: str | None = None) -> list[dict[str, Any]]:
    """One row per model: stages, owners, risk tier, health."""
    today = dt.date.today()
    rows = []
    with ws.db.session() as s:
        for m in s.scalars(select(Model).order_by(Model.name)).all():
            if not _visible(project, m):
                continue
            risk = governance.latest_risk(s, m.id)
            overdue = risk is not None and dt.date.fromisoformat(risk.next_review) < today
            open_inc = list(
                s.scalars(
                    select(Incident).where(Incident.model_id == m.id, Incident.status != "resolved")
                ).all()
            )
            windows = latest_windows(s, m.id)
            by_stage = {
                v.stage: v for v in m.versions if v.stage in ("production", "canary", "shadow")
            }
            rows.append(
                {
                    "name": m.name,
                    "project": m.project,
                    "production": by_stage["production"].version
                    if "production" in by_stage
                    else None,
                    "canary": (by_stage["canary"].version, by_stage["canary"].traffic)
                    if "canary" in by_stage
                    else None,
                    "shadow": by_stage["shadow"].version if "shadow" in by_stage else None,
                    "versions": len(m.versions),
                    "owners": {o.role: o.owner for o in m.owners},
                    "risk_tier": risk.tier if risk else None,
                    "risk_overdue": overdue,
                    "open_incidents": len(open_inc),
                    "last_window": max((w.window_start for w in windows), default=None),
                    "health": health(open_inc, overdue, windows),
                }
            )
    return rows


def model_page(ws: Workspace, name: str) -> dict[str, Any]:
    """Versions with lineage, gate results, approvals, risk assessment."""
    described = registry.describe(ws, name)
    versions = []
    for v in described["versions"]:
        ref = f"{name}@{v['version']}"
        item = dict(v)
        item["lineage"] = registry.lineage(ws, ref)
        if v["stage"] not in ("archived",):
            item["gates"] = governance.gates(ws, ref, "production")
        with ws.db.session() as s:
            mv = registry.get_model_version(s, registry.parse_ref(ref))
            item["approvals"] = [
                {"actor": a.actor, "roles": a.role, "note": a.note, "at": a.created_at}
                for a in governance.approvals_of(s, mv.id)
            ]
            stored = governance.latest_evaluation(s, mv.id)
            item["metrics"] = (stored or {}).get("evaluation", {}).get("metrics", {})
        versions.append(item)
    return {
        **{k: v for k, v in described.items() if k != "versions"},
        "versions": list(reversed(versions)),
        "risk": governance.show_risk(ws, name),
        "history": list(reversed(lifecycle.history(ws, name))),
    }


def model_project(ws: Workspace, name: str) -> str:
    with ws.db.session() as s:
        return registry.get_model(s, name).project


def monitoring(
    ws: Workspace, name: str, role: str = "production", limit: int = 500
) -> dict[str, Any]:
    """Time series for the monitoring page, oldest first."""
    with ws.db.session() as s:
        model = registry.get_model(s, name)
        # one window per start: a promotion mid-window must not mix in the outgoing version
        windows = window_store.role_series(s, model.id, role, limit)
        newest = window_store.latest_production_window(s, model.id, role)
        incidents = list(
            s.scalars(
                select(Incident).where(Incident.model_id == model.id).order_by(Incident.opened_at)
            ).all()
        )
        ref_profile = None
        prod = next((v for v in model.versions if v.stage == "production"), None)
        if prod is not None and prod.inputs:
            ref_profile = prod.inputs[0].profile
    times = [int(utc(w.window_start).timestamp()) for w in windows]
    # Drift score = the default test's statistic over its threshold (>= 1 drifted).
    features: dict[str, list[float | None]] = {}
    drifted_now: dict[str, bool] = {}
    for i, w in enumerate(windows):
        for fname, entry in (w.results.get("features") or {}).items():
            if entry.get("excluded"):
                continue
            series = features.setdefault(fname, [None] * len(windows))
            series[i] = entry.get("drift_score")
            if i == len(windows) - 1:
                drifted_now[fname] = bool(entry.get("drifted"))
    perf_name, perf, coverage = None, [], []
    for w in windows:
        p = w.results.get("performance") or {}
        metrics = p.get("values") or {}
        if perf_name is None:
            perf_name = next((m for m in ("roc_auc", "accuracy", "rmse") if m in metrics), None)
        perf.append(metrics.get(perf_name) if perf_name else None)
        coverage.append(p.get("labelled_share"))
    # the latest window of the version holding the role now, not an archived one's
    latest = newest.results if newest is not None else (windows[-1].results if windows else {})
    return {
        "model": name,
        "role": role,
        "times": times,
        "features": features,
        "drifted_now": drifted_now,
        "volume": [w.n_predictions for w in windows],
        "performance_metric": perf_name,
        "performance": perf,
        "label_coverage": coverage,
        "incidents": [
            {
                "id": i.id,
                "t": int(utc(i.opened_at).timestamp()),
                "opened_at": utc(i.opened_at).isoformat(),
                "severity": i.severity,
                "summary": i.summary,
                "status": i.status,
                "kind": i.kind,
            }
            for i in incidents
        ],
        "reference_profile": ref_profile is not None,
        "latest": latest,
    }


def _latest_profiled_window(s: Any, model_id: int, role: str) -> MonitorWindow | None:
    return window_store.latest_profiled(s, model_id, role)


def _version(s: Any, model_id: int, version: int) -> ModelVersion | None:
    return s.scalar(
        select(ModelVersion).where(
            ModelVersion.model_id == model_id, ModelVersion.version == version
        )
    )


def feature_distribution(
    ws: Workspace, name: str, feature: str, role: str = "production"
) -> dict[str, Any]:
    """Bars of one feature in the latest window against its training data (see :func:`distribution`).

    Both come from stored profiles: the window's, and the training dataset's
    of the version that served the window (its bins are the ones the window
    was profiled on).
    """
    from aims.core.profile import loads
    from aims.services.monitor.windows import WindowProfile

    with ws.db.session() as s:
        model = registry.get_model(s, name)
        window = _latest_profiled_window(s, model.id, role)
        if window is not None:
            mv = _version(s, model.id, window.version)
        else:
            mv = next((v for v in model.versions if v.stage == "production"), None)
        ref_bytes = mv.inputs[0].profile if mv is not None and mv.inputs else None
        cur_bytes = window.profile if window is not None else None
    ref = loads(ref_bytes).columns.get(feature) if ref_bytes is not None else None
    inputs = WindowProfile.loads(cur_bytes).inputs if cur_bytes is not None else None
    cur = inputs.columns.get(feature) if inputs is not None else None
    return {"feature": feature, **(distribution(ref, cur) or {"kind": None})}


def output_distributions(ws: Workspace, name: str, role: str = "production") -> dict[str, Any]:
    """The latest window's prediction, score, confidence and entropy against the reference.

    The reference is the profile of the model's own predictions on its
    training data, which the monitor writes to its cache the first time it
    judges a window of the version; it is read, never recomputed, here. When
    it is not there (the monitor ran on another machine, or compared the
    predictions with the training label instead), only the window is drawn
    and ``note`` says why. ``tests`` are the monitor's drift results for the
    same window.
    """
    from aims.core.profile import loads
    from aims.errors import AimsError
    from aims.services.monitor.reference import output_cache_path, version_facts
    from aims.services.monitor.windows import WindowProfile

    out: dict[str, Any] = {
        "version": None,
        "window_start": None,
        "reference": "none",
        "note": None,
        "columns": {},
        "tests": [],
    }
    with ws.db.session() as s:
        model = registry.get_model(s, name)
        window = _latest_profiled_window(s, model.id, role)
        if window is None:
            out["note"] = "no monitor window with a profile yet"
            return out
        mv = _version(s, model.id, window.version)
        cache = output_cache_path(ws, version_facts(s, mv)) if mv is not None else None
        results, blob = window.results, window.profile
        out["version"] = window.version
        out["window_start"] = utc(window.window_start).isoformat()
    section = results.get("prediction") or {}
    out["reference"] = section.get("reference") or "none"
    reference = None
    if out["reference"] == "model" and cache is not None and cache.is_file():
        try:
            reference = loads(cache.read_bytes())
        except AimsError:
            reference = None
    if reference is None:
        out["note"] = {
            "model": "the model's predictions on its training data are not cached on this "
            "server (the monitor caches them when it runs here)",
            "label": "the monitor compared predictions with the training label's distribution, "
            "as the model's own predictions on its training data were not available",
        }.get(out["reference"], "the monitor has no reference for the predictions")
    outputs = WindowProfile.loads(blob).outputs if blob is not None else None
    for column in OUTPUT_COLUMNS:
        cur = outputs.columns.get(column) if outputs is not None else None
        ref = reference.columns.get(column) if reference is not None else None
        bars = distribution(ref, cur) if cur is not None else None
        if bars is not None:
            out["columns"][column] = bars
    out["tests"] = [
        {
            "column": column,
            "test": entry.get("test"),
            "statistic": entry.get("statistic"),
            "psi": entry.get("psi"),
            "score": entry.get("score"),
            "drifted": entry.get("drifted"),
        }
        for column, entry in (section.get("columns") or {}).items()
    ]
    return out


# --------------------------------------------------------------------------- bars
def distribution(
    reference: ColumnProfile | None,
    current: ColumnProfile | None,
    *,
    mass: float = CENTRAL_MASS,
    max_bars: int = MAX_BARS,
    top: int = TOP_CATEGORIES,
) -> dict[str, Any] | None:
    """Bars of a column's reference and current profiles on one x axis, as shares of rows.

    Numeric columns get equal-width bins (1, 2 or 5 times a power of ten
    wide, at most about ``max_bars``; centred on integers for integer
    columns) over the range holding the central ``mass`` of the two
    distributions pooled with equal weight, so a small window's drifted tail
    weighs as much as the training data. Values beyond that range are added
    to the outer bars, so nothing is hidden: each side's bars sum to its share
    of finite values. A profile bucket's count is taken as spread evenly over
    the bucket, as :meth:`~aims.core.profile.NumericProfile.quantile` does.

    Categorical columns get one bar for each of the ``top`` categories most
    common in the two pooled and one ``(other)`` bar for the rest.

    Returns None when neither side is a numeric or categorical profile. Keys:
    ``kind``; ``labels`` (one per bar); ``reference`` and ``current`` (shares
    of rows per bar, None for a side without a profile); ``rows``;
    ``missing`` (share of rows null, NaN or infinite); for numeric columns
    also ``edges`` (bar boundaries), ``ticks`` (``[position, label]`` for
    the x axis), ``folded`` (share of rows added to the outer bars) and
    ``mass``.

    Examples
    --------
    >>> import numpy as np
    >>> from aims.core.profile.numeric import NumericLayout, profile_values
    >>> layout = NumericLayout(0.0, 100.0, bins=100)
    >>> ref = profile_values(np.arange(100.0), layout)
    >>> bars = distribution(ref, ref, max_bars=10)
    >>> bars["edges"][0], bars["edges"][-1], len(bars["labels"])
    (0.0, 100.0, 10)
    >>> round(sum(bars["current"]), 6)
    1.0
    """
    sides = {"reference": reference, "current": current}
    first = next((p for p in sides.values() if p is not None), None)
    if isinstance(first, NumericProfile):
        kept = {k: p if isinstance(p, NumericProfile) else None for k, p in sides.items()}
        ref, cur = kept["reference"], kept["current"]
        if ref is not None and cur is not None and ref.layout != cur.layout:
            # profiled on other bins (another version's training data): not comparable
            kept["reference"], first = None, cur
        return _numeric_bars(kept, first, mass, max_bars)
    if isinstance(first, CategoricalProfile):
        kept_c = {k: p if isinstance(p, CategoricalProfile) else None for k, p in sides.items()}
        return _categorical_bars(kept_c, top)
    return None


def _missing(p: NumericProfile | CategoricalProfile | None) -> float | None:
    if p is None:
        return None
    return (p.rows - p.n) / p.rows if p.rows else 0.0


def _numeric_bars(
    sides: dict[str, NumericProfile | None], first: NumericProfile, mass: float, max_bars: int
) -> dict[str, Any]:
    from aims.core.profile.numeric import aligned

    ref, cur = sides["reference"], sides["current"]
    a = ref if ref is not None else first
    b = cur if cur is not None else first
    edges, count_a, count_b = aligned(a, b)
    counts = {
        "reference": count_a if ref is not None else None,
        "current": count_b if cur is not None else None,
    }
    out: dict[str, Any] = {
        "kind": "numeric",
        "rows": {k: (p.rows if p is not None else None) for k, p in sides.items()},
        "missing": {k: _missing(p) for k, p in sides.items()},
        "mass": mass,
    }
    finite = [c / c.sum() for c in counts.values() if c is not None and c.sum() > 0]
    if not finite:
        empty = {k: ([] if p is not None else None) for k, p in sides.items()}
        folded = {k: (0.0 if p is not None else None) for k, p in sides.items()}
        return {**out, **empty, "edges": [], "labels": [], "ticks": [], "folded": folded}
    pooled = np.mean(finite, axis=0)
    cdf = np.concatenate([[0.0], np.cumsum(pooled)])
    tail = (1.0 - mass) / 2
    lo, hi = (float(x) for x in np.interp([tail, 1.0 - tail], cdf, edges))
    integer = a.dtype.startswith(("Int", "UInt"))
    grid, step = _grid(lo, hi, float(edges[0]), float(edges[-1]), max_bars, integer)
    below_any = above_any = False
    for key, c in counts.items():
        p = sides[key]
        if c is None or p is None:
            out[key], out.setdefault("folded", {})[key] = None, None
            continue
        cum = np.concatenate([[0.0], np.cumsum(c, dtype=np.float64)])
        at = np.interp(grid, edges, cum)
        bars = np.diff(at)
        below, above = float(at[0]), float(cum[-1] - at[-1])
        bars[0] += below
        bars[-1] += above
        rows = p.rows or 1
        out[key] = (bars / rows).tolist()
        out.setdefault("folded", {})[key] = (below + above) / rows
        below_any, above_any = below_any or below > 0, above_any or above > 0
    out["edges"] = grid.tolist()
    out["labels"] = _bar_labels(grid, step, integer, below_any, above_any)
    out["ticks"] = _ticks(grid, step, integer)
    return out


def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is at least ``raw`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 5.0):
        if m * power >= raw * (1 - 1e-9):
            return m * power
    return 10.0 * power


def _grid(
    lo: float, hi: float, full_lo: float, full_hi: float, max_bars: int, integer: bool
) -> tuple[np.ndarray, float]:
    """Bar edges covering ``[lo, hi]`` and their spacing (0 when the spacing is uneven)."""
    if not hi > lo:
        lo, hi = full_lo, full_hi
    if not hi > lo:  # one value only: a bar around it
        half = max(abs(lo) * 0.05, 1.0 if integer else 1e-3)
        lo, hi = lo - half, hi + half
    raw = (hi - lo) / max_bars
    if not (math.isfinite(raw) and raw > 0):
        return np.linspace(lo, hi, max_bars + 1), 0.0
    step = _nice_step(raw)
    # Integer columns: edges at half-integers, so each value sits inside one bar.
    shift = 0.5 if integer else 0.0
    if integer:
        step = max(step, 1.0)
    first, last = math.floor((lo + shift) / step), math.ceil((hi + shift) / step)
    last = max(last, first + 1)
    if last - first > 2 * max_bars + 2:  # float rounding at extreme magnitudes
        return np.linspace(lo, hi, max_bars + 1), 0.0
    decimals = max(0, 1 - math.floor(math.log10(step)))
    return np.round(np.arange(first, last + 1) * step, decimals) - shift, step


def _fmt(value: float, spacing: float) -> str:
    """``value`` with as many decimals as ``spacing`` (a 1-2-5 step) needs."""
    if abs(value) >= 1e6 or spacing <= 0:
        text = f"{value:.4g}"
    else:
        text = f"{value:.{max(0, -math.floor(math.log10(spacing) + 1e-9))}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _bar_labels(
    grid: np.ndarray, step: float, integer: bool, below: bool, above: bool
) -> list[str]:
    if integer and step == 1:
        labels = [_fmt(e + 0.5, 1) for e in grid[:-1]]
    elif integer and step:
        labels = [f"{_fmt(e + 0.5, step)}–{_fmt(f - 0.5, step)}" for e, f in pairwise(grid)]
    else:
        labels = [f"[{_fmt(e, step)}, {_fmt(f, step)})" for e, f in pairwise(grid)]
    # the outer bars also hold what lies beyond them
    if below:
        labels[0] = f"≤ {_fmt(grid[1] - 0.5, step)}" if integer else f"< {_fmt(grid[1], step)}"
    if above:
        edge = grid[-2] + (0.5 if integer else 0.0)
        labels[-1] = f"≥ {_fmt(edge, step)}"
    return labels


def _ticks(grid: np.ndarray, step: float, integer: bool) -> list[list[Any]]:
    """At most ``MAX_TICKS`` x-axis ticks on bar edges (on integer values for integer columns)."""
    if not step:
        every = max(1, math.ceil(grid.size / MAX_TICKS))
        return [[float(e), _fmt(float(e), 0)] for e in grid[::every]]
    shift = 0.5 if integer else 0.0
    index = np.rint((grid + shift) / step).astype(np.int64)
    # tick spacing: a 1-2-5 number that is a whole number of bars
    spacing = _nice_step(step * grid.size / MAX_TICKS) if grid.size > MAX_TICKS else step
    while abs(spacing / step - round(spacing / step)) > 1e-6:
        spacing = _nice_step(spacing * 1.01)
    every = max(1, round(spacing / step))
    return [
        [float(e + shift), _fmt(float(i * step), spacing)]
        for e, i in zip(grid, index, strict=True)
        if i % every == 0
    ]


def _categorical_bars(sides: dict[str, CategoricalProfile | None], top: int) -> dict[str, Any]:
    freqs = {k: (p.frequencies() if p is not None else None) for k, p in sides.items()}
    present = [f for f in freqs.values() if f and sum(f.values()) > 0]
    pooled: dict[Any, float] = {}
    for f in present:
        total = sum(f.values())
        for value, count in f.items():
            pooled[value] = pooled.get(value, 0.0) + count / total / len(present)
    named = sorted((v for v in pooled if v is not None), key=lambda v: (-pooled[v], str(v)))
    shown, rest = named[:top], named[top:]
    other = bool(rest) or None in pooled
    out: dict[str, Any] = {
        "kind": "categorical",
        "labels": [str(v) for v in shown] + ([OTHER] if other else []),
        "rows": {k: (p.rows if p is not None else None) for k, p in sides.items()},
        "missing": {k: _missing(p) for k, p in sides.items()},
    }
    for key, f in freqs.items():
        p = sides[key]
        if f is None or p is None:
            out[key] = None
            continue
        rows = p.rows or 1
        shares = [f.get(v, 0) / rows for v in shown]
        if other:
            shares.append((sum(f.get(v, 0) for v in rest) + f.get(None, 0)) / rows)
        out[key] = shares
    return out


def _span(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds()


def incidents(ws: Workspace, project: str | None = None) -> list[dict[str, Any]]:
    with ws.db.session() as s:
        rows = s.execute(
            select(Incident, Model.name, Model.project)
            .join(Model, Model.id == Incident.model_id)
            .order_by(Incident.opened_at.desc())
        ).all()
        return [
            {
                "id": i.id,
                "model": name,
                "version": i.version,
                "severity": i.severity,
                "status": i.status,
                "owner": i.owner,
                "kind": i.kind,
                "trigger": i.trigger,
                "summary": i.summary,
                "opened_at": i.opened_at,
                "acked_at": i.acked_at,
                "resolved_at": i.resolved_at,
                "resolution": i.resolution,
                "actions": i.actions,
                "time_to_ack_seconds": _span(i.opened_at, i.acked_at),
                "time_to_resolve_seconds": _span(i.opened_at, i.resolved_at),
            }
            for i, name, proj in rows
            if project is None or proj == project
        ]


def model_versions_count(ws: Workspace) -> int:
    with ws.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(ModelVersion)) or 0)
