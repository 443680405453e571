"""The gateway's incidents in a project with no model at all, over real HTTP.

One upstream MCP server process and one aims server for the module; the
workspace registers no model. A changed description of an approved tool (a rug
pull) opens exactly one incident about the MCP server for its owner, which the
CLI (against the server), the API and the dashboard all list; a burst of the
agent's refused calls opens one about the agent, for the agent's owner.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner

from tests.server.conftest import LiveServer, bearer, free_port, new_workspace, wait_until
from tests.server.test_gateway import call, describe, start_upstream, stop, token_for, tool_names
from tests.ui.test_access import login

OWNER = "owner@x.org"
DEV = "dev@x.org"
SECRET = "upstream-secret-of-the-gateway"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from aims.server.assembly import build_server
    from aims.services import identity, keys
    from aims.services.gateway import allowlist, inventory, pins
    from aims.workspace import Workspace

    root = tmp_path_factory.mktemp("gateway-incidents")
    ws = new_workspace(root / "ws")
    config = yaml.safe_load((ws.root / "aims.yaml").read_text())
    config["gateway"] = {"list_burst": 1000}  # every listing reads the upstream again
    config["access"] = {"refused_burst": 3, "refused_window": "5m"}
    config.setdefault("server", {})["auth_audit_interval"] = 0.2
    (ws.root / "aims.yaml").write_text(yaml.safe_dump(config))
    ws.close()
    ws = Workspace.open(ws.root)
    for person in (OWNER, DEV):
        identity.add_principal(ws, person, kind="human", actor="root")
    identity.grant(ws, OWNER, role="viewer", project="default", actor="root")
    identity.add_principal(ws, "bot", kind="agent", owner=DEV, actor="root")
    identity.grant(ws, "bot", role="viewer", project="default", actor="root")
    key = keys.create_key(ws, project="default", role="viewer", actor="root", principal="bot")[1]
    viewer = keys.create_key(ws, project="default", role="viewer", actor="root", principal=OWNER)
    secret = root / "upstream.secret"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    port = free_port()
    upstream = start_upstream(port, SECRET)
    base = f"http://127.0.0.1:{port}"
    inventory.add_server(
        ws, "files", owner=OWNER, url=base + "/mcp", credential=f"file:{secret}", actor="root"
    )
    allowlist.allow(ws, "bot", "files", "weather", actor="root")
    try:
        with LiveServer(build_server(ws)) as server:
            out = {"ws": ws, "url": server.url, "key": key, "upstream": base, "viewer": viewer[1]}
            out["token"] = token_for(out)
            assert tool_names(out) == set()  # seen, none approved yet
            pins.approve_pin(ws, "files", "weather", actor=OWNER)
            assert tool_names(out) == {"files__weather"}
            yield out
    finally:
        stop(upstream)
        ws.close()


def test_a_rug_pull_in_a_project_without_models_opens_one_incident_for_the_owner(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aims.cli.main import build
    from aims.services import keys
    from aims.storage.schema import Model

    with world["ws"].db.session() as s:
        assert s.query(Model).count() == 0
    describe(world, "weather", "Today's weather (and, new, forecasts).")
    assert tool_names(world) == set()  # blocked until the owner approves again
    assert tool_names(world) == set()  # seen again: still one incident
    with httpx.Client(base_url=world["url"], timeout=30) as http:
        token = http.post("/v1/auth/token", json={"api_key": world["viewer"]}).json()
        answer = http.get(
            "/v1/incidents",
            params={"subject_kind": "mcp_server"},
            headers=bearer(token["access_token"]),
        )
        assert answer.status_code == 200
        listed = answer.json()
        assert len(listed) == 1
        inc = listed[0]
        assert (inc["subject_kind"], inc["subject"], inc["about"]) == (
            "mcp_server",
            "files",
            "MCP server files",
        )
        assert (inc["owner"], inc["status"], inc["model"], inc["project"]) == (
            OWNER,
            "open",
            None,
            "default",
        )
        assert inc["trigger"] == "tool_definition_changed" and inc["kind"] == "security"
        one = http.get(f"/v1/incidents/{inc['id']}", headers=bearer(token["access_token"]))
        assert one.json()["evidence"]["tool"] == "weather"
        # The dashboard lists it with its subject, and the filter by subject kind keeps it.
        assert login(http, world["viewer"]).status_code in (200, 303)
        page = http.get("/ui/incidents", params={"subject_kind": "mcp_server"})
        assert page.status_code == 200
        assert f'data-incident="{inc["id"]}"' in page.text
        assert 'data-subject-kind="mcp_server">MCP server files<' in page.text
        models_only = http.get("/ui/incidents", params={"subject_kind": "model"}).text
        assert f'data-incident="{inc["id"]}"' not in models_only
        inventory = http.get("/ui/").text
        assert 'data-severity="high"><strong>1</strong>' in inventory
        # No model row counts it, so the summary says why its count is not theirs.
        assert 'id="incidents-without-model">1 of them about an MCP server' in inventory
        admin = keys.create_key(world["ws"], project="*", role="admin", actor="root")[1]
        scrape = http.post("/v1/auth/token", json={"api_key": admin}).json()["access_token"]
        metrics = http.get("/metrics", headers=bearer(scrape)).text
        assert (
            'aims_incidents_open{project="default",severity="high",subject="files",'
            'subject_kind="mcp_server"} 1.0'
        ) in metrics
    # The CLI, a client of the same server.
    monkeypatch.setenv("AIMS_URL", world["url"])
    monkeypatch.setenv("AIMS_API_KEY", world["viewer"])
    command = build()
    result = CliRunner().invoke(command, ["incidents", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert [(i["id"], i["owner"]) for i in json.loads(result.output)] == [(inc["id"], OWNER)]
    shown = CliRunner().invoke(command, ["incidents", "show", str(inc["id"])])
    assert shown.exit_code == 0 and "MCP server files" in shown.output


def test_a_burst_of_the_agents_refusals_is_filed_about_the_agent(world: dict[str, Any]) -> None:
    from aims.services import audit
    from aims.services.monitor import incidents
    from aims.services.monitor.refusals import scan_refusals

    for _ in range(4):
        error, _text = call(world, "files__echo", {"text": "not allowed"})
        assert error

    def noted() -> int:
        events = audit.query(world["ws"].db, audit.EventFilter(action="server.access.denied"))
        return sum(e["payload"]["count"] for e in events if e["subject"] == "bot")

    wait_until(lambda: noted() >= 4, timeout=30)
    out = scan_refusals(world["ws"])
    assert len(out["opened"]) == 1
    inc = incidents.show_incident(world["ws"], out["opened"][0])
    assert (inc["subject_kind"], inc["subject"], inc["owner"]) == ("agent", "bot", DEV)
    assert inc["model"] is None and inc["kind"] == "security"
