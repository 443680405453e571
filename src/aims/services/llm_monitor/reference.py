"""The reference of an LLM application version: its first windows with traffic, merged.

A version's reference is the first ``policy.monitoring.llm.reference_windows``
final windows in which it served requests (or, with ``reference: rolling``,
the last that many before the window being computed). Their text profiles (statistics,
n-gram samples, vocabularies) merge into one, and their counts give the
baseline error, refusal and tool-error rates, cost per window, latency and
feedback. Until that many windows exist the reference is *incomplete*: the
windows are stored (and join the reference) but nothing is compared.

Nothing is stored beyond the windows themselves: the reference is rebuilt
from them, so it is the same after a restart, on any monitor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.clock import utc
from aims.services.llm_monitor.text_window import TextProfile
from aims.services.monitor.llm_policy import LLM_ROLE
from aims.services.monitor.window_store import final_only
from aims.storage.schema import MonitorWindow

__all__ = ["ROLE", "LlmReference", "load_reference"]

ROLE = LLM_ROLE
"""The role under which windows of LLM application versions are stored."""


@dataclass
class LlmReference:
    """Baselines and the merged text profile of a version's reference windows."""

    needed: int
    windows: list[datetime] = field(default_factory=list)
    text: TextProfile | None = None
    baselines: dict[str, float | None] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Whether enough windows exist to compare later ones with."""
        return len(self.windows) >= self.needed

    def to_dict(self) -> dict[str, Any]:
        """What a window's results record of the reference it was compared with."""
        return {
            "windows": len(self.windows),
            "needed": self.needed,
            "complete": self.complete,
            "first": self.windows[0].isoformat() if self.windows else None,
            "last": self.windows[-1].isoformat() if self.windows else None,
            "baselines": self.baselines,
        }


def _rate(rows: list[dict[str, Any]], part: str, whole: str) -> float | None:
    den = sum(
        r["counts"].get(whole, 0) if whole in r["counts"] else r["values"].get(whole) or 0
        for r in rows
    )
    num = sum(r["counts"].get(part, 0) for r in rows)
    return num / den if den else None


def _median(rows: list[dict[str, Any]], key: str) -> float | None:
    vals = [r["values"].get(key) for r in rows]
    known = [float(v) for v in vals if v is not None]
    return float(np.median(known)) if known else None


def load_reference(
    s: Session,
    model_id: int,
    version: int,
    seconds: int,
    needed: int,
    before: datetime,
    *,
    rolling: bool = False,
) -> LlmReference:
    """The reference of ``version`` from its stored windows that start before ``before``.

    The first ``needed`` windows with traffic, or with ``rolling`` the last
    ``needed`` ones before ``before``.
    """
    order = MonitorWindow.window_start.desc() if rolling else MonitorWindow.window_start
    found = s.scalars(
        select(MonitorWindow)
        .where(
            MonitorWindow.model_id == model_id,
            MonitorWindow.version == version,
            MonitorWindow.role == ROLE,
            MonitorWindow.window_seconds == seconds,
            MonitorWindow.n_predictions > 0,
            MonitorWindow.window_start < before,
            final_only(),
        )
        .order_by(order)
        .limit(needed)
    ).all()
    rows = sorted(found, key=lambda r: utc(r.window_start))
    ref = LlmReference(needed=needed, windows=[utc(r.window_start) for r in rows])
    for row in rows:
        if row.profile:
            prof = TextProfile.from_bytes(row.profile)
            ref.text = prof if ref.text is None else ref.text.merge(prof)
    results = [r.results for r in rows]
    if results:
        requests = sum(r["values"].get("requests") or 0 for r in results)
        feedback = sum(r["counts"].get("feedback", 0) for r in results)
        ref.baselines = {
            "error_rate": _rate(results, "errors", "requests"),
            "refusal_rate": _rate(results, "refusals", "refusal_known"),
            "tool_error_rate": _rate(results, "tool_errors", "tool_calls"),
            "cost_per_window": float(
                np.mean([r["values"].get("cost_usd") or 0.0 for r in results])
            ),
            "requests_per_window": requests / len(results),
            "latency_p95_ms": _median(results, "latency_p95_ms"),
            "feedback_mean": (
                sum(
                    (r["values"].get("feedback_mean") or 0.0) * r["counts"].get("feedback", 0)
                    for r in results
                )
                / feedback
                if feedback
                else None
            ),
        }
    return ref
