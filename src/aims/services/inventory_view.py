"""The inventory of models as the dashboard lists it: search, filters, sorting, pages, summary.

Every model's row comes from a fixed number of indexed queries over all the
visible models at once (models, owners, versions, the newest vouched risk
assessment, open incidents by severity, the newest window of each served
version and of each LLM application), never one round of queries per model,
so a page of 500 models costs what a page of 5 does, plus the rows themselves.

Health, as on the rest of the dashboard (see :mod:`aims.services.dashboard`):
``red`` for an open ``critical`` or ``high`` incident, ``amber`` for any other
open incident, an overdue risk review or a drifted newest window, else
``green``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aims.clock import utc
from aims.errors import InvalidInput
from aims.services.monitor.llm_policy import LLM_ROLE
from aims.services.monitor.window_store import SHOWN_ROLES
from aims.services.risk_tiers import vouched_tiers
from aims.storage.schema import (
    Incident,
    Model,
    ModelOwner,
    ModelVersion,
    MonitorWindow,
)
from aims.workspace import Workspace

__all__ = [
    "COLUMNS",
    "HEALTH",
    "KINDS",
    "PAGE_SIZES",
    "SEVERITIES",
    "STAGES",
    "TIERS",
    "InventoryQuery",
    "inventory_page",
]

HEALTH = ("red", "amber", "green")
SEVERITIES = ("critical", "high", "medium", "low")
TIERS = ("unacceptable", "high", "limited", "minimal")
STAGES = ("production", "canary", "shadow", "none")
KINDS = ("model", "llm-application")
"""What a name holds: predictive model versions, or LLM application versions."""
#: Columns a page can be sorted on; ``attention`` (the default) puts red
#: before amber before green, then more open incidents first.
COLUMNS = (
    "attention",
    "health",
    "name",
    "project",
    "production",
    "canary",
    "shadow",
    "tier",
    "owners",
    "incidents",
    "last_window",
)
PAGE_SIZES = (25, 50, 100, 200)
_SEVERE = ("critical", "high")


@dataclass(frozen=True)
class InventoryQuery:
    """What the person asked the inventory for; :meth:`parse` reads it from a URL's query."""

    q: str = ""
    project: str = ""
    stage: str = ""
    tier: str = ""
    health: str = ""
    incidents: str = ""
    kind: str = ""
    sort: str = "attention"
    order: str = "asc"
    page: int = 1
    size: int = 50

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> InventoryQuery:
        """Read and check the query parameters; a wrong one raises :class:`InvalidInput`."""
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(params) - known)
        if unknown:
            raise InvalidInput(
                f"unknown inventory parameter {unknown[0]!r}; use {', '.join(sorted(known))}"
            )
        text = {k: str(params.get(k, "")).strip() for k in known}
        choices = {
            "stage": STAGES,
            "tier": (*TIERS, "none"),
            "health": HEALTH,
            "incidents": ("open", "none"),
            "kind": KINDS,
            "sort": COLUMNS,
            "order": ("asc", "desc"),
        }
        for name, allowed in choices.items():
            if text[name] and text[name] not in allowed:
                raise InvalidInput(
                    f"{name} must be one of {', '.join(allowed)}, not {text[name]!r}"
                )
        numbers = {}
        for name, default in (("page", 1), ("size", 50)):
            raw = text[name] or str(default)
            if not raw.isdigit() or int(raw) < 1:
                raise InvalidInput(f"{name} must be a whole number of at least 1, not {raw!r}")
            numbers[name] = int(raw)
        if numbers["size"] not in PAGE_SIZES:
            raise InvalidInput(
                f"size must be one of {', '.join(map(str, PAGE_SIZES))}, not {numbers['size']}"
            )
        return cls(
            q=text["q"][:200],
            project=text["project"][:100],
            stage=text["stage"],
            tier=text["tier"],
            health=text["health"],
            incidents=text["incidents"],
            kind=text["kind"],
            sort=text["sort"] or "attention",
            order=text["order"] or "asc",
            page=numbers["page"],
            size=numbers["size"],
        )

    def link(self, **changes: Any) -> str:
        """The query string of this query with ``changes`` (defaults left out)."""
        from urllib.parse import urlencode

        changed = replace(self, **changes)
        default = InventoryQuery()
        pairs = {
            k: getattr(changed, k)
            for k in self.__dataclass_fields__
            if getattr(changed, k) != getattr(default, k)
        }
        return "?" + urlencode(pairs) if pairs else "?"

    def sorted_by(self, column: str) -> str:
        """The link that sorts by ``column``: ascending first, then the other way."""
        order = "desc" if self.sort == column and self.order == "asc" else "asc"
        return self.link(sort=column, order=order, page=1)


