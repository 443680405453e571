"""The gateway's administration over the governance API, against a real server on loopback.

One team-mode workspace is served for the module. Project ``default`` has ana
(admin), vic (viewer), owen (viewer, the owner of the servers) and rita
(approver); bob is admin of project ``beta``; sam is admin of every project;
report-bot is an agent owned by owen holding the scientist role on ``default``.
Each test works on servers of its own, so the tests do not depend on each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from aims.server.app import create_app
from aims.services import audit, identity, keys
from aims.services.gateway import calls, inventory, pins
from tests.server.conftest import LiveServer, bearer

PEOPLE = {
    "ana@x.org": ("default", "admin"),
    "vic@x.org": ("default", "viewer"),
    "owen@x.org": ("default", "viewer"),
    "rita@x.org": ("default", "approver"),
    "bob@x.org": ("beta", "admin"),
    "sam@x.org": ("*", "admin"),
}
TOOL = {"name": "read_file", "description": "Read a file.", "inputSchema": {"type": "object"}}


class Served:
    """The served workspace, and a client per principal (made on first use)."""

    def __init__(self, ws: Any, url: str, app: Any) -> None:
        self.ws, self.url, self.app = ws, url, app
        self._clients: dict[str, httpx.Client] = {}
        self.key_ids: dict[str, str] = {}

    def __call__(self, who: str) -> httpx.Client:
        if who not in self._clients:
            project, role = PEOPLE.get(who, ("default", "scientist"))
            made, key = keys.create_key(
                self.ws, project=project, role=role, actor="root", principal=who
            )
            self.key_ids[who] = made["key_id"]
            r = httpx.post(f"{self.url}/v1/auth/token", json={"api_key": key}, timeout=30)
            assert r.status_code == 200, r.text
            token = r.json()["access_token"]
            self._clients[who] = httpx.Client(base_url=self.url, timeout=30, headers=bearer(token))
        return self._clients[who]

    def close(self) -> None:
        for c in self._clients.values():
            c.close()

    def server(self, name: str) -> dict[str, Any]:
        """Register server ``name`` of project default, owned by owen (as a local admin would)."""
        return inventory.add_server(
            self.ws, name, owner="owen@x.org", url=f"https://{name}.example/mcp", actor="root"
        )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    import yaml

    from aims.workspace import Workspace, init_workspace

    root = init_workspace(tmp_path_factory.mktemp("gwadmin") / "ws")
    config = yaml.safe_load((root / "aims.yaml").read_text())
    (root / "aims.yaml").write_text(yaml.safe_dump({**config, "identity": "team"}))
    ws = Workspace.open(root)
    for who, (project, role) in PEOPLE.items():
        identity.add_principal(ws, who, kind="human", actor="root")
        identity.grant(ws, who, role=role, project=project, actor="root")
    identity.add_principal(ws, "report-bot", kind="agent", owner="owen@x.org", actor="root")
    identity.grant(ws, "report-bot", role="scientist", project="default", actor="root")
    keys.create_key(ws, project="default", role="viewer", actor="root", principal="vic@x.org")
    try:
        app = create_app(ws)
        with LiveServer(app) as live:
            s = Served(ws, live.url, app)
            yield s
            s.close()
    finally:
        ws.close()


def _detail(r: httpx.Response) -> str:
    assert r.headers["content-type"] == "application/problem+json", r.text
    return str(r.json()["detail"])


def _refused(
    served: Served, who: str, call: Callable[[httpx.Client], httpx.Response]
) -> tuple[httpx.Response, dict[str, dict[str, int]]]:
    """The answer to ``call`` with ``who``'s client, and the refusals of ``who``'s key it noted.

    The refusals are those of the ``server.access.denied`` events written after
    the call, as ``{path: {reason: count}}`` (what was noted before is written first).
    """
    client = served(who)
    events = served.app.state.aims.guard.events
    events.flush(served.ws)
    head, _ = audit.head_of(served.ws.db)
    answer = call(client)
    events.flush(served.ws)
    noted: dict[str, dict[str, int]] = {}
    after = audit.EventFilter(
        action="server.access.denied",
        subject=f"apikey:{served.key_ids[who]}",
        after=head[0] if head else 0,
    )
    for e in audit.query(served.ws.db, after):
        for path in e["payload"]["paths"]:
            for reason, n in e["payload"]["reasons"].items():
                noted.setdefault(path, {})[reason] = noted.get(path, {}).get(reason, 0) + n
    return answer, noted


def _names(rows: list[dict[str, Any]], key: str = "name") -> set[str]:
    return {r[key] for r in rows}


def test_servers_are_added_listed_and_removed_by_admins_of_their_project(served: Served) -> None:
    body = {"name": "files", "url": "https://files.example/mcp", "owner": "owen@x.org"}
    r = served("ana@x.org").post("/v1/gateway/servers", json=body)
    assert r.status_code == 201, r.text
    added = r.json()
    assert (added["name"], added["owner"], added["project"], added["transport"]) == (
        "files",
        "owen@x.org",
        "default",
        "http",
    )
    [event] = audit.query(
        served.ws.db, audit.EventFilter(action="gateway.server.add", subject="mcp:files")
    )
    assert event["actor"] == "ana@x.org"

    # A viewer of the project reads the inventory; a key of project beta sees none of it.
    shown = served("vic@x.org").get("/v1/gateway/servers").json()
    assert shown == [r for r in inventory.list_servers(served.ws) if r["project"] == "default"]
    assert "files" in _names(shown)
    assert "files" not in _names(served("bob@x.org").get("/v1/gateway/servers").json())
    before = inventory.list_servers(served.ws)

    # Refusals leave the inventory as it was.
    refused = served("vic@x.org").post("/v1/gateway/servers", json={**body, "name": "more"})
    assert refused.status_code == 403 and "admin role" in _detail(refused)
    hidden = served("bob@x.org").delete("/v1/gateway/servers/files")
    assert hidden.status_code == 404 and "no server named files" in _detail(hidden)
    both = served("ana@x.org").post(
        "/v1/gateway/servers", json={**body, "name": "more", "command": "more-mcp"}
    )
    assert both.status_code == 422 and "one of the two" in _detail(both)
    unknown = served("ana@x.org").post("/v1/gateway/servers", json={**body, "token": "s3cret"})
    assert unknown.status_code == 422 and "token" in str(unknown.json())
    cut = served("ana@x.org").post(
        "/v1/gateway/servers",
        content=b'{"name": "more",',
        headers={"content-type": "application/json"},
    )
    assert (
        cut.status_code in (400, 422) and cut.headers["content-type"] == "application/problem+json"
    )
    nul = served("ana@x.org").post(
        "/v1/gateway/servers", json={**body, "name": "more", "url": "https://a\u0000b/mcp"}
    )
    assert nul.status_code == 422 and "control characters" in str(nul.json())
    taken, noted = _refused(served, "ana@x.org", lambda c: c.post("/v1/gateway/servers", json=body))
    assert taken.status_code == 409 and "already registered" in _detail(taken)
    assert noted == {"/v1/gateway/servers": {"already_registered": 1}}
    # A command runs, and a credential is read, on the server's host: admin of every project.
    for extra in ({"credential": "env:FILES_TOKEN"}, {"url": None, "command": "more-mcp"}):
        r = served("ana@x.org").post("/v1/gateway/servers", json={**body, "name": "more", **extra})
        assert r.status_code == 403 and "admin role on every project" in _detail(r)
    assert inventory.list_servers(served.ws) == before

    stdio = {"name": "local", "command": "local-mcp --readonly", "owner": "owen@x.org"}
    r = served("sam@x.org").post("/v1/gateway/servers", json=stdio)
    assert r.status_code == 201 and r.json()["transport"] == "stdio", r.text

    gone = served("ana@x.org").delete("/v1/gateway/servers/files")
    assert gone.status_code == 200 and gone.json()["name"] == "files"
    assert "files" not in _names(inventory.list_servers(served.ws))
    assert served("ana@x.org").delete("/v1/gateway/servers/files").status_code == 404


def test_allow_lists_are_edited_by_admins_and_read_by_viewers_of_the_servers_project(
    served: Served,
) -> None:
    served.server("tickets")
    entry = {
        "agent": "report-bot",
        "server": "tickets",
        "tool": "open",
        "constraints": {"ticket": {"pattern": "^OPS-[0-9]+$"}},
    }
    r = served("ana@x.org").post("/v1/gateway/allowed", json=entry)
    assert r.status_code == 200, r.text
    assert r.json() == entry
    rows = served("vic@x.org").get("/v1/gateway/allowed", params={"agent": "report-bot"}).json()
    assert entry in rows
    assert "tickets" not in _names(served("bob@x.org").get("/v1/gateway/allowed").json(), "server")

    before = served("vic@x.org").get("/v1/gateway/allowed").json()
    assert served("vic@x.org").post("/v1/gateway/allowed", json=entry).status_code == 403
    hidden = served("bob@x.org").post("/v1/gateway/allowed", json=entry)
    assert hidden.status_code == 404 and "no server named tickets" in _detail(hidden)
    bad = served("ana@x.org").post(
        "/v1/gateway/allowed", json={**entry, "constraints": {"ticket": {"longest": 3}}}
    )
    assert bad.status_code == 422 and "unknown rule 'longest'" in _detail(bad)
    person = served("ana@x.org").post("/v1/gateway/allowed", json={**entry, "agent": "vic@x.org"})
    assert person.status_code == 422 and "is not an agent principal" in _detail(person)
    assert served("vic@x.org").get("/v1/gateway/allowed").json() == before

    revoke = {k: entry[k] for k in ("agent", "server", "tool")}
    assert served("bob@x.org").post("/v1/gateway/allowed/revoke", json=revoke).status_code == 404
    r = served("ana@x.org").post("/v1/gateway/allowed/revoke", json=revoke)
    assert r.status_code == 200 and r.json() == revoke
    again = served("ana@x.org").post("/v1/gateway/allowed/revoke", json=revoke)
    assert again.status_code == 404 and "no allow-list entry" in _detail(again)


def test_a_pin_is_approved_by_its_servers_owner_and_by_no_agent(served: Served) -> None:
    served.server("docs")
    assert pins.observe(served.ws, "docs", [TOOL]) == {"read_file": "new"}
    [pin] = served("vic@x.org").get("/v1/gateway/pins", params={"server": "docs"}).json()
    assert (pin["server"], pin["tool"], pin["status"]) == ("docs", "read_file", "new")
    assert served("bob@x.org").get("/v1/gateway/pins", params={"server": "docs"}).status_code == 404
    assert "docs" not in _names(served("bob@x.org").get("/v1/gateway/pins").json(), "server")

    body = {"server": "docs", "tool": "read_file"}
    agent = served("report-bot").post("/v1/gateway/pins/approve", json=body)
    assert agent.status_code == 403
    assert "report-bot is an agent; a person must approve" in _detail(agent)
    # The refusal is noted for the audit log under the agent's key, with its reason.
    served.app.state.aims.guard.events.flush(served.ws)
    noted = audit.query(served.ws.db, audit.EventFilter(action="server.access.denied"))
    assert any(
        e["payload"].get("reasons", {}).get("not_a_person")
        and "/v1/gateway/pins/approve" in e["payload"]["paths"]
        for e in noted
    )
    # The service's own rules are noted too: only the owner approves, and only once.
    admin, noted = _refused(
        served, "ana@x.org", lambda c: c.post("/v1/gateway/pins/approve", json=body)
    )
    assert admin.status_code == 403 and "only owen@x.org, the owner" in _detail(admin)
    assert noted == {"/v1/gateway/pins/approve": {"not_the_owner": 1}}
    assert served("bob@x.org").post("/v1/gateway/pins/approve", json=body).status_code == 404
    missing = served("owen@x.org").post("/v1/gateway/pins/approve", json={"server": "docs"})
    assert missing.status_code == 422
    assert pins.list_pins(served.ws, "docs")[0]["status"] == "new"

    r = served("owen@x.org").post("/v1/gateway/pins/approve", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["sha256"] == pin["seen_sha256"]
    [event] = audit.query(
        served.ws.db, audit.EventFilter(action="gateway.pin.approve", subject="mcp:docs/read_file")
    )
    assert event["actor"] == "owen@x.org"
    again, noted = _refused(
        served, "owen@x.org", lambda c: c.post("/v1/gateway/pins/approve", json=body)
    )
    assert again.status_code == 409 and "already approved" in _detail(again)
    assert noted == {"/v1/gateway/pins/approve": {"already_approved": 1}}
    assert len(audit.query(served.ws.db, audit.EventFilter(action="gateway.pin.approve"))) == 1


def test_a_waiting_call_is_decided_by_a_person_of_its_project(served: Served) -> None:
    served.server("payments")
    waiting = {
        "agent": "report-bot",
        "owner": "owen@x.org",
        "server": "payments",
        "tool": "transfer",
        "timeout_seconds": 600,
    }
    first = calls.file_call(served.ws, arguments={"amount": 90}, **waiting)
    second = calls.file_call(served.ws, arguments={"amount": 99}, **waiting)
    pending = served("vic@x.org").get("/v1/gateway/calls").json()
    assert {first, second} <= _names(pending, "id")
    assert [c["arguments"] for c in pending if c["id"] == first] == [{"amount": 90}]
    assert not {first, second} & _names(served("bob@x.org").get("/v1/gateway/calls").json(), "id")

    url = f"/v1/gateway/calls/{first}/approve"
    low = served("vic@x.org").post(url, json={"note": "fine"})
    assert low.status_code == 403 and "approver role" in _detail(low)
    agent = served("report-bot").post(url, json={"note": "fine"})
    assert agent.status_code == 403
    assert "report-bot is an agent; a person must approve a waiting call" in _detail(agent)
    assert served("bob@x.org").post(url, json={}).status_code == 404
    bad = served("rita@x.org").post(url, json={"note": 5})
    assert bad.status_code == 422
    assert served("rita@x.org").post("/v1/gateway/calls/first/approve", json={}).status_code == 422
    assert calls.call_status(served.ws, first) == "pending"

    r = served("rita@x.org").post(url, json={"note": "within the limit"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["decided_by"]) == ("approved", "rita@x.org")
    [event] = audit.query(
        served.ws.db, audit.EventFilter(action="gateway.call.approve", actor="rita@x.org")
    )
    assert event["payload"]["call"] == first
    denied = served("rita@x.org").post(f"/v1/gateway/calls/{second}/deny", json={})
    assert denied.status_code == 200 and denied.json()["status"] == "denied"
    twice, noted = _refused(served, "rita@x.org", lambda c: c.post(url, json={}))
    assert twice.status_code == 409 and "only a pending call" in _detail(twice)
    assert noted == {url: {"not_pending": 1}}
    every = served("vic@x.org").get("/v1/gateway/calls", params={"status": "all"}).json()
    assert {c["id"]: c["status"] for c in every if c["id"] in (first, second)} == {
        first: "approved",
        second: "denied",
    }

    # Neither an agent's owner nor the agent decides the agent's call, and the refusal is noted.
    identity.add_principal(served.ws, "rita-bot", kind="agent", owner="rita@x.org", actor="root")
    own = calls.file_call(
        served.ws,
        agent="rita-bot",
        owner="rita@x.org",
        server="payments",
        tool="transfer",
        arguments={"amount": 5},
        timeout_seconds=600,
    )
    deny = f"/v1/gateway/calls/{own}/deny"
    mine, noted = _refused(served, "rita@x.org", lambda c: c.post(deny, json={}))
    assert mine.status_code == 403 and "never approve the agent's own calls" in _detail(mine)
    assert noted == {deny: {"agent_or_its_owner": 1}}
    assert calls.call_status(served.ws, own) == "pending"
