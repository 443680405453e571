"""The gateway checks on hand-built facts: owners, pins in use, agents, incident deadlines, calls."""

from __future__ import annotations

import datetime as dt
import doctest
import importlib
import json
from dataclasses import replace

import pytest

from aims.core.standards import CHECKS, rule, run_rule
from aims.core.standards.facts import AuditFacts, Facts
from aims.core.standards.gateway_checks import (
    gateway_agents,
    gateway_incidents,
    gateway_log,
    gateway_pins,
    gateway_servers,
)
from aims.core.standards.gateway_facts import (
    OPEN_DEADLINES,
    AgentFacts,
    CallCounts,
    GatewayFacts,
    PinFacts,
    ServerFacts,
    SubjectIncident,
)
from aims.core.standards.incident_facts import IncidentFacts
from aims.core.standards.result import Level

NOW = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def server(name: str = "files", owner: str = "ana", kind: str | None = "human", on: bool = True):
    return ServerFacts(name, "p", owner, kind, on, "http", "root", NOW - 30 * DAY)


def pin(tool: str, status: str = "approved", allowed: tuple[str, ...] = ("bot",)) -> PinFacts:
    return PinFacts(
        "files",
        tool,
        status,
        None if status == "new" else "a" * 64,
        "b" * 64 if status == "changed" else "a" * 64,
        NOW - DAY,
        approved_by=None if status == "new" else "ana",
        approved_at=None if status == "new" else NOW - 2 * DAY,
        allowed_to=allowed,
    )


def agent(name: str = "bot", **kw) -> AgentFacts:
    base = dict(
        enabled=True,
        owner="dev",
        owner_kind="human",
        owner_enabled=True,
        n_active_keys=1,
        allowed=("files/*",),
    )
    return AgentFacts(name, **{**base, **kw})


def incident(severity: str, age: dt.timedelta, **kw) -> SubjectIncident:
    base = dict(
        id=7,
        kind="security",
        severity=severity,
        status="acknowledged",
        owner="ana",
        summary="a tool changed",
        opened_at=NOW - age,
        acked_at=NOW - age + dt.timedelta(hours=1),
        acked_by="ana",
        resolved_at=None,
        resolution=None,
    )
    return SubjectIncident(
        "mcp_server", "files", "p", "tool_definition_changed", IncidentFacts(**{**base, **kw})
    )


def facts(**gateway) -> Facts:
    g = GatewayFacts(**{"servers": (server(),), **gateway})
    return Facts(NOW, "/ws", "p", audit=AuditFacts(ok=True, n_events=9, head_seq=9), gateway=g)


def test_a_server_owner_must_be_an_enabled_person() -> None:
    f = facts(servers=(server(), server("a", "svc", "service"), server("b", "x", None)))
    found = gateway_servers(f, ())
    assert found.level is Level.SOME and found.detail.startswith("1 of 3")
    assert "its owner svc is a service, not a person" in found.gaps[0]
    assert "its owner x is no principal" in found.gaps[1]
    gone = gateway_servers(facts(servers=(server(on=False),)), ())
    assert gone.level is Level.NONE and "ana is disabled" in gone.gaps[0]


def test_only_tools_on_an_enabled_agents_list_must_be_approved() -> None:
    ok = gateway_pins(facts(pins=(pin("read"), pin("new", "new", ())), agents=(agent(),)), ())
    assert ok.level is Level.FULL and not ok.gaps
    assert any("files/new never approved" in e.text for e in ok.evidence)
    blocked = facts(pins=(pin("read"), pin("write", "changed")), agents=(agent(),))
    found = gateway_pins(blocked, ())
    assert found.level is Level.SOME and "changed after it was approved" in found.gaps[0]
    # The same tool named only by a disabled agent's list is listed, not judged.
    idle = facts(pins=(pin("write", "changed"),), agents=(agent(enabled=False),))
    unused = gateway_pins(idle, ())
    assert unused.level is Level.FULL and unused.detail == "1 tool(s) seen, none on an allow-list"
    assert gateway_pins(facts(), ()).level is None


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"allowed": ()}, "has no allow-list"),
        ({"owner": None, "owner_kind": None}, "it has no owner"),
        ({"owner_kind": "agent"}, "its owner dev is not a person"),
        ({"owner_enabled": False}, "its owner dev is disabled"),
        ({"enabled": False, "n_active_keys": 0}, "disabled but still on the allow-lists"),
    ],
)
def test_agents_need_an_allow_list_and_an_enabled_person_as_owner(kw, message) -> None:
    found = gateway_agents(facts(agents=(agent(), agent("other", **kw))), ())
    assert found.level is Level.SOME and len(found.gaps) == 1 and message in found.gaps[0]
    assert gateway_agents(facts(agents=(agent(),)), ()).level is Level.FULL