def _rows(ws: Workspace, s: Session, scope: str | None, today: dt.date) -> list[dict[str, Any]]:
    """Every visible model's row, unfiltered."""
    stmt = select(Model)
    if scope is not None:
        stmt = stmt.where(Model.project == scope)
    # Held in this list, the models stay in the session's identity map, so the
    # risk checks below find them there instead of querying one by one.
    models = list(s.scalars(stmt).all())
    ids = [m.id for m in models]
    rows: dict[int, dict[str, Any]] = {
        m.id: {
            "id": m.id,
            "name": m.name,
            "project": m.project,
            "production": None,
            "canary": None,
            "shadow": None,
            "versions": 0,
            "kind": "model",
            "owners": {},
            "tags": {},
            "risk_tier": None,
            "risk_overdue": False,
            "open_incidents": 0,
            "open_by_severity": {},
            "last_window": None,
            "drifted": False,
        }
        for m in models
    }
    if not rows:
        return []
    scoped = ids if scope is not None else None

    def within(column: Any) -> Any:
        return column.in_(scoped) if scoped is not None else column.is_not(None)

    for model_id, role, owner in s.execute(
        select(ModelOwner.model_id, ModelOwner.role, ModelOwner.owner)
        .where(within(ModelOwner.model_id))
        .order_by(ModelOwner.role)
    ):
        rows[model_id]["owners"][role] = owner
    for model_id, version, stage, traffic, tags, flavour in s.execute(
        select(
            ModelVersion.model_id,
            ModelVersion.version,
            ModelVersion.stage,
            ModelVersion.traffic,
            ModelVersion.tags,
            ModelVersion.flavour,
        )
        .where(within(ModelVersion.model_id))
        .order_by(ModelVersion.model_id, ModelVersion.version)
    ):
        row = rows[model_id]
        row["versions"] += 1
        if flavour == "llm-app":  # a name holds one kind of version only
            row["kind"] = "llm-application"
        row["tags"].update({str(k): str(v) for k, v in (tags or {}).items()})
        if stage == "production":
            row["production"] = version
        elif stage == "canary":
            row["canary"] = (version, traffic)
        elif stage == "shadow":
            row["shadow"] = version
    for model_id, (tier, overdue) in vouched_tiers(ws, s, within, today).items():
        rows[model_id]["risk_tier"] = tier
        rows[model_id]["risk_overdue"] = overdue
    # Incidents about no model (an MCP server's, an agent's) have no row here.
    for about, severity, n in s.execute(
        select(Incident.model_id, Incident.severity, func.count())
        .where(within(Incident.model_id), Incident.status != "resolved")
        .group_by(Incident.model_id, Incident.severity)
    ):
        row = rows[cast(int, about)]
        row["open_by_severity"][severity] = int(n)
        row["open_incidents"] += int(n)
    # The newest window of each version holding a served stage now: one indexed
    # look-up per served version (the unique key starts with model, version, role).
    newest_window = (
        select(MonitorWindow.id)
        .where(
            MonitorWindow.model_id == ModelVersion.model_id,
            MonitorWindow.version == ModelVersion.version,
            MonitorWindow.role == ModelVersion.stage,
        )
        .order_by(MonitorWindow.window_start.desc())
        .limit(1)
        .correlate(ModelVersion)
        .scalar_subquery()
    )
    window_ids = [
        wid
        for (wid,) in s.execute(
            select(newest_window).where(
                within(ModelVersion.model_id), ModelVersion.stage.in_(SHOWN_ROLES)
            )
        )
        if wid is not None
    ]
    if window_ids:
        from aims.services.window_drift import WindowRow, window_drift

        shown: dict[int, tuple[int, Any]] = {}
        for wid, model_id, version, start, seconds, n, computed in s.execute(
            select(
                MonitorWindow.id,
                MonitorWindow.model_id,
                MonitorWindow.version,
                MonitorWindow.window_start,
                MonitorWindow.window_seconds,
                MonitorWindow.n_predictions,
                MonitorWindow.computed_at,
            ).where(MonitorWindow.id.in_(window_ids))
        ):
            shown[wid] = (model_id, WindowRow(wid, version, utc(start), seconds, n, utc(computed)))
        # Whether each window drifted, from the per-window cache, not its whole results.
        drift = window_drift(ws, s, [w for _, w in shown.values()])
        for wid, (model_id, window) in shown.items():
            row = rows[model_id]
            if row["last_window"] is None or window.start > row["last_window"]:
                row["last_window"] = window.start
            row["drifted"] = row["drifted"] or drift[wid].any_drifted
    # An LLM application's windows are kept under the llm role, whatever the stage of
    # the versions its spans linked to: its newest one, in one grouped query.
    apps = [i for i, r in rows.items() if r["kind"] == "llm-application"]
    if apps:
        for model_id, start in s.execute(
            select(MonitorWindow.model_id, func.max(MonitorWindow.window_start))
            .where(MonitorWindow.model_id.in_(apps), MonitorWindow.role == LLM_ROLE)
            .group_by(MonitorWindow.model_id)
        ):
            rows[model_id]["last_window"] = utc(start)
    for row in rows.values():
        row["health"] = _health(row)
    return list(rows.values())


