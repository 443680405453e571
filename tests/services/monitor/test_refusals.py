"""Bursts of refused calls read from the audit log, as the server writes them."""

from __future__ import annotations

import datetime as dt

from aims.server.auth_events import AuthEvents
from aims.services import audit, identity, keys
from aims.services.monitor import incidents
from aims.services.monitor.refusals import scan_refusals


def note(ws, subject: str, n: int, reason: str = "invalid_token") -> None:
    events = AuthEvents()
    for _ in range(n):
        events.note("server.access.denied", subject, reason, "/v1/models")
    events.flush(ws)


def test_a_burst_in_a_project_without_models_opens_an_incident_about_the_caller(
    workspace,
) -> None:
    note(workspace, "client:10.0.0.9", 30)
    note(workspace, "client:10.0.0.7", 19)  # one short of the default burst of 20
    out = scan_refusals(workspace)
    assert len(out["opened"]) == 1 and out["updated"] == []
    inc = incidents.show_incident(workspace, out["opened"][0])
    assert (inc["model"], inc["subject_kind"], inc["subject"]) == (None, "client", "10.0.0.9")
    assert inc["project"] == "default" and inc["about"] == "client 10.0.0.9"
    event = audit.query(workspace.db, audit.EventFilter(action="monitor.security.burst"))[-1]
    assert event["subject"] == "client:10.0.0.9" and event["payload"]["count"] == 30


def test_an_agents_burst_is_about_the_agent_and_goes_to_its_owner(workspace) -> None:
    identity.add_principal(workspace, "ops", kind="human", actor="root")
    identity.add_principal(workspace, "invoice-bot", kind="agent", owner="ops", actor="root")
    identity.grant(workspace, "invoice-bot", role="viewer", project="default", actor="root")
    made, _ = keys.create_key(
        workspace, project="default", role="viewer", actor="root", principal="invoice-bot"
    )
    note(workspace, f"apikey:{made['key_id']}", 25, reason="tool_not_allowed")
    out = scan_refusals(workspace)
    inc = incidents.show_incident(workspace, out["opened"][0])
    assert (inc["subject_kind"], inc["subject"], inc["owner"]) == ("agent", "invoice-bot", "ops")
    assert inc["model"] is None and inc["kind"] == "security"
    listed = incidents.list_incidents(workspace, subject_kind="agent")
    assert [i["id"] for i in listed] == [inc["id"]]
    assert incidents.list_incidents(workspace, subject_kind="model") == []


def test_refusals_older_than_the_window_do_not_count(workspace) -> None:
    note(workspace, "client:10.0.0.9", 30)
    later = audit.now_utc() + dt.timedelta(minutes=6)  # the default window is 5 minutes
    assert scan_refusals(workspace, later) == {"opened": [], "updated": []}
