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

from aims.services import governance, lifecycle, registry
from aims.storage.schema import Incident, Model, ModelVersion, MonitorWindow
from aims.workspace import Workspace

SEVERE = ("critical", "high")


def _visible(project: str | None, model: Model) -> bool:
    return project is None or model.project == project


def latest_windows(s: Any, model_id: int) -> list[MonitorWindow]:
    """The newest window of each (version, role) of a model."""
    newest = (
        select(MonitorWindow.version, MonitorWindow.role, func.max(MonitorWindow.window_start))
        .where(MonitorWindow.model_id == model_id)
        .group_by(MonitorWindow.version, MonitorWindow.role)
    ).subquery()
    return list(
        s.scalars(
            select(MonitorWindow)
            .join(
                newest,
                (MonitorWindow.version == newest.c.version)
                & (MonitorWindow.role == newest.c.role)
                & (MonitorWindow.window_start == newest.c[2]),
            )
            .where(MonitorWindow.model_id == model_id)
        ).all()
    )


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
        windows = list(
            s.scalars(
                select(MonitorWindow)
                .where(MonitorWindow.model_id == model.id, MonitorWindow.role == role)
                .order_by(MonitorWindow.window_start.desc())
                .limit(limit)
            ).all()
        )[::-1]
        incidents = list(
            s.scalars(
                select(Incident).where(Incident.model_id == model.id).order_by(Incident.opened_at)
            ).all()
        )
        ref_profile = None
        prod = next((v for v in model.versions if v.stage == "production"), None)
        if prod is not None and prod.inputs:
            ref_profile = prod.inputs[0].profile
    times = [int(w.window_start.replace(tzinfo=dt.UTC).timestamp()) for w in windows]
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
    latest = windows[-1].results if windows else {}
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
        "confidence": latest.get("prediction"),
        "incidents": [
            {
                "id": i.id,
                "t": int(i.opened_at.replace(tzinfo=dt.UTC).timestamp()),
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


def feature_distribution(
    ws: Workspace, name: str, feature: str, role: str = "production"
) -> dict[str, Any]:
    """Reference vs latest-window histogram of one feature (from stored profiles)."""
    from aims.core.profile import loads

    with ws.db.session() as s:
        model = registry.get_model(s, name)
        prod = next((v for v in model.versions if v.stage == "production"), None)
        ref_bytes = prod.inputs[0].profile if prod is not None and prod.inputs else None
        window = s.scalar(
            select(MonitorWindow)
            .where(
                MonitorWindow.model_id == model.id,
                MonitorWindow.role == role,
                MonitorWindow.profile.is_not(None),
            )
            .order_by(MonitorWindow.window_start.desc())
            .limit(1)
        )
        cur_bytes = window.profile if window is not None else None
    from aims.services.monitor.windows import WindowProfile

    out: dict[str, Any] = {"feature": feature, "reference": None, "current": None}
    profiles = {
        "reference": loads(ref_bytes) if ref_bytes is not None else None,
        "current": WindowProfile.loads(cur_bytes).inputs if cur_bytes is not None else None,
    }
    for key, prof in profiles.items():
        col = prof.columns.get(feature) if prof is not None else None
        if col is not None:
            out[key] = _histogram(col)
    return out


def _histogram(col: Any, groups: int = 32) -> dict[str, Any]:
    """Labels and shares of a column profile, for plotting (numeric bins regrouped)."""
    import numpy as np

    if hasattr(col, "frequencies"):
        freq = col.frequencies()
        total = sum(freq.values()) or 1
        return {"labels": [str(k) for k in freq], "shares": [v / total for v in freq.values()]}
    counts = np.asarray(col.counts, dtype=float)
    if counts.size == 0:
        return {"labels": [], "shares": []}
    step = max(1, counts.size // groups)
    grouped = np.add.reduceat(counts, np.arange(0, counts.size, step))
    edges = np.linspace(col.layout.lo, col.layout.hi, counts.size + 1)[::step]
    total = float(grouped.sum()) or 1.0
    return {
        "labels": [f"{e:.3g}" for e in edges[: grouped.size]],
        "shares": (grouped / total).tolist(),
    }


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
            }
            for i, name, proj in rows
            if project is None or proj == project
        ]


def model_versions_count(ws: Workspace) -> int:
    with ws.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(ModelVersion)) or 0)
