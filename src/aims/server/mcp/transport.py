"""The ``/mcp`` endpoint: MCP over streamable HTTP (the ``mcp`` SDK), behind the token checks.

Every request to ``/mcp`` first passes :func:`~aims.server.mcp.oauth.require_token`
for this server's own resource (``<origin>/mcp``): no token, a token for
another resource (an ordinary API token included), an expired or revoked one
is refused with 401 before the SDK sees the request. A ``tools/call`` is then
checked against the scope of the tool it names; a token without it gets the
403 ``insufficient_scope`` of the MCP authorization specification, at the HTTP
level, where a client can step up its authorization.

The SDK runs **stateless** and answers with JSON rather than an event
stream: each POST is one JSON-RPC exchange on a fresh transport. Each request
carries its own short-lived token and is checked on its own, so a session
would add nothing to security; the tools answer at once and never call the
client back, so no stream is needed; and no per-agent state lives in the
server's memory, so any replica can answer any request.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from starlette.requests import Request
from starlette.routing import Route

from aims.core.roles import ALL_PROJECTS
from aims.errors import AimsError
from aims.server.mcp.oauth import MCP_PATH, insufficient_scope, require_token, resource_of
from aims.server.problems import problem_response
from aims.server.validation import Message, Receive, Scope, Send
from aims.services import mcp_tools
from aims.services.mcp_tools import Caller, audit_call, error_text, owner_of, run_tool, tools

log = logging.getLogger("aims.server.mcp")

PRINCIPAL_KEY = "aims.mcp.principal"
"""Where the checked principal travels in the ASGI scope, from the endpoint to the tools."""

MAX_BODY = 65_536
"""The largest MCP request body read (the body limit of every non-upload API route)."""

INSTRUCTIONS = (
    "aims governs machine-learning models in production. Read tools (scope aims:read) show "
    "models, versions and lineage, gate results, monitoring, incidents and evidence. Propose "
    "tools (scope aims:propose) open an incident or request a promotion or rollback; a person "
    "decides every request. No tool approves, promotes or changes access."
)


def caller_of(ws: Any, principal: Any) -> Caller:
    """The tools' view of ``principal``: audit names, owner, rights (store read: call in a thread)."""
    projects = None if principal.project == ALL_PROJECTS else frozenset({principal.project})
    return Caller(principal.actor, owner_of(ws, principal.name), principal.role_on, projects)


async def _audit(ws: Any, caller: Caller, name: str, arguments: Any, **kw: Any) -> None:
    """:func:`~aims.services.mcp_tools.audit_call` off the event loop."""
    await anyio.to_thread.run_sync(functools.partial(audit_call, ws, caller, name, arguments, **kw))


def _tool_list() -> list[types.Tool]:
    out = []
    for t in tools().values():
        read_only = t.scope == "aims:read"
        out.append(
            types.Tool(
                name=t.name,
                title=t.title,
                description=f"{t.description} Needs the OAuth scope {t.scope}.",
                input_schema=t.input_schema(),
                annotations=types.ToolAnnotations(
                    title=t.title,
                    read_only_hint=read_only,
                    destructive_hint=False,
                    idempotent_hint=read_only,
                    open_world_hint=False,
                ),
            )
        )
    return out


def _result(value: Any) -> types.CallToolResult:
    text = json.dumps(value, default=str, separators=(",", ":"))
    structured = json.loads(text)
    if not isinstance(structured, dict):
        structured = {"items": structured}
    return types.CallToolResult(
        content=[types.TextContent(text=text)], structured_content=structured
    )


