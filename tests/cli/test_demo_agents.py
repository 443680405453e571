"""``aims demo --agents``: the agent chapter, run as a real process, then its store read back.

One run for the module: ``aims demo --agents --dir WS --format json`` starts a
real aims server and a real upstream MCP server on loopback, and the agent
talks to both with the MCP SDK's own client. The tests read the printed
summary and the workspace the chapter leaves behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aims.demo.agents import AGENT, DESK_OWNER, OWNER


@pytest.fixture(scope="module")
def chapter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from aims.workspace import Workspace

    root = tmp_path_factory.mktemp("demo-agents") / "ws"
    done = subprocess.run(
        [sys.executable, "-m", "aims", "demo", "--agents", "--dir", str(root), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    ws = Workspace.open(root)
    try:
        yield {"summary": json.loads(done.stdout), "log": done.stderr, "ws": ws}
    finally:
        ws.close()


def test_the_agent_works_through_the_gateway_within_its_allow_list(chapter: dict) -> None:
    summary = chapter["summary"]
    assert summary["offered"] == [
        "helpdesk__add_comment",
        "helpdesk__get_ticket",
        "helpdesk__list_tickets",
        "helpdesk__read_file",
    ]
    calls = summary["calls"]
    assert calls["read_file"] == {
        "error": False,
        "text": "Runbook: when flight-delay drifts, check the summer schedule feed first.",
    }
    assert calls["delete_file"]["error"]
    assert "not on the allow-list of helpdesk-agent" in calls["delete_file"]["text"]
    assert calls["outside_prefix"]["error"]
    assert "outside /shared/runbooks/" in calls["outside_prefix"]["text"]


def test_the_injected_ticket_reaches_the_agent_redacted(chapter: dict) -> None:
    ticket = chapter["summary"]["calls"]["get_ticket"]
    assert not ticket["error"]
    assert ticket["text"].startswith("Customer says the delay alerts")
    assert "redacted" in ticket["text"]
    assert "ignore all previous instructions" not in ticket["text"].lower()
    assert "collector.attacker.example" not in ticket["text"]


def test_a_comment_right_after_reading_the_ticket_waits_for_a_person(chapter: dict) -> None:
    from aims.services import audit
    from aims.services.gateway import calls

    held, ws = chapter["summary"]["held_comment"], chapter["ws"]
    assert held["error"] is False and held["text"] == "comment added to OPS-8"
    assert "helpdesk/get_ticket" in held["reason"] and held["decided_by"] == DESK_OWNER
    (decided,) = [c for c in calls.list_calls(ws, status=None) if c["tool"] == "add_comment"]
    assert decided["status"] == "approved" and decided["agent"] == AGENT
    (wait,) = audit.query(ws.db, audit.EventFilter(action="gateway.call.wait"))
    assert "helpdesk/get_ticket" in wait["payload"]["reason"]
    records = [
        record
        for e in audit.query(ws.db, audit.EventFilter(action="gateway.calls"))
        for record in e["payload"]["calls"]
        if record.get("held")
    ]
    assert [(r["tool"], r["held"], r["after_untrusted"], r["verdict"]) for r in records] == [
        ("add_comment", "after_untrusted", "helpdesk/get_ticket", "allow")
    ]


def test_the_poisoned_tool_is_withdrawn_with_an_incident_for_the_servers_owner(
    chapter: dict,
) -> None:
    from aims.services.gateway import pins
    from aims.services.monitor.incidents import list_incidents

    summary, ws = chapter["summary"], chapter["ws"]
    assert "helpdesk__add_comment" not in summary["offered_after_poison"]
    assert summary["poisoned_call"]["error"]
    assert "changed since it was approved" in summary["poisoned_call"]["text"]
    incidents = [i for i in list_incidents(ws) if i["trigger"] == "tool_definition_changed"]
    assert len(incidents) == 1
    incident = incidents[0]
    assert incident["id"] == summary["incident"]["id"]
    assert incident["owner"] == DESK_OWNER and incident["kind"] == "security"
    assert "IMPORTANT" in incident["evidence"]["seen_definition"]["description"]
    status = {p["tool"]: p["status"] for p in pins.list_pins(ws, "helpdesk")}
    assert status["add_comment"] == "changed" and status["read_file"] == "approved"


def test_refusals_are_audited_with_the_agent_and_its_owner(chapter: dict) -> None:
    from aims.services import audit

    ws = chapter["ws"]
    records = [
        record
        for e in audit.query(ws.db, audit.EventFilter(action="gateway.calls"))
        for record in e["payload"]["calls"]
    ]
    refused = {(r["tool"], r["reason"]) for r in records if r["verdict"] == "deny"}
    assert ("delete_file", "not_allowed") in refused
    assert any(tool == "read_file" for tool, _ in refused)  # the path outside its prefix
    assert any(tool == "add_comment" for tool, _ in refused)
    assert {r["owner"] for r in records} == {OWNER}
    decide = audit.query(ws.db, audit.EventFilter(action="promotion_request.decide.refused"))
    assert [e["actor"] for e in decide] == [AGENT]
    assert audit.verify(ws.db).ok


def test_the_agent_proposes_and_only_a_person_promotes(chapter: dict) -> None:
    from aims.services import registry
    from aims.services.promotion_requests import list_requests

    summary, ws = chapter["summary"], chapter["ws"]
    assert "approve" not in " ".join(summary["mcp_tools"])
    assert "agents never decide promotion requests" in summary["agent_decide_refused"]
    assert summary["request"]["status"] == "approved"
    assert summary["request"]["decided_by"] == DESK_OWNER
    (request,) = list_requests(ws, status=None)
    assert request["status"] == "approved" and request["decided_by"] == DESK_OWNER
    assert registry.show_version(ws, "ticket-urgency@2")["stage"] == "staging"
    assert json.loads(summary["health"])["model"] == "ticket-urgency"


def test_the_upstream_server_never_saw_the_agents_token(chapter: dict) -> None:
    summary = chapter["summary"]
    assert summary["gateway_token_at_mcp"] == 401  # bound to the gateway's audience
    assert summary["upstream_requests"] > 0
    assert summary["upstream_saw_only_gateway_credential"] is True
    assert summary["token_reached_upstream"] is False
    assert summary["audit_ok"] is True


def test_agents_with_keep_serving_is_refused_before_any_workspace_is_made(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    done = subprocess.run(
        [sys.executable, "-m", "aims", "demo", "--agents", "--keep-serving", "--dir", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "drop one of the two options" in " ".join(done.stderr.split())
    assert not root.exists()
