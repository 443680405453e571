"""An LLM application's dashboard page: its versions and gates, its monitoring windows as charts,
cost by end user and by agent, and its open incidents.

Reads the registry page of the model (:func:`aims.services.dashboard.model_page`) and at
most :data:`MAX_WINDOWS` of the newest LLM windows of the version shown (one indexed
query), never the span store: the windows already hold every figure the page draws.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select

from aims.clock import utc
from aims.errors import NotFound
from aims.flavours.llm_app import FLAVOUR
from aims.services import dashboard
from aims.storage.schema import Incident, Model, MonitorWindow

__all__ = ["CHARTS", "DRIFT_UNIT", "MAX_WINDOWS", "application_names", "application_page"]

MAX_WINDOWS = 96
"""Newest windows drawn: four days of hourly windows."""

DRIFT_UNIT = (
    "Text drift score: the AUC of a classifier telling this window's texts from the "
    "reference's, scaled so that 1 is the alarm threshold (no unit; 0 = alike, ≥ 1 = drifted)."
)

# (chart id, title, unit, [(figure, series label)])
CHARTS: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    ("requests", "Requests", "model calls per window", [("requests", "requests")]),
    ("errors", "Error rate", "share of requests and of tool calls",
     [("error_rate", "requests"), ("tool_error_rate", "tool calls")]),
    (
        "latency",
        "Latency",
        "ms",
        [("latency_p50_ms", "p50"), ("latency_p95_ms", "p95"), ("latency_p99_ms", "p99")],
    ),
    ("tokens", "Tokens", "tokens per window", [("input_tokens", "input"), ("output_tokens", "output")]),
    ("cost", "Cost", "US dollars per window", [("cost_usd", "cost")]),
    ("refusals", "Refusal rate", "share of answers", [("refusal_rate", "refusal rate")]),
    ("drift", "Text drift score", "score, 1 = alarm threshold", [("text_drift_score", "text drift")]),
]  # fmt: skip

_W, _H, _PAD = 360.0, 120.0, 4.0


def _chart(
    windows: list[dict[str, Any]], series: list[tuple[str, str]], threshold: float | None = None
) -> dict[str, Any]:
    """Points of each series scaled into a small SVG, with the top of the scale and gaps kept;
    ``threshold`` is drawn as a line and always in view."""
    values = [w["values"] for w in windows]
    top = max((float(v[f]) for v in values for f, _ in series if v.get(f) is not None), default=0.0)
    top = max(top, threshold or 0.0)
    scale = top * 1.1 or 1.0
    n = len(windows)

    def x(i: int) -> float:
        return round(_PAD + (_W - 2 * _PAD) * (i / (n - 1) if n > 1 else 0.5), 1)

    def y(v: float) -> float:
        return round(_H - _PAD - (_H - 2 * _PAD) * v / scale, 1)

    lines = []
    for figure, label in series:
        points = [
            (x(i), y(float(v[figure])), float(v[figure]))
            for i, v in enumerate(values)
            if v.get(figure) is not None
        ]
        lines.append(
            {
                "label": label,
                "points": " ".join(f"{px},{py}" for px, py, _ in points),
                "dots": points,
                "last": points[-1][2] if points else None,
            }
        )
    fired = [x(i) for i, w in enumerate(windows) if w["fired"]]
    line = y(threshold) if threshold is not None else None
    return {
        "width": _W,
        "height": _H,
        "top": top,
        "lines": lines,
        "fired": fired,
        "threshold": line,
    }


def _merge_costs(rows: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    total: dict[str, float] = defaultdict(float)
    for entries in rows:
        for e in entries or []:
            total[str(e["name"])] += float(e["cost_usd"] or 0.0)
    ranked = sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))
    whole = sum(total.values()) or 1.0
    return [{"name": k, "cost_usd": v, "share": v / whole} for k, v in ranked[:20]]


def application_page(ws: Any, name: str, version: int | None = None) -> dict[str, Any]:
    """Everything the application page shows; :class:`NotFound` unless ``name`` is an LLM
    application. ``version`` picks the windows drawn (default: production's, else the newest
    version with windows)."""
    m = dashboard.model_page(ws, name)
    if not any(v["flavour"] == FLAVOUR for v in m["versions"]):
        raise NotFound(f"{name!r} is not an LLM application; see its page under /models/{name}")
    with ws.db.session() as s:
        model_id = s.scalar(select(Model.id).where(Model.name == name))
        with_windows = sorted(
            {
                int(v)
                for (v,) in s.execute(
                    select(MonitorWindow.version)
                    .where(MonitorWindow.model_id == model_id, MonitorWindow.role == "llm")
                    .distinct()
                )
            }
        )
        production = next((v["version"] for v in m["versions"] if v["stage"] == "production"), None)
        if version is None:
            if production in with_windows:
                version = production
            elif with_windows:
                version = with_windows[-1]
        rows = []
        if version is not None:
            rows = list(
                s.scalars(
                    select(MonitorWindow)
                    .where(
                        MonitorWindow.model_id == model_id,
                        MonitorWindow.role == "llm",
                        MonitorWindow.version == version,
                    )
                    .order_by(MonitorWindow.window_start.desc())
                    .limit(MAX_WINDOWS)
                )
            )
        windows = [
            {
                "start": utc(r.window_start),
                "seconds": r.window_seconds,
                "values": (r.results or {}).get("values", {}),
                "fired": (r.results or {}).get("fired", []),
                "cost_by_user": (r.results or {}).get("cost_by_user", []),
                "cost_by_agent": (r.results or {}).get("cost_by_agent", []),
            }
            for r in reversed(rows)
        ]
        incidents = [
            {
                "id": i.id,
                "trigger": i.trigger,
                "kind": i.kind,
                "severity": i.severity,
                "status": i.status,
                "owner": i.owner,
                "version": i.version,
                "opened_at": utc(i.opened_at),
                "summary": i.summary,
            }
            for i in s.scalars(
                select(Incident)
                .where(Incident.model_id == model_id, Incident.status != "resolved")
                .order_by(Incident.opened_at.desc())
                .limit(20)
            )
        ]
    charts = [
        {
            "id": cid,
            "title": title,
            "unit": unit,
            **_chart(windows, series, 1.0 if cid == "drift" else None),
        }
        for cid, title, unit, series in CHARTS
    ]
    latest = windows[-1] if windows else None
    return {
        **m,
        "version_shown": version,
        "versions_with_windows": with_windows,
        "windows": windows,
        "latest": latest,
        "charts": charts if windows else [],
        "cost_by_user": _merge_costs([w["cost_by_user"] for w in windows]),
        "cost_by_agent": _merge_costs([w["cost_by_agent"] for w in windows]),
        "incidents": incidents,
        "drift_unit": DRIFT_UNIT,
    }


def application_names(ws: Any, project: str | None) -> list[str]:
    """Names of the LLM applications the viewer of ``project`` (``None``: all) may see."""
    with ws.db.session() as s:
        from aims.storage.schema import ModelVersion

        stmt = (
            select(Model.name)
            .join(ModelVersion, ModelVersion.model_id == Model.id)
            .where(ModelVersion.flavour == FLAVOUR)
            .distinct()
            .order_by(Model.name)
        )
        if project is not None:
            stmt = stmt.where(Model.project == project)
        return [str(n) for (n,) in s.execute(stmt)]
