"""What the dashboard shows, computed from the store (nothing here is entered by hand).

Health of a model, from its latest monitor windows and open incidents:

* **red** — an open incident of severity ``critical`` or ``high``;
* **amber** — any other open incident, an overdue risk review, or a drifted
  latest window;
* **green** — none of these.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from aims.clock import utc
from aims.core.drift.bars import distribution
from aims.services import governance, lifecycle, lineage, registry
from aims.services.monitor import window_store
from aims.services.window_memo import WindowMemo
from aims.storage.schema import Incident, Model, ModelVersion, MonitorWindow
from aims.workspace import Workspace

SEVERE = ("critical", "high")
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
                    "owners": registry.owners_by_role(m),
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
        item["lineage"] = lineage.lineage(ws, ref)
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
    """Bars of one feature in the latest window against its training data (see :func:`aims.core.drift.bars.distribution`).

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
    with ws.db.session() as s:
        model = registry.get_model(s, name)
        head = s.execute(
            select(MonitorWindow.id, MonitorWindow.computed_at)
            .where(
                MonitorWindow.model_id == model.id,
                MonitorWindow.role == role,
                MonitorWindow.profile.is_not(None),
            )
            .order_by(MonitorWindow.window_start.desc())
            .limit(1)
        ).first()
    if head is None:
        return _output_distributions(ws, name, role)[0]
    key = (str(ws.root), name, role, head[0], head[1])
    return _OUTPUTS.get(key, lambda: _output_distributions(ws, name, role))


#: Output distributions by newest window: decoding its profile was a third of a view.
_OUTPUTS = WindowMemo()


def _output_distributions(ws: Workspace, name: str, role: str) -> tuple[dict[str, Any], bool]:
    """The figures of :func:`output_distributions`, and whether they may be kept (not when
    the reference may still appear: the monitor caches it when it runs here)."""
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
            return out, False
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
    return out, reference is not None or out["reference"] != "model"


def incidents(ws: Workspace, project: str | None = None) -> list[dict[str, Any]]:
    """Every incident, newest first, of the models in ``project`` (all projects when None)."""
    from aims.services.monitor.incidents import list_incidents

    rows = list_incidents(ws, status="all")
    if project is None:
        return rows
    with ws.db.session() as s:
        names = set(s.scalars(select(Model.name).where(Model.project == project)).all())
    return [r for r in rows if r["model"] in names]


def model_versions_count(ws: Workspace) -> int:
    with ws.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(ModelVersion)) or 0)
