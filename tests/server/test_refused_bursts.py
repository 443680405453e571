"""Refused calls over real HTTP feed the monitor: a burst opens one security incident."""

from __future__ import annotations

import httpx
import pytest
import yaml

from aims.server.assembly import build_server
from aims.services import audit, identity, keys, registry
from aims.services.monitor import incidents
from aims.services.monitor.runner import run_once
from aims.workspace import Workspace
from tests.server.conftest import LiveServer, bearer, wait_until


@pytest.fixture
def team(workspace, cancer_files, monkeypatch):
    """Team mode; olivia administers default, mallory and sam view it; a burst is 5
    refusals in 5 minutes; the server writes refusals to the audit log every 0.2 s."""
    monkeypatch.setenv("AIMS_IDENTITY", "team")
    path = workspace.root / "aims.yaml"
    config = yaml.safe_load(path.read_text())
    config["server"] = {"poll_interval": 0.1, "auth_audit_interval": 0.2}
    config["access"] = {"refused_burst": 5, "refused_window": "5m"}
    path.write_text(yaml.safe_dump(config))
    workspace.close()
    ws = Workspace.open(workspace.root)
    made = {}
    for name, role in (("olivia", "admin"), ("mallory", "viewer"), ("sam", "viewer")):
        identity.add_principal(ws, name, kind="human", actor="root")
        identity.grant(ws, name, role=role, project="default", actor="root")
        made[name] = keys.create_key(ws, project="default", role=role, actor="root", principal=name)
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor="olivia")
    registry.register_model(
        ws, cancer_files["model"], "m", actor="olivia", datasets=["cancer@1"], owners={}
    )
    with (
        LiveServer(build_server(ws)) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        yield {"ws": ws, "http": http, **made}
    ws.close()


def refuse(http: httpx.Client, made: tuple, n: int) -> None:
    """``n`` calls of an operator route with a viewer's token: each one refused (403)."""
    token = http.post("/v1/auth/token", json={"api_key": made[1]}).json()["access_token"]
    for _ in range(n):
        answer = http.get("/v1/audit/events", params={"model": "m"}, headers=bearer(token))
        assert answer.status_code == 403


def refused(ws, made: tuple) -> int:
    subject = f"apikey:{made[0]['key_id']}"
    events = audit.query(ws.db, audit.EventFilter(action="server.access.denied", subject=subject))
    return sum(e["payload"]["count"] for e in events)


def test_a_burst_of_refused_calls_opens_one_security_incident(team) -> None:
    ws, http = team["ws"], team["http"]
    refuse(http, team["mallory"], 3)
    # Wrong secrets of a known key count for its principal too.
    wrong = f"aims.{team['mallory'][0]['key_id']}.not-the-secret"
    for _ in range(3):
        assert http.post("/v1/auth/token", json={"api_key": wrong}).status_code == 401
    refuse(http, team["sam"], 2)  # below the threshold
    wait_until(lambda: refused(ws, team["mallory"]) == 6 and refused(ws, team["sam"]) == 2)
    first = run_once(ws)
    assert len(first.incidents_opened) == 1
    inc = incidents.show_incident(ws, first.incidents_opened[0])
    assert (inc["kind"], inc["severity"], inc["trigger"]) == ("security", "high", "refused_calls")
    # About the caller, not about a model its refused paths never named.
    assert inc["owner"] == "olivia" and inc["model"] is None
    assert (inc["subject_kind"], inc["subject"], inc["project"]) == (
        "principal",
        "mallory",
        "default",
    )
    assert inc["evidence"]["caller"] == "mallory" and inc["evidence"]["count"] == 6
    assert inc["evidence"]["reasons"] == {"role_too_low": 3, "invalid_key": 3}
    assert "6 refused calls by mallory on project default" in inc["summary"]
    # Once per burst: the next pass files nothing new, more refusals join the incident.
    assert run_once(ws).incidents_opened == []
    refuse(http, team["mallory"], 5)
    wait_until(lambda: refused(ws, team["mallory"]) == 11)
    again = run_once(ws)
    assert again.incidents_opened == [] and again.incidents_updated == [inc["id"]]
    assert incidents.show_incident(ws, inc["id"])["evidence"]["total"] == 11
    opened = audit.query(ws.db, audit.EventFilter(action="monitor.security.burst"))
    assert [e["payload"]["incident"] for e in opened] == [inc["id"]]
    listed = incidents.list_incidents(ws)
    assert [i["id"] for i in listed if i["kind"] == "security"] == [inc["id"]]
