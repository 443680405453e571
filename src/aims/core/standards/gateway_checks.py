"""Gateway checks: the MCP servers agents reach, the tools they call, and who answers for them.

Each is a workspace check, a pure function ``check(facts, models) -> Finding``
over :attr:`Facts.gateway <aims.core.standards.facts.Facts.gateway>`. Where
the gateway holds nothing to judge (no upstream server registered, no agent
that can reach it, no incident about a server or an agent) the level is
``None``: the rule is *not applicable* and says why, as a model check does
with no model in scope.

* :func:`gateway_servers`: every upstream server has an enabled person as owner;
* :func:`gateway_pins`: no tool on an agent's allow-list has a definition that
  is new or changed since its owner approved it;
* :func:`gateway_agents`: every agent that can reach the gateway has an
  allow-list and an enabled person as owner; no disabled agent keeps one;
* :func:`gateway_incidents`: incidents about servers and agents are owned,
  acknowledged, and not open past their severity's deadline;
* :func:`gateway_log`: the calls of the period are in the audit log.

Examples
--------
>>> import datetime as dt
>>> from aims.core.standards.facts import Facts
>>> now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
>>> f = gateway_servers(Facts(now, "/ws", "p"), ())
>>> f.level is None, f.detail
(True, 'no MCP server is registered with the gateway')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aims.core.standards._common import day
from aims.core.standards.facts import Facts, ModelFacts
from aims.core.standards.gateway_facts import open_deadline
from aims.core.standards.result import Evidence, Finding, Level

__all__ = ["gateway_agents", "gateway_incidents", "gateway_log", "gateway_pins", "gateway_servers"]

NO_SERVER = "no MCP server is registered with the gateway"


def _level(n_ok: int, n: int) -> Level:
    if n_ok == n:
        return Level.FULL
    return Level.NONE if n_ok == 0 else Level.SOME


def gateway_servers(facts: Facts, models: Sequence[ModelFacts]) -> Finding:
    """Every upstream MCP server is registered with an enabled person who answers for it."""
    g = facts.gateway
    if not g.set_up:
        return Finding(None, detail=NO_SERVER)
    evidence, gaps = [], []
    for s in g.servers:
        counts = {
            status: sum(p.server == s.name and p.status == status for p in g.pins)
            for status in ("approved", "new", "changed")
        }
        evidence.append(
            Evidence(
                f"MCP server {s.name} ({s.transport}, project {s.project}) owned by {s.owner}, "
                f"registered by {s.created_by} on {day(s.created_at)}; tools: "
                f"{counts['approved']} approved, {counts['new']} awaiting approval, "
                f"{counts['changed']} changed since approved",
                command="aims gateway server list",
            )
        )
        if s.owner_problem:
            gaps.append(
                f"MCP server {s.name}: {s.owner_problem}; nobody answers for it or approves its "
                f"tools. Remove it ('aims gateway server remove {s.name}') and register it again "
                "with an enabled person as --owner"
            )
    n_ok = len(g.servers) - len(gaps)
    return Finding(
        _level(n_ok, len(g.servers)),
        evidence,
        gaps,
        detail=f"{n_ok} of {len(g.servers)} server(s) with an enabled person as owner",
    )


def gateway_pins(facts: Facts, models: Sequence[ModelFacts]) -> Finding:
    """No tool on an agent's allow-list has a definition its server's owner has not approved."""
    g = facts.gateway
    if not g.set_up:
        return Finding(None, detail=NO_SERVER)
    if not g.pins:
        return Finding(None, detail="the gateway has not listed any tool of its servers yet")
    owners = {s.name: s.owner for s in g.servers}
    # A disabled agent's entries let nobody call (gateway_agents asks for their removal).
    enabled = {a.name for a in g.agents if a.enabled}
    users = {p.ref: [a for a in p.allowed_to if a in enabled] for p in g.pins}
    evidence, gaps = [], []
    in_use = [p for p in g.pins if users[p.ref]]
    for p in g.pins:
        owner = owners.get(p.server, "its owner")
        agents = ", ".join(users[p.ref])
        fix = f"'aims gateway pins approve {p.server} {p.tool}'"
        if p.status == "approved" and p.approved_at is not None:
            evidence.append(
                Evidence(
                    f"{p.ref} approved by {p.approved_by} on {day(p.approved_at)} "
                    f"(sha256 {(p.sha256 or '')[:12]}…)"
                    + (f"; allowed to {agents}" if agents else "; on no allow-list"),
                    command=f"aims gateway pins list {p.server}",
                )
            )
            continue
        if p.status == "changed":
            text = (
                f"{p.ref} changed since {p.approved_by} approved it"
                + (f" on {day(p.approved_at)}" if p.approved_at else "")
                + f" (approved sha256 {(p.sha256 or '')[:12]}…, seen {p.seen_sha256[:12]}…"
                + (f", incident #{p.incident}" if p.incident is not None else "")
                + "): blocked until approved again"
            )
        else:
            text = f"{p.ref} never approved (seen {day(p.seen_at)}): not offered to agents"
        evidence.append(Evidence(text, command=f"aims gateway pins list {p.server}"))
        if users[p.ref]:
            gaps.append(
                f"{p.ref} is on the allow-list of {agents} but its definition "
                + (
                    "changed after it was approved"
                    if p.status == "changed"
                    else "was never approved"
                )
                + f": {owner} reads the definition seen and approves it with {fix}, or the "
                f"entries are revoked ('aims gateway revoke AGENT {p.server} {p.tool}')"
            )
    n_ok = len(in_use) - len(gaps)
    if not in_use:
        return Finding(
            Level.FULL, evidence, detail=f"{len(g.pins)} tool(s) seen, none on an allow-list"
        )
    return Finding(
        _level(n_ok, len(in_use)),
        evidence,
        gaps,
        detail=f"{n_ok} of {len(in_use)} tool(s) on allow-lists approved as seen",
    )


def gateway_agents(facts: Facts, models: Sequence[ModelFacts]) -> Finding:
    """Every agent that can reach the gateway has an allow-list and an enabled person as
    owner; no disabled agent keeps allow-list entries."""
    g = facts.gateway
    if not g.set_up:
        return Finding(None, detail=NO_SERVER)
    judged = [a for a in g.agents if a.has_access or a.allowed]
    if not judged:
        return Finding(None, detail="no agent holds a key to reach the gateway")
    evidence, gaps = [], []
    n_ok = 0
    for a in judged:
        problems = []
        if a.has_access and not a.allowed:
            problems.append(
                f"agent {a.name} can reach the gateway ({a.n_active_keys} active key(s)) but has "
                "no allow-list, so what it may do is written nowhere: give it the tools it needs "
                f"('aims gateway allow {a.name} SERVER TOOL') or revoke its keys"
            )
        if not a.enabled and a.allowed:
            problems.append(
                f"agent {a.name} is disabled but still on the allow-lists ("
                + ", ".join(a.allowed)
                + f"): revoke them ('aims gateway revoke {a.name} SERVER TOOL')"
            )
        if a.enabled and a.owner_problem:
            problems.append(
                f"agent {a.name}: {a.owner_problem}, so no person answers for what it does: "
                f"disable it ('aims principals disable {a.name}') or add it again with an enabled "
                "person as --owner"
            )
        state = "enabled" if a.enabled else "disabled"
        evidence.append(
            Evidence(
                f"agent {a.name} ({state}, owner {a.owner or 'none'}, {a.n_active_keys} active "
                f"key(s)) may call: {', '.join(a.allowed) or 'nothing'}",
                command=f"aims gateway allowed {a.name}",
            )
        )
        gaps.extend(problems)
        n_ok += not problems
    return Finding(
        _level(n_ok, len(judged)),
        evidence,
        gaps,
        detail=f"{n_ok} of {len(judged)} agent(s) with an allow-list and an enabled owner",
    )


def gateway_incidents(facts: Facts, models: Sequence[ModelFacts]) -> Finding:
    """Incidents about MCP servers and agents are owned, acknowledged, explained once
    resolved, and none is open past its severity's deadline."""
    g = facts.gateway
    if not g.incidents:
        return Finding(None, detail="no incident is recorded about an MCP server or an agent")
    evidence, gaps = [], []
    n_ok = 0
    for i in g.incidents:
        inc = i.incident
        about = (
            "MCP server " if i.subject_kind == "mcp_server" else f"{i.subject_kind} "
        ) + i.subject
        head = f"incident #{inc.id} ({inc.severity} {inc.kind}) about {about}, owner {inc.owner or 'none'}"
        problems = [f"incident #{inc.id} about {about}: {p}" for p in inc.problems]
        if inc.resolved_at is None:
            age = facts.now - inc.opened_at
            deadline = open_deadline(inc.severity)
            days = age.total_seconds() / 86400
            text = f"{head}, open for {days:.1f} day(s) (deadline {deadline.days} day(s)): {inc.summary}"
            if age > deadline:
                problems.append(
                    f"incident #{inc.id} about {about} has been open {days:.1f} days, past the "
                    f"{deadline.days}-day deadline for {inc.severity} incidents: "
                    f"{inc.owner or 'its owner'} resolves it "
                    f"('aims incidents resolve {inc.id} --note TEXT')"
                )
        else:
            text = f"{head}, resolved on {day(inc.resolved_at)}: {inc.resolution or '(no note)'}"
        if inc.acked_at is None and inc.resolved_at is None:
            problems = [
                p + f" ('aims incidents ack {inc.id}')" if p.endswith("not acknowledged") else p
                for p in problems
            ]
        evidence.append(Evidence(text, command=f"aims incidents show {inc.id}"))
        gaps.extend(problems)
        n_ok += not problems
    n = len(g.incidents)
    n_open = sum(i.incident.resolved_at is None for i in g.incidents)
    return Finding(
        _level(n_ok, n),
        evidence,
        gaps,
        detail=f"{n_ok} of {n} incident(s) handled in time ({n_open} open)",
    )


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))


