"""Incidents: one per episode, owned, acknowledged, resolved with a note; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from aims.errors import Conflict, InvalidInput, NotFound
from aims.services import audit
from aims.services.monitor import (
    ack_incident,
    list_incidents,
    resolve_incident,
    run_once,
    show_incident,
)
from tests.services.monitor.conftest import HOUR, T0, Traffic


def _episodes(ws, synthetic, plan: list[bool], seed: int) -> None:
    traffic = Traffic(ws, synthetic.model, seed=seed)
    for w, shifted in enumerate(plan):
        traffic.window(T0 + w * HOUR, 200, shift={"x0": 2.0} if shifted else None)
    traffic.close()


def test_incident_lifecycle_and_audit(served_store, synthetic) -> None:
    ws = served_store
    _episodes(ws, synthetic, [False, True, True], seed=31)
    run_once(ws, now=T0 + 4 * HOUR)
    drift = [i for i in list_incidents(ws) if i["kind"] == "drift"]
    assert len(drift) == 1
    inc = drift[0]
    assert (inc["status"], inc["severity"], inc["owner"], inc["window_count"]) == (
        "open",
        "high",
        "oncall@example.org",
        2,
    )
    assert inc["first_window"] == (T0 + HOUR).isoformat()
    assert inc["last_window"] == (T0 + 2 * HOUR).isoformat()
    assert inc["condition"] == "psi > 0.25 on >= 20% of features with >= 200 rows"
    with pytest.raises(InvalidInput, match="needs a note"):
        resolve_incident(ws, inc["id"], actor="ana@example.org", note=" ")
    acked = ack_incident(ws, inc["id"], actor="ana@example.org", note="looking")
    assert acked["status"] == "acked" and acked["time_to_ack_seconds"] >= 0
    with pytest.raises(Conflict, match="is acked, not open"):
        ack_incident(ws, inc["id"], actor="bo@example.org")
    done = resolve_incident(
        ws,
        inc["id"],
        actor="ana@example.org",
        note="root cause: upstream unit change; corrective action: fixed the feed",
    )
    assert done["status"] == "resolved" and done["resolved_by"] == "ana@example.org"
    assert done["time_to_resolve_seconds"] >= done["time_to_ack_seconds"]
    with pytest.raises(Conflict, match="already resolved"):
        resolve_incident(ws, inc["id"], actor="ana@example.org", note="again")
    with pytest.raises(NotFound, match="incident 999"):
        show_incident(ws, 999)
    assert [i["id"] for i in list_incidents(ws, status="resolved")] == [inc["id"]]
    assert inc["id"] not in [i["id"] for i in list_incidents(ws)]
    actions = [e["action"] for e in audit.query(ws.db) if e["subject"].startswith("model:syn")]
    assert actions.count("monitor.trigger.fired") >= 2
    for name in ("incident.open", "incident.ack", "incident.resolve"):
        assert name in actions
    assert audit.verify(ws.db).ok


def test_after_resolution_a_new_episode_opens_a_new_incident(served_store, synthetic) -> None:
    ws = served_store
    _episodes(ws, synthetic, [True, True], seed=32)
    run_once(ws, now=T0 + 3 * HOUR)
    [first] = [i for i in list_incidents(ws) if i["kind"] == "drift"]
    resolve_incident(ws, first["id"], actor="ana@example.org", note="accepted the new population")
    traffic = Traffic(ws, synthetic.model, seed=33)
    traffic.window(T0 + 3 * HOUR, 200, shift={"x0": 2.0})
    traffic.close()
    run_once(ws, now=T0 + 5 * HOUR)
    drift = [i for i in list_incidents(ws, status="all") if i["kind"] == "drift"]
    assert len(drift) == 2
    assert drift[0]["first_window"] == (T0 + 3 * HOUR).isoformat()  # newest first
    with pytest.raises(InvalidInput, match="status is one of"):
        list_incidents(ws, status="closed")
    assert list_incidents(ws, status="all", model="other") == []
    assert len(list_incidents(ws, status="all", limit=1)) == 1
