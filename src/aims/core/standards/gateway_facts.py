"""What the MCP gateway holds, as plain values for the evidence checks.

:func:`aims.services.evidence_gateway.gateway_facts` reads the gateway's
inventory (upstream servers and their owners), the pins of their tools, the
agents that may reach it with their allow-lists, the incidents about servers
and agents, and the counts of the calls it recorded, into one
:class:`GatewayFacts`; the checks of :mod:`aims.core.standards.gateway_checks`
are pure functions of it.

Examples
--------
>>> GatewayFacts().set_up
False
>>> open_deadline("high")
datetime.timedelta(days=3)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aims.core.standards.incident_facts import IncidentFacts

__all__ = [
    "CALL_PERIOD_DAYS",
    "MAX_CALL_EVENTS",
    "OPEN_DEADLINES",
    "AgentFacts",
    "CallCounts",
    "GatewayFacts",
    "PinFacts",
    "ServerFacts",
    "SubjectIncident",
    "open_deadline",
]

CALL_PERIOD_DAYS = 30
"""The calls through the gateway are counted over this many days before the report."""

MAX_CALL_EVENTS = 20_000
"""At most this many ``gateway.calls`` events (the newest) are read for the counts, so
a busy gateway does not make the report slow (about a second at this bound); the
report then says from when it counted."""

OPEN_DEADLINES: Mapping[str, dt.timedelta] = {
    "critical": dt.timedelta(days=1),
    "high": dt.timedelta(days=3),
    "medium": dt.timedelta(days=14),
    "low": dt.timedelta(days=30),
}
"""How long an incident about a server or an agent may stay open, by severity; an
incident still open past its deadline is a finding of the report."""


def open_deadline(severity: str) -> dt.timedelta:
    """How long an incident of ``severity`` may stay open (an unknown severity: as ``high``)."""
    return OPEN_DEADLINES.get(severity, OPEN_DEADLINES["high"])


@dataclass(frozen=True)
class ServerFacts:
    """An upstream MCP server in the gateway's inventory."""

    name: str
    project: str
    owner: str
    owner_kind: str | None
    """The owner principal's kind (``human``...); None when no principal has that name."""
    owner_enabled: bool
    transport: str
    created_by: str
    created_at: dt.datetime

    @property
    def owner_problem(self) -> str | None:
        """Why the owner cannot answer for the server (None: a person, enabled)."""
        if self.owner_kind is None:
            return f"its owner {self.owner} is no principal"
        if not self.owner_enabled:
            return f"its owner {self.owner} is disabled"
        if self.owner_kind != "human":
            return f"its owner {self.owner} is a {self.owner_kind}, not a person"
        return None


@dataclass(frozen=True)
class PinFacts:
    """One upstream tool's pin: the definition approved, and the one last seen."""

    server: str
    tool: str
    status: str
    """``new`` (never approved), ``approved`` or ``changed`` (blocked until approved again)."""
    sha256: str | None
    seen_sha256: str
    seen_at: dt.datetime
    approved_by: str | None = None
    approved_at: dt.datetime | None = None
    incident: int | None = None
    """The rug-pull incident opened when the definition changed."""
    allowed_to: tuple[str, ...] = ()
    """The agents whose allow-list names this tool (or its server's ``*``)."""

    @property
    def ref(self) -> str:
        return f"{self.server}/{self.tool}"


@dataclass(frozen=True)
class AgentFacts:
    """An agent principal that can reach the gateway or is named on its allow-lists."""

    name: str
    enabled: bool
    owner: str | None
    owner_kind: str | None = None
    owner_enabled: bool = False
    n_active_keys: int = 0
    """Active API keys acting for the agent (what lets it call the gateway)."""
    allowed: tuple[str, ...] = ()
    """Its allow-list, as ``server/tool`` (``server/*``), constrained entries marked."""

    @property
    def has_access(self) -> bool:
        return self.enabled and self.n_active_keys > 0

    @property
    def owner_problem(self) -> str | None:
        """Why nobody answers for the agent (None: an enabled person owns it)."""
        if not self.owner:
            return "it has no owner"
        if self.owner_kind != "human":
            return f"its owner {self.owner} is not a person"
        if not self.owner_enabled:
            return f"its owner {self.owner} is disabled"
        return None


@dataclass(frozen=True)
class SubjectIncident:
    """An incident about an MCP server or an agent."""

    subject_kind: str
    subject: str
    project: str
    trigger: str
    incident: IncidentFacts