def gateway_log(facts: Facts, models: Sequence[ModelFacts]) -> Finding:
    """Every call through the gateway in the period, forwarded or refused, is in the
    hash-chained audit log, with its verdict and screening."""
    g = facts.gateway
    if not g.set_up:
        return Finding(None, detail=NO_SERVER)
    c = g.calls
    if not c.n_events:
        return Finding(None, detail=f"no call through the gateway in {c.span}")
    verdicts = _counts(c.verdicts) or "none"
    evidence = [
        Evidence(
            f"{c.calls:,} call(s) through the gateway in {c.span}, in "
            f"{c.n_events:,} audit event(s) (#{c.first_seq} to #{c.last_seq}); verdicts: {verdicts}",
            event=c.last_seq,
            command="aims audit log --action gateway.calls",
        )
    ]
    if c.refusals:
        evidence.append(Evidence(f"refused calls by reason: {_counts(c.refusals)}"))
    if c.screening:
        evidence.append(Evidence(f"screening verdicts by place: {_counts(c.screening)}"))
    if c.held:
        why = {"high_risk": "high-risk tool", "after_untrusted": "after untrusted text"}
        held = {why.get(k, k): n for k, n in c.held.items()}
        decided = {
            k: c.refusals[k] for k in ("denied_by_person", "approval_timeout") if k in c.refusals
        }
        evidence.append(
            Evidence(
                f"calls held for a person: {_counts(held)}"
                + (f"; of them refused: {_counts(decided)}" if decided else ""),
                command="aims gateway calls pending --all",
            )
        )
    detail = f"{c.calls:,} call(s) recorded in {c.days} days"
    if not facts.audit.ok:
        return Finding(
            Level.SOME,
            evidence,
            [
                "the audit log holding the gateway's call records does not verify; find what "
                "changed it ('aims audit verify') before relying on them"
            ],
            detail=detail + ", audit chain broken",
        )
    return Finding(Level.FULL, evidence, detail=detail)