def test_an_agent_without_key_or_list_is_not_judged() -> None:
    quiet = agent(n_active_keys=0, allowed=())
    assert gateway_agents(facts(agents=(quiet,)), ()).level is None
    assert gateway_agents(replace(facts(), gateway=GatewayFacts()), ()).level is None


@pytest.mark.parametrize("severity", sorted(OPEN_DEADLINES))
def test_an_incident_open_past_its_severitys_deadline_is_a_finding(severity: str) -> None:
    deadline = OPEN_DEADLINES[severity]
    inside = gateway_incidents(facts(incidents=(incident(severity, deadline - DAY / 24),)), ())
    assert inside.level is Level.FULL and "(1 open)" in inside.detail
    late = gateway_incidents(facts(incidents=(incident(severity, deadline + DAY / 24),)), ())
    assert late.level is Level.NONE
    assert f"past the {deadline.days}-day deadline for {severity} incidents" in late.gaps[0]


def test_incidents_need_an_owner_an_ack_and_a_resolution_note() -> None:
    fresh = incident("high", DAY, owner=None, acked_at=None, status="open")
    found = gateway_incidents(facts(incidents=(fresh,)), ())
    assert found.gaps == [
        "incident #7 about MCP server files: no owner",
        "incident #7 about MCP server files: not acknowledged ('aims incidents ack 7')",
    ]
    closed = incident("low", 90 * DAY, resolved_at=NOW - DAY, resolution="")
    mute = gateway_incidents(facts(incidents=(closed,)), ())
    assert mute.gaps == ["incident #7 about MCP server files: resolved without a resolution note"]
    # Incidents about agents are judged with or without a server in the inventory.
    about_agent = replace(incident("high", DAY), subject_kind="agent", subject="bot")
    alone = replace(facts(), gateway=GatewayFacts(incidents=(about_agent,)))
    assert "about agent bot" in gateway_incidents(alone, ()).evidence[0].text
    assert gateway_incidents(facts(), ()).level is None


def test_the_call_log_counts_verdicts_and_needs_a_chain_that_verifies() -> None:
    calls = CallCounts(30, 2, 5, 9, 3, {"allow": 2, "deny": 1}, {"not_allowed": 1}, {})
    found = gateway_log(facts(calls=calls), ())
    assert found.level is Level.FULL and "verdicts: allow 2, deny 1" in found.evidence[0].text
    assert found.evidence[0].event == 9
    broken = replace(facts(calls=calls), audit=AuditFacts(ok=False, n_events=9, problem="x"))
    assert gateway_log(broken, ()).level is Level.SOME
    assert gateway_log(facts(), ()).detail == "no call through the gateway in the last 30 days"


def test_the_call_log_counts_calls_held_for_a_person_by_why() -> None:
    from aims.services.evidence_gateway import call_counts

    records = [
        {"verdict": "allow", "project": "p", "held": "after_untrusted", "call": 4},
        {"verdict": "deny", "reason": "denied_by_person", "project": "p", "held": "high_risk"},
        {"verdict": "deny", "reason": "approval_timeout", "project": "p", "held": "high_risk"},
        {"verdict": "allow", "project": "p"},
    ]
    calls = call_counts([(3, json.dumps({"calls": records}))], "p")
    assert calls.held == {"after_untrusted": 1, "high_risk": 2}
    texts = [e.text for e in gateway_log(facts(calls=calls), ()).evidence]
    assert (
        "calls held for a person: after untrusted text 1, high-risk tool 2; of them refused: "
        "approval_timeout 1, denied_by_person 1"
    ) in texts
    quiet = call_counts([(3, json.dumps({"calls": records[3:]}))], "p")
    assert not any("held" in e.text for e in gateway_log(facts(calls=quiet), ()).evidence)


def test_every_gateway_check_is_registered_as_a_workspace_rule() -> None:
    names = {n for n in CHECKS if n.startswith("gateway_")}
    assert names == {
        "gateway_servers",
        "gateway_pins",
        "gateway_agents",
        "gateway_incidents",
        "gateway_log",
    }
    for name in names:
        assert CHECKS[name].kind == "workspace"
        out = run_rule(rule(name), Facts(NOW, "/ws", "p"), ())
        assert out.status == "not_applicable" and out.detail


@pytest.mark.parametrize(
    "name",
    [
        "aims.core.standards.gateway_checks",
        "aims.core.standards.gateway_facts",
        "aims.services.evidence_gateway",
    ],
)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
