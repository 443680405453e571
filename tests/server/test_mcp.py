"""aims as an MCP server: the SDK's own client over HTTP against a real server on loopback.

One server for the module. Its workspace holds models ``churn`` and ``fraud``
(versions 1 in production and 2 in none) of project ``default`` and model
``secret`` of project ``other``; only the proposal test changes ``fraud``; person ``alice@x.org`` owns two agents: ``reader-bot``
(viewer) and ``proposer-bot`` (scientist), both of project ``default``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import httpx2
import jwt
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.server.conftest import (
    ACTOR,
    OWNERS,
    LiveServer,
    bearer,
    new_workspace,
    register_tiny,
    run_coroutine,
    wait_until,
)

OWNER = "alice@x.org"
MCP_TOOLS = {
    "list_models",
    "describe_model",
    "describe_version",
    "gate_results",
    "monitoring_summary",
    "list_incidents",
    "evidence_summary",
    "open_incident",
    "request_promotion",
    "request_rollback",
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, tiny_files: dict[str, Any]) -> Iterator[dict]:
    from aims.server.assembly import build_server
    from aims.services import identity, keys, lifecycle, registry
    from aims.storage.schema import Model

    ws = new_workspace(tmp_path_factory.mktemp("mcp"))
    register_tiny(ws, tiny_files, "churn", "model", "model2")
    registry.register_model(
        ws, tiny_files["model"], "secret", actor=ACTOR, datasets=["tiny@1"], owners=OWNERS
    )
    for key in ("model", "model2"):  # proposals act on fraud, so reads of churn never change
        registry.register_model(
            ws, tiny_files[key], "fraud", actor=ACTOR, datasets=["tiny@1"], owners=OWNERS
        )
    with ws.db.session() as s:
        s.query(Model).filter(Model.name == "secret").update({"project": "other"})
    lifecycle.promote(ws, "churn@1", "production", actor=ACTOR)
    lifecycle.promote(ws, "fraud@1", "production", actor=ACTOR)
    identity.add_principal(ws, OWNER, kind="human", actor="root")
    identity.grant(ws, OWNER, role="admin", project="default", actor="root")
    made = {}
    for bot, role in (("reader-bot", "viewer"), ("proposer-bot", "scientist")):
        identity.add_principal(ws, bot, kind="agent", owner=OWNER, actor="root")
        identity.grant(ws, bot, role=role, project="default", actor="root")
        made[bot] = keys.create_key(ws, project="default", role=role, actor="root", principal=bot)[
            1
        ]
    app = build_server(ws)
    with LiveServer(app) as server:
        yield {"ws": ws, "url": server.url, "keys": made}


def token_for(served: dict, bot: str) -> str:
    """A token for ``/mcp`` with every scope ``bot``'s role allows (one exchange per bot:
    exchanges are rate-limited per client address)."""
    cache = served.setdefault("tokens", {})
    if bot not in cache:
        form = {"grant_type": "client_credentials", "resource": served["url"] + "/mcp"}
        r = httpx.post(
            served["url"] + "/oauth/token", data=form, auth=(bot, served["keys"][bot]), timeout=30
        )
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        cache[bot] = str(r.json()["access_token"])
    return str(cache[bot])


def mcp(served: dict, token: str, work: Any) -> Any:
    """Run ``work(client)`` in an MCP client session that sends ``token``."""

    async def main() -> Any:
        http = httpx2.AsyncClient(headers=bearer(token) if token else {}, timeout=30)
        async with (
            http,
            Client(
                streamable_http_client(served["url"] + "/mcp", http_client=http), cache=None
            ) as client,
        ):
            return await work(client)

    return run_coroutine(main)


def refused_by_sdk(served: dict, token: str, work: Any) -> str:
    """The error the SDK's client raises when the server refuses ``work`` at the HTTP level."""
    from mcp.shared.exceptions import MCPError

    with pytest.raises(BaseException) as caught:
        mcp(served, token, work)
    error: BaseException = caught.value
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    assert isinstance(error, MCPError), repr(error)
    return str(error)


class Memory:
    """Token storage of the SDK's OAuth client, in memory."""

    def __init__(self) -> None:
        self.tokens: Any = None
        self.client: Any = None

    async def get_tokens(self) -> Any:
        return self.tokens

    async def set_tokens(self, tokens: Any) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> Any:
        return self.client

    async def set_client_info(self, client_info: Any) -> None:
        self.client = client_info


def raw_call(served: dict, token: str | None, name: str, arguments: dict) -> httpx.Response:
    """A ``tools/call`` as plain HTTP, to read the status and headers the SDK client hides."""
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-11-25",
    }
    if token is not None:
        headers.update(bearer(token))
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }
    return httpx.post(served["url"] + "/mcp", json=body, headers=headers, timeout=30)