@dataclass(frozen=True)
class CallCounts:
    """The calls the gateway recorded in the report's period."""

    days: int = CALL_PERIOD_DAYS
    n_events: int = 0
    """``gateway.calls`` audit events read (each holds one second's calls of one tool)."""
    first_seq: int | None = None
    last_seq: int | None = None
    calls: int = 0
    verdicts: Mapping[str, int] = field(default_factory=dict)
    """Calls by verdict: ``allow``, ``warn``, ``redact``, ``deny``."""
    refusals: Mapping[str, int] = field(default_factory=dict)
    """Refused calls by reason (``not_allowed``, ``screening``, ``constraint``...)."""
    screening: Mapping[str, int] = field(default_factory=dict)
    """Screening verdicts by ``place:verdict`` (``arguments:deny``, ``result:redact``...)."""
    held: Mapping[str, int] = field(default_factory=dict)
    """Calls held for a person, by why: ``high_risk``, or ``after_untrusted`` (a risky call
    soon after the agent read outside text)."""
    since: str | None = None
    """When the counts start, if not the whole period: the oldest event read, when
    the period held more than :data:`MAX_CALL_EVENTS` events."""

    @property
    def span(self) -> str:
        """The stretch of time counted, in words.

        >>> CallCounts().span
        'the last 30 days'
        >>> CallCounts(since="2025-03-01T10:00:00+00:00").span
        'the newest 20,000 events of the last 30 days (since 2025-03-01T10:00:00)'
        """
        if self.since is None:
            return f"the last {self.days} days"
        return (
            f"the newest {MAX_CALL_EVENTS:,} events of the last {self.days} days "
            f"(since {self.since[:19]})"
        )


@dataclass(frozen=True)
class GatewayFacts:
    """The gateway's inventory, pins, agents, incidents and call counts, for one report."""

    servers: tuple[ServerFacts, ...] = ()
    pins: tuple[PinFacts, ...] = ()
    agents: tuple[AgentFacts, ...] = ()
    incidents: tuple[SubjectIncident, ...] = ()
    """Open ones, and resolved ones opened within the report's incident look-back."""
    calls: CallCounts = CallCounts()

    @property
    def set_up(self) -> bool:
        """Whether the gateway has anything to judge: a server in its inventory."""
        return bool(self.servers)

    def to_dict(self, now: dt.datetime) -> dict[str, Any]:
        """Plain data for the report's JSON and its gateway section."""
        return {
            "set_up": self.set_up,
            "servers": [
                {
                    "name": s.name,
                    "project": s.project,
                    "owner": s.owner,
                    "transport": s.transport,
                    "owner_problem": s.owner_problem,
                    "tools": {
                        status: sum(p.server == s.name and p.status == status for p in self.pins)
                        for status in ("approved", "new", "changed")
                    },
                }
                for s in self.servers
            ],
            "pins": [
                {
                    "server": p.server,
                    "tool": p.tool,
                    "status": p.status,
                    "sha256": p.sha256,
                    "seen_sha256": p.seen_sha256,
                    "approved_by": p.approved_by,
                    "approved_at": p.approved_at.isoformat() if p.approved_at else None,
                    "incident": p.incident,
                    "allowed_to": list(p.allowed_to),
                }
                for p in self.pins
            ],
            "agents": [
                {
                    "name": a.name,
                    "enabled": a.enabled,
                    "owner": a.owner,
                    "active_keys": a.n_active_keys,
                    "allowed": list(a.allowed),
                    "owner_problem": a.owner_problem,
                }
                for a in self.agents
            ],
            "incidents": [_incident_dict(i, now) for i in self.incidents],
            "calls": {
                "days": self.calls.days,
                "events": self.calls.n_events,
                "first_seq": self.calls.first_seq,
                "last_seq": self.calls.last_seq,
                "calls": self.calls.calls,
                "verdicts": dict(self.calls.verdicts),
                "refusals": dict(self.calls.refusals),
                "screening": dict(self.calls.screening),
                "since": self.calls.since,
                "span": self.calls.span,
            },
        }


def _incident_dict(i: SubjectIncident, now: dt.datetime) -> dict[str, Any]:
    inc = i.incident
    open_ = inc.resolved_at is None
    age = (now - inc.opened_at) if open_ else None
    return {
        "id": inc.id,
        "subject_kind": i.subject_kind,
        "subject": i.subject,
        "project": i.project,
        "trigger": i.trigger,
        "severity": inc.severity,
        "status": inc.status,
        "owner": inc.owner,
        "summary": inc.summary,
        "opened_at": inc.opened_at.isoformat(timespec="seconds"),
        "resolved_at": inc.resolved_at.isoformat(timespec="seconds") if inc.resolved_at else None,
        "age_days": round(age.total_seconds() / 86400, 1) if age is not None else None,
        "overdue": bool(age is not None and age > open_deadline(inc.severity)),
    }
