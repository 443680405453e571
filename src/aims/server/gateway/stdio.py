"""The gateway's client of an upstream MCP server it starts itself (the stdio transport).

The server is the command registered for it, started by the gateway when it
is first needed, in its own process group, and stopped with the gateway. MCP
messages are single lines of JSON on its standard input and output. The
gateway's own credential for it, when one is registered, is handed over in
the environment variable ``AIMS_GATEWAY_CREDENTIAL`` (a stdio server has no
HTTP header to read); the agent's token is never given to it.

Requests are sent one at a time: a local server answers in order, and the
gateway's rate limits keep the queue short.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shlex
import signal
from typing import Any

from aims.server.gateway.upstream import PROTOCOL_VERSION, UpstreamError

__all__ = ["CREDENTIAL_ENV", "MAX_LINE_BYTES", "StdioClient"]

CREDENTIAL_ENV = "AIMS_GATEWAY_CREDENTIAL"
"""The environment variable a stdio server finds the gateway's credential for it in."""

MAX_LINE_BYTES = 8 * 1024 * 1024
"""The longest message read from a stdio server."""


class StdioClient:
    """A session with one MCP server run as a local command."""

    def __init__(self, name: str, command: str, *, token: str | None, timeout: float) -> None:
        self.name = name
        self.url = command
        self.token = token
        self.timeout = timeout
        self._argv = shlex.split(command)
        self._proc: asyncio.subprocess.Process | None = None
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    async def _start(self) -> asyncio.subprocess.Process:
        env = dict(os.environ)
        env.pop(CREDENTIAL_ENV, None)
        if self.token:
            env[CREDENTIAL_ENV] = self.token
        try:
            proc = await asyncio.create_subprocess_exec(
                *self._argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                env=env,
                start_new_session=True,
                limit=MAX_LINE_BYTES,
            )
        except OSError as exc:
            raise UpstreamError(f"MCP server {self.name} could not be started: {exc}") from exc
        self._proc = proc
        init = {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "aims-gateway", "version": "1"},
        }
        await self._exchange("initialize", init)
        await self._send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return proc

    async def _send(self, message: dict[str, Any]) -> None:
        assert self._proc is not None and self._proc.stdin is not None  # started by the caller
        self._proc.stdin.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")
        await self._proc.stdin.drain()

    async def _exchange(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None  # started by the caller
        request_id = next(self._ids)
        await self._send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        while True:
            line = await asyncio.wait_for(self._proc.stdout.readline(), self.timeout)
            if not line:
                raise UpstreamError(f"MCP server {self.name} exited")
            try:
                message = json.loads(line)
            except ValueError:
                continue  # a stray line of output is not an answer
            if not isinstance(message, dict) or message.get("id") != request_id:
                continue  # a notification, or a request the gateway does not serve
            if "error" in message:
                error = message["error"] or {}
                raise UpstreamError(
                    f"MCP server {self.name}: {error.get('message', 'error')} (code {error.get('code')})"
                )
            result = message.get("result")
            if not isinstance(result, dict):
                raise UpstreamError(f"MCP server {self.name} sent no result to {method}")
            return result

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send one request and return its result; starts the server first when needed."""
        async with self._lock:
            try:
                if self._proc is None or self._proc.returncode is not None:
                    await self._start()
                return await self._exchange(method, params)
            except (TimeoutError, OSError, ValueError) as exc:
                self.close()  # a server that hangs or breaks the protocol is started afresh
                raise UpstreamError(f"MCP server {self.name} did not answer: {exc}") from None

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

    async def call_tool(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """The result of calling ``tool`` with ``arguments``."""
        return await self.request("tools/call", {"name": tool, "arguments": arguments})

    async def aclose(self) -> None:
        """Stop the server and wait for it to be gone."""
        proc = self._proc
        self.close()
        if proc is not None:
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()

    def close(self) -> None:
        """Stop the server's whole process group."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # it has just exited
                os.killpg(proc.pid, signal.SIGTERM)
