"""``/gateway/mcp``: the one MCP endpoint agents call to reach the organisation's MCP servers.

Streamable HTTP without sessions: each ``POST`` carries one JSON-RPC message
and is answered with one JSON body (``202`` for a notification). The gateway
speaks the methods a tool-using agent needs: ``initialize``, ``ping``,
``tools/list`` and ``tools/call``; anything else is answered "method not
found". ``GET`` (a server-to-client stream) is not offered (``405``).

Every request needs a bearer token for this endpoint's own resource (an
audience-bound MCP token, :func:`aims.server.mcp.oauth.check_token`), of a key
that acts for an enabled agent principal. The token is checked here and goes
no further: upstream servers see only the gateway's own credentials.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.requests import Request

from aims.errors import PermissionDenied, StoreUnavailable
from aims.server.fastpath import respond
from aims.server.gateway.catalog import Agent
from aims.server.gateway.proxy import GatewayProxy
from aims.server.gateway.recorder import GatewayMetrics
from aims.server.gateway.wire import dumps, loads
from aims.server.mcp.oauth import app_tokens, check_token, resource_of
from aims.server.validation import BodyTooLarge, declared_length, read_body, too_large
from aims.services.gateway.policy import gateway_policy

__all__ = ["GATEWAY_PATH", "PROTOCOL_VERSIONS", "mount_gateway"]

GATEWAY_PATH = "/gateway/mcp"
"""Where the gateway is mounted on ``aims serve``; its resource is the origin plus this path."""

PROTOCOL_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26")
"""MCP revisions the gateway answers, newest first; a client asking for another gets the newest."""

Answer = tuple[int, dict[str, Any] | None]
"""An HTTP status and the JSON-RPC message to answer with (None: no body)."""


def _rpc_error(request_id: Any, code: int, message: str) -> Answer:
    return 200, {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def _rpc_result(request_id: Any, result: dict[str, Any]) -> Answer:
    return 200, {"jsonrpc": "2.0", "id": request_id, "result": result}


RESOURCES = 64
"""How many origins' resource URIs the endpoint remembers (a ``Host`` header is the
caller's to choose: past this, it forgets them all and starts again)."""

_JSON = [(b"content-type", b"application/json")]
_ALLOW = [(b"allow", b"POST")]


def _origin(scope: Any) -> tuple[Any, ...]:
    """What the resource URI of a request depends on (see :func:`resource_of`)."""
    host = next((v for k, v in scope["headers"] if k == b"host"), None)
    root = scope.get("app_root_path", scope.get("root_path", ""))
    return scope.get("scheme"), scope.get("server"), host, root


