"""One pass of the monitor: what it works with (:class:`MonitorPass`) and what it did (:class:`RunSummary`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from aims.core.triggers import Condition
from aims.errors import NotFound
from aims.services.monitor.reference import Reference, build_reference, version_facts
from aims.services.monitor.settings import MonitorSettings
from aims.services.monitor.triggers import ROLES, MonitoringPolicy, TriggerSpec
from aims.storage.schema import ModelVersion

#: Log columns the checks never read (ids and timings are not profiled).
UNREAD = frozenset({"prediction_id", "request_id", "latency_ms", "key", "model", "version"})
#: Role of the row that marks a window of a version that had log files but no rows.
EMPTY_ROLE = "none"
#: Roles that receive traffic of their own: a window where one of them logged
#: nothing is an outage. Shadow traffic is a copy of production's, so it stops with it.
SERVED_ROLES = ("production", "canary")
#: Sort order of the roles; looked up with any role text, unknown roles sort last.
ROLE_ORDER: dict[str, int] = {r: i for i, r in enumerate(ROLES)}


@dataclass
class RunSummary:
    """What one pass of the monitor did, and why it did nothing when it did nothing."""

    started_at: datetime
    finished_at: datetime | None = None
    models: list[str] = field(default_factory=list)
    windows: int = 0
    """Window results computed and stored (one per version and role)."""
    provisional: int = 0
    """Provisional results of windows not final yet stored (``--now``); recomputed when they
    close."""
    refreshed: int = 0
    """Stored windows whose performance was recomputed after new labels."""
    incidents_opened: list[int] = field(default_factory=list)
    incidents_updated: list[int] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    waiting: list[dict[str, Any]] = field(default_factory=list)
    """Per model that got no new window: ``{"model", "reason", "next_close"}``."""
    next_close: datetime | None = None
    """When the open window closes (its end plus the grace period): the next results."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (``aims monitor run --format json``)."""
        return {
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "models": self.models,
            "windows": self.windows,
            "provisional": self.provisional,
            "refreshed": self.refreshed,
            "incidents_opened": self.incidents_opened,
            "incidents_updated": sorted(set(self.incidents_updated)),
            "actions": self.actions,
            "errors": self.errors,
            "waiting": self.waiting,
            "next_close": self.next_close.isoformat() if self.next_close else None,
        }


@dataclass
class MonitorPass:
    """Settings, policy, log readers and caches shared by the steps of one pass."""

    ws: Any
    settings: MonitorSettings
    policy: MonitoringPolicy
    default_tier: str
    now: datetime
    summary: RunSummary
    reader: Any
    labels: Any
    refs: dict[tuple[int, int], Reference] = field(default_factory=dict)
    conditions: dict[str, Condition] = field(default_factory=dict)

    @property
    def seconds(self) -> int:
        """Window length in seconds."""
        return self.settings.window_seconds

    @property
    def actor(self) -> str:
        """Who the audit log names for the monitor's own acts."""
        return self.settings.actor

    def reference(self, model_id: int, version: int) -> Reference:
        """The reference of a version, built once per pass (may load the model: no transaction open)."""
        key = (model_id, version)
        if key not in self.refs:
            with self.ws.db.session() as s:
                mv = s.scalar(
                    select(ModelVersion).where(
                        ModelVersion.model_id == model_id, ModelVersion.version == version
                    )
                )
                if mv is None:
                    raise NotFound(f"the log has version {version}, which is not registered")
                facts = version_facts(s, mv, self.default_tier)
            self.refs[key] = build_reference(self.ws, facts, self.policy)
        return self.refs[key]

    def condition(self, trigger: TriggerSpec) -> Condition:
        """A trigger's parsed condition, parsed once per pass."""
        if trigger.name not in self.conditions:
            self.conditions[trigger.name] = trigger.condition
        return self.conditions[trigger.name]


__all__ = ["EMPTY_ROLE", "ROLE_ORDER", "SERVED_ROLES", "UNREAD", "MonitorPass", "RunSummary"]
