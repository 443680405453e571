"""An incident as the evidence checks see it: who owns it, and whether it was handled.

Shared by the model checks (:mod:`aims.core.standards.facts`) and the gateway's
(:mod:`aims.core.standards.gateway_facts`), which cite incidents about models
and about MCP servers and agents alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["IncidentFacts"]


@dataclass(frozen=True)
class IncidentFacts:
    """One incident: a model's, an MCP server's or an agent's."""

    id: int
    kind: str
    severity: str
    status: str
    owner: str | None
    summary: str
    opened_at: dt.datetime
    acked_at: dt.datetime | None
    acked_by: str | None
    resolved_at: dt.datetime | None
    resolution: str | None

    @property
    def problems(self) -> tuple[str, ...]:
        """What is missing for the incident to count as handled (empty: handled)."""
        out = []
        if not (self.owner or "").strip():
            out.append("no owner")
        if self.acked_at is None:
            out.append("not acknowledged")
        if self.resolved_at is not None and not (self.resolution or "").strip():
            out.append("resolved without a resolution note")
        return tuple(out)