class GatewayEndpoint:
    """The endpoint's handler, answering in front of the server's stack
    (:class:`~aims.server.fastpath.PredictFront`, which has already checked the
    client's address and origin); ``proxy`` is set while the server runs."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.proxy: GatewayProxy | None = None
        self._resources: dict[tuple[Any, ...], str] = {}

    def resource(self, scope: Any) -> str:
        """The gateway's resource URI as the request reached it, remembered per origin."""
        key = _origin(scope)
        resource = self._resources.get(key)
        if resource is None:
            if len(self._resources) >= RESOURCES:
                self._resources.clear()
            resource = self._resources[key] = resource_of(Request(scope), GATEWAY_PATH)
        return resource

    async def __call__(
        self,
        scope: Any,
        receive: Any,
        send: Any,
        client: str,
        request_id: str,
        extra: list[tuple[bytes, bytes]],
    ) -> None:
        """Check the token, read the body within ``gateway.max_request_bytes``, answer the message."""
        if self.proxy is None:
            raise StoreUnavailable("the gateway is starting or stopping; retry shortly")
        authorization = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), None
        )
        state = self.app.state
        principal = check_token(
            state.aims.guard,
            app_tokens(self.app),
            authorization,
            self.resource(scope),
            set(),
            client=lambda: client,
            path=lambda: GATEWAY_PATH,
        )
        if scope["method"] != "POST":
            await respond(send, 405, b"", request_id, _ALLOW + extra)
            return
        agent = await self.proxy.agent(principal.name)
        if agent is None:
            raise PermissionDenied(
                f"the gateway serves agent principals only; the key {principal.key_id} acts "
                f"for {principal.name or 'no principal'}: give the agent its own key "
                "('aims principals add NAME --kind agent --owner PERSON')"
            )
        limit = self.proxy.policy.max_request_bytes
        try:
            body = await read_body(receive, limit, declared_length(scope))
        except BodyTooLarge:
            raise too_large(limit, "gateway.max_request_bytes") from None
        if body is None:
            return  # the client went away
        status, message = await self._message(agent, body)
        answer = b"" if message is None else dumps(message)
        await respond(send, status, answer, request_id, (_JSON if answer else []) + extra)

    async def _message(self, agent: Agent, body: bytes) -> Answer:
        try:
            message = loads(body)
        except ValueError:
            return _rpc_error(None, -32700, "the body is not JSON")
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            return _rpc_error(None, -32600, "send one JSON-RPC 2.0 message per request")
        if "id" not in message:
            return 202, None  # a notification (initialized, cancelled): nothing to say
        return await self._answer(agent, message)

    async def _answer(self, agent: Agent, message: dict[str, Any]) -> Answer:
        assert self.proxy is not None  # checked by the caller
        rid, method = message["id"], message.get("method")
        params = message.get("params") or {}
        if not isinstance(params, dict):
            return _rpc_error(rid, -32602, "params must be an object")
        if method == "initialize":
            asked = params.get("protocolVersion")
            version = asked if asked in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[0]
            return _rpc_result(
                rid,
                {
                    "protocolVersion": version,
                    "capabilities": {"tools": {"listChanged": False}},
                    "serverInfo": {"name": "aims-gateway", "version": "1"},
                    "instructions": (
                        "Tools of the organisation's MCP servers, named SERVER__TOOL. Calls are "
                        "checked against your allow-list, screened and audited."
                    ),
                },
            )
        if method == "ping":
            return _rpc_result(rid, {})
        if method == "tools/list":
            return _rpc_result(rid, {"tools": await self.proxy.list_tools(agent)})
        if method == "tools/call":
            name, arguments = params.get("name"), params.get("arguments") or {}
            if not isinstance(name, str) or not isinstance(arguments, dict):
                return _rpc_error(
                    rid, -32602, "tools/call needs a tool name and an arguments object"
                )
            return _rpc_result(rid, await self.proxy.call(agent, name, arguments))
        return _rpc_error(rid, -32601, f"method {method!r} is not offered by the aims gateway")


def mount_gateway(app: Any) -> None:
    """Serve the gateway at ``/gateway/mcp`` on ``app`` (a :func:`aims.server.app.create_app` app).

    The policy is read from the workspace's ``gateway:`` section when the
    server starts; a wrong setting stops the start with a message naming it.
    """
    from aims.server.lifespan import add_lifespan_hook
    from aims.server.mcp.metadata import register_resource

    endpoint = GatewayEndpoint(app)

    @asynccontextmanager
    async def run(app: Any) -> AsyncIterator[None]:
        state = app.state.aims
        policy = gateway_policy(
            state.ws.settings.raw.get("gateway"), f"{state.ws.root}/aims.yaml: gateway"
        )
        metrics = getattr(app.state, "gateway_metrics", None)
        if metrics is None:  # counters register once per registry, however often the app starts
            metrics = app.state.gateway_metrics = GatewayMetrics(state.metrics.registry)
        guard = state.guard

        def note(agent: Agent, reason: str, path: str) -> None:
            guard.events.note("server.access.denied", agent.name, f"gateway_{reason}", path)

        # Screening decisions go to the span store as guardrail spans when the server has one.
        traces = getattr(app.state, "traces", None)
        proxy = GatewayProxy(
            state.ws,
            policy,
            metrics=metrics,
            salt=state.salt,
            note_refusal=note,
            spans=getattr(traces, "writer", None),
        )
        endpoint.proxy = proxy
        try:
            yield
        finally:
            endpoint.proxy = None
            await proxy.aclose()

    add_lifespan_hook(app, run)
    # Answered in front of the server's stack, as predictions are: the framework's
    # middleware, router and request objects cost a call more CPU than its own checks.
    app.state.fronts[GATEWAY_PATH] = endpoint
    register_resource(app, GATEWAY_PATH)