def test_metadata_names_the_resource_its_server_and_scopes(served: dict) -> None:
    url = served["url"]
    for path in (
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ):
        doc = httpx.get(url + path).json()
        assert doc["resource"] == url + "/mcp"
        assert doc["authorization_servers"] == [url]
        assert doc["scopes_supported"] == ["aims:read", "aims:propose"]
        assert doc["bearer_methods_supported"] == ["header"]
    server = httpx.get(url + "/.well-known/oauth-authorization-server").json()
    assert server["issuer"] == url
    assert server["token_endpoint"] == url + "/oauth/token"
    assert server["grant_types_supported"] == ["client_credentials"]


def test_no_token_is_refused_with_the_metadata_address(served: dict) -> None:
    r = raw_call(served, None, "list_models", {})
    assert r.status_code == 401
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert (
        f'resource_metadata="{served["url"]}/.well-known/oauth-protected-resource/mcp"' in challenge
    )
    # The SDK's client sees the refusal too.
    assert "error" in refused_by_sdk(served, "", lambda c: c.list_tools())


def test_tokens_for_another_audience_or_expired_are_refused(served: dict) -> None:
    from aims.server.config import token_secret

    ws, url = served["ws"], served["url"]
    api = httpx.post(url + "/v1/auth/token", json={"api_key": served["keys"]["reader-bot"]})
    ordinary = api.json()["access_token"]
    secret = token_secret(ws)
    now = int(time.time())
    claims = {"iss": "aims", "sub": "k000000000000", "prj": "default", "role": "viewer"}
    claims |= {"scope": "aims:read", "iat": now, "exp": now + 600}
    elsewhere = jwt.encode({**claims, "aud": "https://elsewhere.example/mcp"}, secret, "HS256")
    expired = jwt.encode(
        {**claims, "aud": url + "/mcp", "iat": now - 1200, "exp": now - 300}, secret, "HS256"
    )
    for token, why in ((ordinary, "not for this resource"), (elsewhere, "not for this resource")):
        r = raw_call(served, token, "list_models", {})
        assert r.status_code == 401, r.text
        assert 'error="invalid_token"' in r.headers["www-authenticate"]
        assert why in r.json()["detail"]
    r = raw_call(served, expired, "list_models", {})
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    assert "error" in refused_by_sdk(served, expired, lambda c: c.list_tools())
    # And an MCP token opens nothing else: the API refuses any token with an audience.
    good = token_for(served, "reader-bot")
    assert httpx.get(url + "/v1/models", headers=bearer(good)).status_code == 401
    assert httpx.get(url + "/v1/registry/models", headers=bearer(good)).status_code in (401, 404)


def test_the_sdk_oauth_client_discovers_the_server_and_gets_its_own_token(served: dict) -> None:
    """Protected resource metadata, authorization server metadata and token endpoint, as the
    SDK's client credentials flow reads them, with no token given to it."""
    from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider

    url = served["url"]
    storage = Memory()
    provider = ClientCredentialsOAuthProvider(
        server_url=url + "/mcp",
        storage=storage,
        client_id="reader-bot",
        client_secret=served["keys"]["reader-bot"],
        scope="aims:read",
        issuer=url,
    )

    async def main() -> Any:
        http = httpx2.AsyncClient(auth=provider, timeout=30)
        async with (
            http,
            Client(streamable_http_client(url + "/mcp", http_client=http), cache=None) as client,
        ):
            return await client.call_tool("list_models", {})

    result = run_coroutine(main)
    assert [m["name"] for m in result.structured_content["items"]] == ["churn", "fraud"]
    claims = jwt.decode(storage.tokens.access_token, options={"verify_signature": False})
    assert claims["aud"] == url + "/mcp" and claims["scope"] == "aims:read"


def test_a_revoked_key_s_tokens_are_refused(served: dict) -> None:
    from aims.services import keys

    ws = served["ws"]
    made, key = keys.create_key(
        ws, project="default", role="viewer", actor="root", principal="reader-bot"
    )
    form = {"grant_type": "client_credentials", "resource": served["url"] + "/mcp"}
    r = httpx.post(served["url"] + "/oauth/token", data={**form, "client_secret": key})
    token = r.json()["access_token"]
    assert raw_call(served, token, "list_models", {}).status_code == 200
    keys.revoke_key(ws, made["key_id"], actor="root", reason="leaked")

    # The server reads revocations at its next poll of the store.
    def refused() -> httpx.Response | None:
        r = raw_call(served, token, "list_models", {})
        return r if r.status_code == 401 else None

    assert "revoked" in wait_until(refused).json()["detail"]
    again = httpx.post(served["url"] + "/oauth/token", data={**form, "client_secret": key})
    assert again.status_code == 401 and again.json()["error"] == "invalid_client"


