"""What the monitoring page and a feature's page show, from stored windows and profiles.

The series (drift of every feature, volume, performance, label coverage) come
from :mod:`aims.services.drift_matrix`; only the newest window's results and
profiles are read whole, once per view, whatever the number of windows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from aims.clock import utc
from aims.services import drift_matrix, registry
from aims.services.monitor import window_store
from aims.services.window_memo import WindowMemo
from aims.storage.schema import Incident, ModelVersion, MonitorWindow
from aims.workspace import Workspace

__all__ = ["feature_page", "monitoring_page"]


def _incidents(s: Any, model_id: int, limit: int = 200) -> list[dict[str, Any]]:
    rows = s.scalars(
        select(Incident)
        .where(Incident.model_id == model_id)
        .order_by(Incident.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "id": i.id,
            "t": int(utc(i.opened_at).timestamp()),
            "opened_at": utc(i.opened_at).isoformat(),
            "severity": i.severity,
            "summary": i.summary,
            "status": i.status,
            "kind": i.kind,
        }
        for i in reversed(rows)
    ]


def monitoring_page(
    ws: Workspace, name: str, role: str = "production", *, sort: str = "drift", limit: int = 200
) -> dict[str, Any]:
    """The monitoring page of ``name``'s ``role``: heatmap, series, newest window, incidents."""
    from aims.services.dashboard import output_distributions

    d = drift_matrix.matrix(ws, name, role, limit=limit, sort=sort)
    with ws.db.session() as s:
        model = registry.get_model(s, name)
        d["latest"] = _latest_summary(ws, s, model.id, role)
        d["incidents"] = _incidents(s, model.id)
    d["outputs"] = output_distributions(ws, name, role)
    return d


#: The newest window's results without its features, by window: its results are 300
#: features' worth of JSON at size, parsed on every view before.
_LATEST = WindowMemo()


def _latest_summary(ws: Workspace, s: Any, model_id: int, role: str) -> dict[str, Any]:
    version = s.scalar(
        select(ModelVersion.version).where(
            ModelVersion.model_id == model_id, ModelVersion.stage == role
        )
    )
    if version is None:
        return {}
    head = s.execute(
        select(MonitorWindow.id, MonitorWindow.computed_at)
        .where(
            MonitorWindow.model_id == model_id,
            MonitorWindow.version == version,
            MonitorWindow.role == role,
        )
        .order_by(MonitorWindow.window_start.desc())
        .limit(1)
    ).first()
    if head is None:
        return {}

    def read() -> tuple[dict[str, Any], bool]:
        newest = window_store.latest_of_version(s, model_id, version, role)
        results = dict(newest.results) if newest is not None else {}
        results.pop("features", None)  # already in the matrix; the page does not need it twice
        return results, newest is not None and newest.id == head[0]

    return _LATEST.get((str(ws.root), head[0], head[1]), read)


def feature_page(
    ws: Workspace, name: str, feature: str, role: str = "production", *, limit: int = 200
) -> dict[str, Any]:
    """A feature's page: its drift figures over the windows and its importance."""
    history = drift_matrix.feature_history(ws, name, feature, role, limit=limit)
    with ws.db.session() as s:
        model = registry.get_model(s, name)
        newest = window_store.latest_production_window(s, model.id, role)
        version = newest.version if newest is not None else None
        imp = drift_matrix.importance(s, model.id, version)
        history["incidents"] = _incidents(s, model.id)
    history["importance"] = imp["values"].get(feature)
    history["importance_metric"] = imp["metric"]
    history["importance_version"] = imp["version"]
    history["shap"] = imp["shap"].get(feature)
    ranked = sorted((v for v in imp["values"].values() if isinstance(v, int | float)), reverse=True)
    value = history["importance"]
    history["importance_rank"] = (
        ranked.index(value) + 1 if isinstance(value, int | float) and value in ranked else None
    )
    history["n_ranked"] = len(ranked)
    return history