def _health(row: dict[str, Any]) -> str:
    if any(row["open_by_severity"].get(sev) for sev in _SEVERE):
        return "red"
    if row["open_incidents"] or row["risk_overdue"] or row["drifted"]:
        return "amber"
    return "green"


def _matches(row: dict[str, Any], q: InventoryQuery) -> bool:
    if q.q:
        needle = q.q.lower()
        haystack = [row["name"], *row["owners"].values()]
        haystack += [f"{k}:{v}" for k, v in row["tags"].items()]
        if not any(needle in text.lower() for text in haystack):
            return False
    if q.project and row["project"] != q.project:
        return False
    if q.kind and row["kind"] != q.kind:
        return False
    if q.stage:
        if q.stage == "none":
            if row["production"] or row["canary"] or row["shadow"]:
                return False
        elif not row[q.stage]:
            return False
    if q.tier and (row["risk_tier"] or "none") != q.tier:
        return False
    if q.health and row["health"] != q.health:
        return False
    if q.incidents == "open" and not row["open_incidents"]:
        return False
    return not (q.incidents == "none" and row["open_incidents"])


_HEALTH_RANK = {h: i for i, h in enumerate(HEALTH)}
_TIER_RANK = {t: i for i, t in enumerate(TIERS)}


def _sort_key(column: str) -> Any:
    far = dt.datetime.min.replace(tzinfo=dt.UTC)
    keys = {
        "attention": lambda r: (_HEALTH_RANK[r["health"]], -r["open_incidents"], r["name"]),
        "health": lambda r: (_HEALTH_RANK[r["health"]], r["name"]),
        "name": lambda r: (r["name"],),
        "project": lambda r: (r["project"], r["name"]),
        "production": lambda r: (r["production"] is None, r["production"] or 0, r["name"]),
        "canary": lambda r: (r["canary"] is None, (r["canary"] or (0, 0))[0], r["name"]),
        "shadow": lambda r: (r["shadow"] is None, r["shadow"] or 0, r["name"]),
        "tier": lambda r: (_TIER_RANK.get(r["risk_tier"] or "", len(TIERS)), r["name"]),
        "owners": lambda r: (not r["owners"], sorted(r["owners"].values()), r["name"]),
        "incidents": lambda r: (-r["open_incidents"], r["name"]),
        "last_window": lambda r: (
            r["last_window"] is None,
            -(r["last_window"] or far).timestamp(),
            r["name"],
        ),
    }
    return keys[column]


def _open_incidents(s: Session, scope: str | None) -> tuple[dict[str, int], int]:
    """Open incidents of the viewer's projects by severity, those about no model too,
    and how many of them name no model (an MCP server, an agent)."""
    stmt = select(Incident.severity, Incident.model_id.is_(None), func.count()).where(
        Incident.status != "resolved"
    )
    if scope is not None:
        stmt = stmt.where(Incident.project == scope)
    by_severity: dict[str, int] = {}
    no_model = 0
    for sev, modelless, n in s.execute(
        stmt.group_by(Incident.severity, Incident.model_id.is_(None))
    ):
        by_severity[str(sev)] = by_severity.get(str(sev), 0) + int(n)
        no_model += int(n) if modelless else 0
    return by_severity, no_model


def inventory_page(
    ws: Workspace, scope: str | None, query: InventoryQuery, today: dt.date | None = None
) -> dict[str, Any]:
    """One page of the inventory for ``query``, with the summary of every visible model.

    ``scope`` is the viewer's project (``None``: every project). The summary
    counts models by health and risk tier over every model the viewer may see,
    and open incidents by severity over the viewer's projects (an MCP server's
    or an agent's too), whatever the filters, so that what needs attention
    first is always in view.
    """
    with ws.db.session() as s:
        everything = _rows(ws, s, scope, today or dt.date.today())
        open_incidents, open_without_model = _open_incidents(s, scope)
    summary = {
        "models": len(everything),
        "health": {h: sum(1 for r in everything if r["health"] == h) for h in HEALTH},
        "tier": {
            t: sum(1 for r in everything if (r["risk_tier"] or "none") == t)
            for t in (*TIERS, "none")
        },
        "incidents": {sev: open_incidents.get(sev, 0) for sev in SEVERITIES},
        # The rows count models' incidents only: the summary says how many are not.
        "incidents_without_model": open_without_model,
        "projects": sorted({r["project"] for r in everything}),
    }
    chosen = [r for r in everything if _matches(r, query)]
    chosen.sort(key=_sort_key(query.sort), reverse=query.order == "desc")
    pages = max(1, -(-len(chosen) // query.size))
    page = min(query.page, pages)
    start = (page - 1) * query.size
    return {
        "rows": chosen[start : start + query.size],
        "total": len(chosen),
        "page": page,
        "pages": pages,
        "first": start + 1 if chosen else 0,
        "last": min(start + query.size, len(chosen)),
        "summary": summary,
        "query": query,
    }