def test_token_endpoint_bounds_scopes_by_role_and_caps_the_lifetime(served: dict) -> None:
    url = served["url"]
    form = {"grant_type": "client_credentials", "resource": url + "/mcp", "scope": "aims:propose"}
    r = httpx.post(
        url + "/oauth/token", data=form, auth=("reader-bot", served["keys"]["reader-bot"])
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    assert "viewer" in r.json()["error_description"]
    both = {**form, "scope": "aims:read aims:propose"}
    r = httpx.post(
        url + "/oauth/token", data=both, auth=("reader-bot", served["keys"]["reader-bot"])
    )
    assert r.status_code == 200 and r.json()["scope"] == "aims:read"
    r = httpx.post(
        url + "/oauth/token",
        data={**form, "resource": "https://elsewhere.example/mcp"},
        auth=("proposer-bot", served["keys"]["proposer-bot"]),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_target"
    r = httpx.post(
        url + "/oauth/token", data=form, auth=("proposer-bot", "aims.k000000000000.nope")
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = httpx.post(
        url + "/oauth/token",
        data={**form, "grant_type": "password"},
        auth=("proposer-bot", served["keys"]["proposer-bot"]),
    )
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    proposer = served["keys"]["proposer-bot"]
    for sent, error in (
        ({"json": {**form, "client_secret": proposer}}, "invalid_request"),  # not a form
        ({"data": {**form, "client_secret": proposer}, "auth": ("x", proposer)}, "invalid_request"),
        (
            {"data": {"grant_type": "client_credentials", "client_secret": proposer}},
            "invalid_request",
        ),
        (
            {"data": {**form, "client_secret": proposer, "client_id": "reader-bot"}},
            "invalid_client",
        ),
        ({"data": {**form, "client_secret": "x" * 5000}}, "invalid_client"),
        ({"data": {**form, "scope": "aims:admin", "client_secret": proposer}}, "invalid_scope"),
    ):
        r = httpx.post(url + "/oauth/token", **sent)
        assert r.status_code in (400, 401) and r.json()["error"] == error, (sent, r.text)
    r = httpx.get(url + "/oauth/authorize", params={"response_type": "code"})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_response_type"
    body = httpx.post(
        url + "/oauth/token", data=form, auth=("proposer-bot", served["keys"]["proposer-bot"])
    ).json()
    assert body["scope"] == "aims:propose" and 0 < body["expires_in"] <= 900
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == url + "/mcp" and claims["exp"] - claims["iat"] <= 900


def test_a_read_scoped_agent_reads_only_its_projects(served: dict) -> None:
    token = token_for(served, "reader-bot")

    async def work(client: Any) -> Any:
        listed = await client.list_tools()
        models = await client.call_tool("list_models", {})
        described = await client.call_tool("describe_version", {"model": "churn", "version": 1})
        gates = await client.call_tool("gate_results", {"model": "churn", "version": 2})
        summary = await client.call_tool("monitoring_summary", {"model": "churn"})
        evidence = await client.call_tool("evidence_summary", {"model": "churn"})
        hidden = await client.call_tool("describe_model", {"model": "secret"})
        bad = await client.call_tool("describe_version", {"model": "churn", "version": "1"})
        extra = await client.call_tool("list_models", {"project": "other"})
        return listed, models, described, gates, summary, evidence, hidden, bad, extra

    listed, models, described, gates, summary, evidence, hidden, bad, extra = mcp(
        served, token, work
    )
    assert {t.name for t in listed.tools} == MCP_TOOLS
    assert not any("approve" in t.name for t in listed.tools)
    assert all(t.input_schema.get("additionalProperties") is False for t in listed.tools)
    assert [m["name"] for m in models.structured_content["items"]] == ["churn", "fraud"]
    assert described.structured_content["stage"] == "production"
    assert described.structured_content["lineage"]["made_from"][0]["ref"] == "tiny@1"
    assert gates.structured_content["stage"] == "production" and "rules" in gates.structured_content
    assert summary.structured_content["window"] is None
    assert evidence.structured_content["version"] == 1
    assert hidden.is_error and "not registered" in hidden.content[0].text
    assert bad.is_error and "version" in bad.content[0].text and "integer" in bad.content[0].text
    assert extra.is_error and "project" in extra.content[0].text


def test_an_unknown_tool_is_a_protocol_error_and_audited(served: dict) -> None:
    from aims.services import audit

    token = token_for(served, "proposer-bot")
    r = raw_call(served, token, "approve_promotion_request", {"id": 1, "note": "ana@x.org"})
    assert r.status_code == 200
    assert r.json()["error"]["code"] == -32602
    assert "unknown tool" in r.json()["error"]["message"]
    last = audit.query(served["ws"].db, audit.EventFilter(action="mcp.tool.refused"))[-1]
    assert last["payload"]["tool"] == "approve_promotion_request"
    assert last["payload"]["arguments"]["note"].startswith("hmac:")


def test_a_call_without_the_scope_is_refused_with_insufficient_scope(served: dict) -> None:
    from aims.services import audit

    token = token_for(served, "reader-bot")
    args = {"model": "churn", "version": 2, "stage": "production", "reason": "call me at 555-0100"}
    r = raw_call(served, token, "request_promotion", args)
    assert r.status_code == 403
    challenge = r.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="aims:propose"' in challenge
    assert "resource_metadata=" in challenge
    assert "error" in refused_by_sdk(
        served, token, lambda c: c.call_tool("request_promotion", args)
    )
    refused = audit.query(served["ws"].db, audit.EventFilter(action="mcp.tool.refused"))
    last = refused[-1]
    assert last["actor"] == "reader-bot" and last["payload"]["owner"] == OWNER
    assert last["payload"]["tool"] == "request_promotion"
    assert last["payload"]["arguments"]["model"] == "churn"
    assert last["payload"]["arguments"]["reason"].startswith("hmac:")
    assert "555-0100" not in str(refused)


def test_a_proposal_waits_for_a_person_and_the_agent_cannot_approve(served: dict) -> None:
    from aims.errors import PermissionDenied
    from aims.services import audit, promotion_requests, registry

    ws, url = served["ws"], served["url"]
    token = token_for(served, "proposer-bot")
    args = {"model": "fraud", "version": 2, "stage": "production", "reason": "better recall"}

    async def propose(client: Any) -> Any:
        opened = await client.call_tool("request_promotion", args)
        again = await client.call_tool("request_promotion", args)
        incident = await client.call_tool(
            "open_incident", {"model": "fraud", "summary": "odd outputs", "severity": "low"}
        )
        foreign = await client.call_tool(
            "request_promotion", {**args, "model": "secret", "version": 1}
        )
        return opened, again, incident, foreign

    opened, again, incident, foreign = mcp(served, token, propose)
    request = opened.structured_content
    assert request["status"] == "open" and request["requested_by"] == "proposer-bot"
    assert request["new"] and not again.structured_content["new"]
    assert again.structured_content["id"] == request["id"]
    assert registry.show_version(ws, "fraud@2")["stage"] != "production"  # nothing moved
    assert incident.structured_content["owner"] == OWNERS["monitoring"]
    assert incident.structured_content["status"] == "open"
    assert foreign.is_error and "not registered" in foreign.content[0].text
    # The agent's MCP token approves nothing on the API, no tool decides a request,
    # and the service refuses the agent as the decider.
    approve = httpx.post(
        f"{url}/v1/models/fraud/versions/2/approvals", json={}, headers=bearer(token)
    )
    assert approve.status_code == 401
    with pytest.raises(PermissionDenied, match="agents never decide"):
        promotion_requests.decide(ws, request["id"], actor="proposer-bot", approve=True)
    assert request["id"] in [r["id"] for r in promotion_requests.list_requests(ws, status="open")]
    decided = promotion_requests.decide(ws, request["id"], actor=OWNER, approve=True)
    assert decided["status"] == "approved" and decided["decided_by"] == OWNER
    assert registry.show_version(ws, "fraud@2")["stage"] == "production"

    # Now version 1 is the one before: a rollback request proposes it, and moves nothing.
    async def roll_back(client: Any) -> Any:
        return await client.call_tool("request_rollback", {"model": "fraud", "reason": "alerts"})

    rollback = mcp(served, token, roll_back).structured_content
    assert (rollback["version"], rollback["stage"], rollback["status"]) == (1, "production", "open")
    assert rollback["reason"] == "rollback from version 2: alerts"
    assert registry.show_version(ws, "fraud@2")["stage"] == "production"

    calls = audit.query(ws.db, audit.EventFilter(action="mcp.tool.call"))
    mine = [e for e in calls if e["actor"] == "proposer-bot"]
    assert {e["payload"]["tool"] for e in mine} >= {"request_promotion", "open_incident"}
    assert all(e["payload"]["owner"] == OWNER for e in mine)
    outcomes = {e["payload"]["tool"]: e["payload"]["outcome"] for e in mine}
    assert outcomes["open_incident"] == outcomes["request_rollback"] == "ok"
