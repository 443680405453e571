"""Bursts of refused calls read from the audit log, as the server writes them."""

from __future__ import annotations

import datetime as dt

from aims.server.auth_events import AuthEvents
from aims.services import audit
from aims.services.monitor.refusals import scan_refusals


def note(ws, subject: str, n: int, reason: str = "invalid_token") -> None:
    events = AuthEvents()
    for _ in range(n):
        events.note("server.access.denied", subject, reason, "/v1/models")
    events.flush(ws)


def test_a_burst_in_a_project_without_models_is_audited_not_filed(workspace) -> None:
    note(workspace, "client:10.0.0.9", 30)
    note(workspace, "client:10.0.0.7", 19)  # one short of the default burst of 20
    out = scan_refusals(workspace)
    assert out == {"opened": [], "updated": [], "unfiled": ["client:10.0.0.9"]}
    event = audit.query(workspace.db, audit.EventFilter(action="monitor.security.burst"))[-1]
    assert event["subject"] == "project:default" and event["payload"]["count"] == 30
    assert event["payload"]["why"] == "the project has no model"


def test_refusals_older_than_the_window_do_not_count(workspace) -> None:
    note(workspace, "client:10.0.0.9", 30)
    later = audit.now_utc() + dt.timedelta(minutes=6)  # the default window is 5 minutes
    assert scan_refusals(workspace, later) == {"opened": [], "updated": [], "unfiled": []}
