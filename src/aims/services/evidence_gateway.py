"""The MCP gateway's facts for the evidence report, read in a handful of queries.

:func:`gateway_facts` reads, for the report's project (or every project):
the upstream servers and their owners, the pins of their tools, the
allow-lists, the agents that hold keys, the incidents about servers and
agents, and the counts of the calls the gateway recorded in the period. Each
is one query however many servers, tools and agents there are; the call
counts read the ``gateway.calls`` events of the period off the audit log's
``ts`` index (one event holds one second's calls of one agent and tool).

The gateway's runtime (:mod:`aims.services.gateway`, :mod:`aims.server.gateway`)
writes these records; this module only reads them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from aims.clock import utc
from aims.core.roles import ALL_PROJECTS
from aims.core.standards.facts import IncidentFacts
from aims.core.standards.gateway_facts import (
    CALL_PERIOD_DAYS,
    MAX_CALL_EVENTS,
    AgentFacts,
    CallCounts,
    GatewayFacts,
    PinFacts,
    ServerFacts,
    SubjectIncident,
)
from aims.storage.schema import (
    ApiKey,
    AuditEvent,
    GatewayAllow,
    GatewayPin,
    GatewayServer,
    Incident,
    Principal,
)

__all__ = ["GATEWAY_SUBJECTS", "call_counts", "gateway_facts"]

GATEWAY_SUBJECTS = ("mcp_server", "agent")
"""The incident subjects the gateway's checks cite (models' incidents are cited per model)."""


def _servers(s: Session, project: str | None) -> list[GatewayServer]:
    query = select(GatewayServer).order_by(GatewayServer.name)
    if project is not None:
        query = query.where(GatewayServer.project == project)
    return list(s.scalars(query))


def _allowed(s: Session, ids: list[int]) -> list[tuple[str, str, str, bool]]:
    """``(agent, server, tool, constrained)`` of every allow-list entry on servers ``ids``."""
    if not ids:
        return []
    rows = s.execute(
        select(GatewayAllow.agent, GatewayServer.name, GatewayAllow.tool, GatewayAllow.constraints)
        .join(GatewayServer, GatewayServer.id == GatewayAllow.server_id)
        .where(GatewayAllow.server_id.in_(ids))
        .order_by(GatewayAllow.agent, GatewayServer.name, GatewayAllow.tool)
    )
    return [(agent, server, tool, bool(rules)) for agent, server, tool, rules in rows]


def _pins(
    s: Session, ids: list[int], allowed: list[tuple[str, str, str, bool]]
) -> tuple[PinFacts, ...]:
    if not ids:
        return ()
    by_tool: dict[tuple[str, str], set[str]] = {}
    for agent, server, tool, _ in allowed:
        by_tool.setdefault((server, tool), set()).add(agent)
    out = []
    for p, server in s.execute(
        select(GatewayPin, GatewayServer.name)
        .join(GatewayServer, GatewayServer.id == GatewayPin.server_id)
        .where(GatewayPin.server_id.in_(ids))
        .order_by(GatewayServer.name, GatewayPin.tool)
    ):
        agents = by_tool.get((server, p.tool), set()) | by_tool.get((server, "*"), set())
        out.append(
            PinFacts(
                server=server,
                tool=p.tool,
                status=p.status,
                sha256=p.sha256,
                seen_sha256=p.seen_sha256,
                seen_at=utc(p.seen_at),
                approved_by=p.approved_by,
                approved_at=utc(p.approved_at),
                incident=p.incident_id,
                allowed_to=tuple(sorted(agents)),
            )
        )
    return tuple(out)


def _active_keys(s: Session, now: dt.datetime, project: str | None) -> dict[int, int]:
    """Active keys per agent principal id (of ``project`` or every project)."""
    query = (
        select(ApiKey.principal_id, func.count())
        .join(Principal, Principal.id == ApiKey.principal_id)
        .where(
            Principal.kind == "agent",
            ApiKey.revoked_at.is_(None),
            or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
        )
        .group_by(ApiKey.principal_id)
    )
    if project is not None:
        query = query.where(ApiKey.project.in_((project, ALL_PROJECTS)))
    return {pid: n for pid, n in s.execute(query) if pid is not None}


def _agents(
    s: Session,
    agents: list[Principal],
    keys: dict[int, int],
    allowed: list[tuple[str, str, str, bool]],
    owners: dict[int, Principal],
) -> tuple[AgentFacts, ...]:
    entries: dict[str, list[str]] = {}
    for agent, server, tool, constrained in allowed:
        entries.setdefault(agent, []).append(
            f"{server}/{tool}" + (" (constrained)" if constrained else "")
        )
    out = []
    for a in agents:
        if a.name not in entries and not keys.get(a.id):
            continue  # neither on an allow-list nor able to reach the gateway
        boss = owners.get(a.owner_id) if a.owner_id is not None else None
        out.append(
            AgentFacts(
                name=a.name,
                enabled=a.disabled_at is None,
                owner=boss.name if boss else None,
                owner_kind=boss.kind if boss else None,
                owner_enabled=boss is not None and boss.disabled_at is None,
                n_active_keys=keys.get(a.id, 0),
                allowed=tuple(entries.get(a.name, ())),
            )
        )
    return tuple(out)


def _incidents(
    s: Session, project: str | None, now: dt.datetime, lookback_days: int
) -> tuple[SubjectIncident, ...]:
    query = (
        select(Incident)
        .where(
            Incident.subject_kind.in_(GATEWAY_SUBJECTS),
            or_(
                Incident.resolved_at.is_(None),
                Incident.opened_at >= now - dt.timedelta(days=lookback_days),
            ),
        )
        .order_by(Incident.id)
    )
    if project is not None:
        query = query.where(Incident.project == project)
    return tuple(
        SubjectIncident(
            subject_kind=i.subject_kind,
            subject=i.subject,
            project=i.project,
            trigger=i.trigger,
            incident=incident_facts(i),
        )
        for i in s.scalars(query)
    )


def incident_facts(i: Incident) -> IncidentFacts:
    """What the evidence checks read of a stored incident, whatever its subject."""
    return IncidentFacts(
        id=i.id,
        kind=i.kind,
        severity=i.severity,
        status=i.status,
        owner=i.owner,
        summary=i.summary,
        opened_at=utc(i.opened_at),
        acked_at=utc(i.acked_at),
        acked_by=i.acked_by,
        resolved_at=utc(i.resolved_at),
        resolution=i.resolution,
    )


def call_counts(
    rows: Iterable[tuple[int, str]],
    project: str | None,
    days: int = CALL_PERIOD_DAYS,
    since: str | None = None,
) -> CallCounts:
    """Count the calls of ``gateway.calls`` events ``(seq, payload)``, of ``project`` or all.

    >>> rec = {"verdict": "deny", "reason": "not_allowed", "project": "p", "screening": {}}
    >>> c = call_counts([(7, json.dumps({"count": 1, "calls": [rec]}))], "p")
    >>> c.calls, dict(c.refusals), c.last_seq
    (1, {'not_allowed': 1}, 7)
    """
    verdicts: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    screening: Counter[str] = Counter()
    held: Counter[str] = Counter()
    n_events, first, last = 0, None, None
    for seq, payload in rows:
        counted = False
        for call in json.loads(payload).get("calls") or ():
            # A refused call of a tool the gateway does not know names no project: it counts
            # in every project's report, as the agent behind it reaches them all.
            if project is not None and call.get("project") not in (project, None):
                continue
            counted = True
            verdict = str(call.get("verdict") or "unknown")
            verdicts[verdict] += 1
            if verdict == "deny":
                refusals[str(call.get("reason") or "unknown")] += 1
            for place, said in (call.get("screening") or {}).items():
                screening[f"{place}:{said}"] += 1
            if call.get("held"):
                held[str(call["held"])] += 1
        if counted:
            n_events += 1
            first = seq if first is None else first
            last = seq
    return CallCounts(
        days=days,
        n_events=n_events,
        first_seq=first,
        last_seq=last,
        calls=sum(verdicts.values()),
        verdicts=dict(verdicts),
        refusals=dict(refusals),
        screening=dict(screening),
        held=dict(held),
        since=since,
    )


def gateway_facts(
    s: Session, project: str | None, now: dt.datetime, *, lookback_days: int
) -> GatewayFacts:
    """What the gateway holds for ``project`` (``None``: every project) at ``now``.

    ``lookback_days`` is how far back resolved incidents are cited (open ones always are).
    """
    servers = _servers(s, project)
    ids = [r.id for r in servers]
    allowed = _allowed(s, ids)
    keys = _active_keys(s, now, project)
    agents = list(
        s.scalars(select(Principal).where(Principal.kind == "agent").order_by(Principal.name))
    )
    wanted_ids = {a.owner_id for a in agents if a.owner_id is not None}
    people = list(
        s.scalars(
            select(Principal).where(
                or_(Principal.id.in_(wanted_ids), Principal.name.in_({r.owner for r in servers}))
            )
        )
    )
    by_name = {p.name: p for p in people}
    since = (now - dt.timedelta(days=CALL_PERIOD_DAYS)).isoformat(timespec="microseconds")
    # The newest events first, off the (action, seq) index, stopping at the bound.
    events = s.execute(
        select(AuditEvent.seq, AuditEvent.ts, AuditEvent.payload)
        .where(AuditEvent.action == "gateway.calls", AuditEvent.ts >= since)
        .order_by(AuditEvent.seq.desc())
        .limit(MAX_CALL_EVENTS + 1)
    ).all()
    cut = len(events) > MAX_CALL_EVENTS
    events = events[:MAX_CALL_EVENTS][::-1]
    return GatewayFacts(
        servers=tuple(
            ServerFacts(
                name=r.name,
                project=r.project,
                owner=r.owner,
                owner_kind=by_name[r.owner].kind if r.owner in by_name else None,
                owner_enabled=r.owner in by_name and by_name[r.owner].disabled_at is None,
                transport=r.transport,
                created_by=r.created_by,
                created_at=utc(r.created_at),
            )
            for r in servers
        ),
        pins=_pins(s, ids, allowed),
        agents=_agents(s, agents, keys, allowed, {p.id: p for p in people}),
        incidents=_incidents(s, project, now, lookback_days),
        calls=call_counts(
            ((seq, payload) for seq, _, payload in events),
            project,
            since=events[0].ts if cut else None,
        ),
    )
