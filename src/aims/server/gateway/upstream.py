"""The gateway's client of one upstream MCP server (streamable HTTP).

The gateway speaks to each server as itself: one session per server, opened
with the ``initialize`` handshake and kept open, with the gateway's own
credential for that server (:func:`aims.services.gateway.inventory.read_credential`)
as the bearer token. Nothing of the agent's request but the tool's name and
arguments is sent upstream, so the agent's token never leaves the gateway.

Only the two methods the gateway forwards are spoken (``tools/list`` and
``tools/call``), as plain JSON-RPC over kept-alive connections
(:mod:`~aims.server.gateway.wire`): a server may answer with a JSON body or
with a short event stream, and both are read.
A session the server forgot (404) is opened again once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any
from urllib.parse import urlsplit

from aims.server.gateway.wire import Answer, Pool, WireError, dumps, loads

__all__ = ["PROTOCOL_VERSION", "UpstreamClient", "UpstreamError"]

PROTOCOL_VERSION = "2025-11-25"
"""The MCP revision the gateway offers upstream (the initialize handshake's newest)."""


class UpstreamError(Exception):
    """The upstream server could not be reached or answered something unusable."""


class UpstreamClient:
    """A session with one upstream MCP server."""

    def __init__(self, name: str, url: str, *, token: str | None, timeout: float) -> None:
        self.name = name
        self.url = url
        self.timeout = timeout
        parts = urlsplit(url)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._pool = Pool(url)
        self.token = token
        self._session: str | None = None
        self._version = PROTOCOL_VERSION
        self._ids = itertools.count(1)
        self._opening = asyncio.Lock()
        self._open = False

    def _headers(self) -> dict[str, str]:
        headers = {
            "Accept": "application/json, text/event-stream",
            "Content-Type": "application/json",
            "MCP-Protocol-Version": self._version,
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self._session:
            headers["Mcp-Session-Id"] = self._session
        return headers

    async def _post(self, message: dict[str, Any]) -> Answer:
        body = dumps(message)
        try:
            return await self._pool.post(self._path, self._headers(), body, self.timeout)
        except WireError as exc:
            raise UpstreamError(f"MCP server {self.name} cannot be reached: {exc}") from exc

    async def _open_session(self) -> None:
        async with self._opening:
            if self._open:
                return
            self._session = None
            self._version = PROTOCOL_VERSION
            init_id = next(self._ids)
            init = {
                "jsonrpc": "2.0",
                "id": init_id,
                "method": "initialize",
                "params": {
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "aims-gateway", "version": "1"},
                },
            }
            response = await self._post(init)
            result = self._result(response, init_id)
            self._session = response.headers.get("mcp-session-id")
            self._version = str(result.get("protocolVersion") or PROTOCOL_VERSION)
            done = await self._post({"jsonrpc": "2.0", "method": "notifications/initialized"})
            if done.status >= 400:
                raise UpstreamError(
                    f"MCP server {self.name} refused the handshake (HTTP {done.status})"
                )
            self._open = True

    def _result(self, response: Answer, request_id: int) -> dict[str, Any]:
        if response.status in (401, 403):
            raise UpstreamError(
                f"MCP server {self.name} refused the gateway's credential (HTTP "
                f"{response.status}); check the credential registered for it"
            )
        if response.status >= 400:
            raise UpstreamError(f"MCP server {self.name} answered HTTP {response.status}")
        kind = response.headers.get("content-type", "")
        try:
            if kind.startswith("text/event-stream"):
                messages = _events(response.body.decode("utf-8"))
            else:
                messages = [loads(response.body)]
        except ValueError:
            raise UpstreamError(f"MCP server {self.name} sent an answer that is not JSON") from None
        for message in messages:
            if isinstance(message, dict) and message.get("id") == request_id:
                if "error" in message:
                    error = message["error"] or {}
                    raise UpstreamError(
                        f"MCP server {self.name}: {error.get('message', 'error')} "
                        f"(code {error.get('code')})"
                    )
                result = message.get("result")
                if isinstance(result, dict):
                    return result
        raise UpstreamError(f"MCP server {self.name} sent no answer to request {request_id}")

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send one request and return its result; opens the session first when needed."""
        if not self._open:
            await self._open_session()
        for attempt in (1, 2):
            request_id = next(self._ids)
            message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
            response = await self._post(message)
            if response.status == 404 and self._session and attempt == 1:
                self._open = False  # the server forgot the session: open a new one, once
                await self._open_session()
                continue
            return self._result(response, request_id)
        raise UpstreamError(f"MCP server {self.name} keeps losing the gateway's session")

    async def list_tools(self) -> list[dict[str, Any]]:
        """Every tool the server lists (all pages)."""
        tools: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            result = await self.request("tools/list", {"cursor": cursor} if cursor else {})
            tools.extend(t for t in result.get("tools", []) if isinstance(t, dict))
            cursor = result.get("nextCursor")
            if not cursor:
                return tools

    def close(self) -> None:
        """Close the kept-alive connections."""
        self._pool.close()

    async def aclose(self) -> None:
        """Close the kept-alive connections."""
        self.close()

    async def call_tool(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """The result of calling ``tool`` with ``arguments``."""
        return await self.request("tools/call", {"name": tool, "arguments": arguments})


def _events(text: str) -> list[Any]:
    """The JSON messages of an event stream's ``data`` fields."""
    out: list[Any] = []
    data: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("data:"):
            data.append(line[5:].lstrip())
        elif not line and data:
            # A keep-alive or a non-JSON event carries no answer.
            with contextlib.suppress(ValueError):
                out.append(loads("\n".join(data)))
            data = []
    return out
