"""Principals over real HTTP, in team mode: the dashboard's approvals and the keys' tokens."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from aims.server.assembly import build_server
from aims.services import identity, keys, registry
from aims.storage.schema import Approval
from tests.server.conftest import LiveServer, bearer, wait_until
from tests.ui.test_access import csrf_of, login


@pytest.fixture
def team(workspace, cancer_files, monkeypatch):
    """A team-mode workspace: ana registered ``m`` with one key and holds a second
    approver key; bo is an approver; bot is ana's agent."""
    monkeypatch.setenv("AIMS_IDENTITY", "team")
    ws = workspace
    for name in ("ana@x.org", "bo@x.org"):
        identity.add_principal(ws, name, kind="human", actor="root")
        identity.grant(ws, name, role="approver", project="default", actor="root")
    identity.add_principal(ws, "bot", kind="agent", owner="ana@x.org", actor="root")
    identity.grant(ws, "bot", role="scientist", project="default", actor="root")
    make = {
        who: keys.create_key(ws, project="default", role=role, actor="root", principal=who)[1]
        for who, role in (
            ("ana@x.org", "scientist"),
            ("bo@x.org", "approver"),
            ("bot", "scientist"),
        )
    }
    _, ana_second = keys.create_key(
        ws, project="default", role="approver", actor="root", principal="ana@x.org"
    )
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor="ana@x.org")
    ana_key_id = keys.split_key(make["ana@x.org"])[0]
    registry.register_model(
        ws,
        cancer_files["model"],
        "m",
        actor=f"apikey:{ana_key_id}",
        datasets=["cancer@1"],
        owners={"deployment": "d@x.org", "monitoring": "m@x.org"},
    )
    with LiveServer(build_server(ws)) as server:
        yield {"ws": ws, "url": server.url, "ana_second": ana_second, **make}


def approve(browser: httpx.Client) -> httpx.Response:
    return browser.post(
        "/ui/models/m/versions/1/approve",
        data={"note": "looked", "csrf": csrf_of(browser, "/ui/models/m")},
    )


def approvals(ws) -> list[str]:
    with ws.db.session() as s:
        return [a.actor for a in s.scalars(select(Approval)).all()]


def test_the_registrant_cannot_approve_on_the_dashboard_with_a_second_key(team) -> None:
    with httpx.Client(base_url=team["url"], timeout=30) as browser:
        assert login(browser, team["ana_second"]).status_code == 303
        refused = approve(browser)
        assert refused.status_code == 403
        assert "ana@x.org registered m@1 and may not approve it" in refused.text
    assert approvals(team["ws"]) == []
    with httpx.Client(base_url=team["url"], timeout=30) as browser:
        assert login(browser, team["bo@x.org"]).status_code == 303
        assert approve(browser).status_code == 303
    # Recorded under the principal, not the key it came through.
    assert approvals(team["ws"]) == ["bo@x.org"]


def test_an_agents_key_cannot_approve_on_the_dashboard(team) -> None:
    with httpx.Client(base_url=team["url"], timeout=30) as browser:
        assert login(browser, team["bot"]).status_code == 303
        assert approve(browser).status_code == 403
    assert approvals(team["ws"]) == []


def test_a_disabled_principals_key_and_tokens_stop_working(team) -> None:
    with httpx.Client(base_url=team["url"], timeout=30) as c:
        r = c.post("/v1/auth/token", json={"api_key": team["bo@x.org"]})
        assert r.status_code == 200 and r.json()["role"] == "approver"
        token = r.json()["access_token"]
        assert c.get("/v1/models", headers=bearer(token)).status_code == 200
        identity.disable_principal(team["ws"], "bo@x.org", actor="root")
        refused = c.post("/v1/auth/token", json={"api_key": team["bo@x.org"]})
        assert refused.status_code == 401
        # Tokens already issued stop at the server's next poll of the store.
        wait_until(lambda: c.get("/v1/models", headers=bearer(token)).status_code == 401, 10)


def test_a_revoked_grant_lowers_the_role_of_new_tokens(team) -> None:
    with httpx.Client(base_url=team["url"], timeout=30) as c:
        identity.grant(team["ws"], "bo@x.org", role="viewer", project="default", actor="root")
        r = c.post("/v1/auth/token", json={"api_key": team["bo@x.org"]})
        assert r.status_code == 200 and r.json()["role"] == "viewer"
        identity.revoke_grant(team["ws"], "bo@x.org", project="default", actor="root")
        assert c.post("/v1/auth/token", json={"api_key": team["bo@x.org"]}).status_code == 401