def _failure(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


def build_server(ws: Any, salt: str) -> Server[Any]:
    """The SDK server whose tools are :mod:`aims.services.mcp_tools`, for workspace ``ws``."""

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=_tool_list())

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        request = ctx.request
        principal = request.scope.get(PRINCIPAL_KEY) if request is not None else None
        if principal is None:  # only the endpoint below reaches the server, and it sets one
            raise MCPError(types.INVALID_REQUEST, "the request carries no checked token")
        name, arguments = params.name, params.arguments
        caller = await anyio.to_thread.run_sync(caller_of, ws, principal)
        t = tools().get(name)
        if t is None:
            await _audit(
                ws, caller, name, arguments, outcome="refused", salt=salt, detail="unknown tool"
            )
            raise MCPError(types.INVALID_PARAMS, f"unknown tool {name!r}; see tools/list")
        if t.scope not in principal.scopes:  # refused by the endpoint already: a second wall
            return _failure(f"this tool needs the scope {t.scope}")
        try:
            value = await anyio.to_thread.run_sync(run_tool, ws, caller, name, arguments)
        except AimsError as exc:
            outcome = "refused" if exc.status in (401, 403) else "error"
            await _audit(
                ws, caller, name, arguments, outcome=outcome, salt=salt, detail=error_text(exc)
            )
            return _failure(error_text(exc))
        except Exception:
            # A fault of aims, not of the call: logged in full here, audited, and
            # answered without details, which are no business of the agent.
            log.exception("MCP tool %s failed", name)
            await _audit(
                ws, caller, name, arguments, outcome="error", salt=salt, detail="internal error"
            )
            return _failure("error: the tool failed inside aims; the server's log has the cause")
        await _audit(ws, caller, name, arguments, outcome="ok", salt=salt)
        return _result(value)

    return Server(
        "aims",
        version=_version(),
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aims")
    except PackageNotFoundError:
        return "0"


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole request body, and whether it stayed within :data:`MAX_BODY`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return b"", False
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True


def called_tools(body: bytes) -> list[tuple[str, Any]]:
    """The (tool name, arguments) of every ``tools/call`` in a JSON-RPC body (one or a batch).

    A body that is not JSON gives none: the SDK answers it with its own parse error.
    """
    try:
        data = json.loads(body)
    except ValueError:
        return []
    messages = data if isinstance(data, list) else [data]
    out = []
    for m in messages:
        if isinstance(m, dict) and m.get("method") == "tools/call":
            raw = m.get("params")
            params: dict[str, Any] = raw if isinstance(raw, dict) else {}
            out.append((str(params.get("name", "")), params.get("arguments")))
    return out


class McpEndpoint:
    """ASGI app of ``/mcp``: the token checks, then the SDK's streamable HTTP transport."""

    def __init__(self, manager: StreamableHTTPSessionManager, ws: Any, salt: str) -> None:
        self.manager = manager
        self.ws = ws
        self.salt = salt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        resource = resource_of(request)
        try:
            principal = require_token(request, resource, set())
        except AimsError as exc:
            await problem_response(exc, instance=scope["path"])(scope, receive, send)
            return
        if scope["method"] == "POST":
            body, whole = await _read_body(receive)
            if not whole:
                from aims.errors import PayloadTooLarge

                too_big = PayloadTooLarge(f"an MCP request body may hold at most {MAX_BODY} bytes")
                await problem_response(too_big, instance=scope["path"])(scope, receive, send)
                return
            refusal = await self._scope_refusal(principal, resource, body)
            if refusal is not None:
                await problem_response(refusal, instance=scope["path"])(scope, receive, send)
                return
            receive = _replay(body, receive)
        scope[PRINCIPAL_KEY] = principal
        await self.manager.handle_request(scope, receive, send)

    async def _scope_refusal(self, principal: Any, resource: str, body: bytes) -> AimsError | None:
        """The 403 of a ``tools/call`` whose tool needs a scope the token lacks, else None."""
        catalogue = tools()
        for name, arguments in called_tools(body):
            t = catalogue.get(name)
            if t is None or t.scope in principal.scopes:
                continue
            error = insufficient_scope(resource, {t.scope}, principal)
            caller = await anyio.to_thread.run_sync(caller_of, self.ws, principal)
            await _audit(
                self.ws,
                caller,
                name,
                arguments if isinstance(arguments, dict) else None,
                outcome="refused",
                salt=self.salt,
                detail=error.message,
            )
            return error
        return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once, then whatever the connection sends (a disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class _Starting:
    """The route's app: the live endpoint while the server runs, a 503 before and after."""

    def __init__(self) -> None:
        self.live: McpEndpoint | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.live is None:
            from aims.errors import StoreUnavailable

            error = StoreUnavailable("the MCP endpoint is starting or stopping; retry shortly")
            await problem_response(error, instance=scope["path"])(scope, receive, send)
            return
        await self.live(scope, receive, send)


def mount(app: Any) -> None:
    """Serve MCP at ``/mcp`` on ``app`` (a :func:`aims.server.app.create_app` app).

    The SDK's session manager runs for the server's life (a lifespan hook);
    the workspace and the personal-data salt are read when the server starts.
    """
    from aims.server.lifespan import add_lifespan_hook
    from aims.server.mcp.metadata import register_resource

    endpoint = _Starting()

    @asynccontextmanager
    async def run(app: Any) -> AsyncIterator[None]:
        state = app.state.aims
        manager = StreamableHTTPSessionManager(
            build_server(state.ws, state.salt), json_response=True, stateless=True
        )
        async with manager.run():
            endpoint.live = McpEndpoint(manager, state.ws, state.salt)
            try:
                yield
            finally:
                endpoint.live = None

    add_lifespan_hook(app, run)
    app.router.routes.append(Route(MCP_PATH, endpoint=endpoint, include_in_schema=False))
    register_resource(app, MCP_PATH)
    mcp_tools.tools()  # registered now, so a bad tool definition fails at start, not on a call
