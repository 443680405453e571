"""The gateway's view of the world: servers, their tools and pins, agents and allow-lists.

Read from the store and from every upstream server's ``tools/list``, and held
in memory so a call costs no query. It is read again when an agent lists its
tools (so a change made with ``aims gateway ...`` shows at the next listing)
and, for calls, once it is older than the policy's ``tools_refresh``.

Reading the upstream lists is also where pins are checked: every definition
is recorded (:func:`aims.services.gateway.pins.observe`), which opens the
rug-pull incident the first time an approved tool's definition changes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from aims.server.gateway.screen import Outcome, screen_description
from aims.server.gateway.stdio import StdioClient
from aims.server.gateway.upstream import UpstreamClient, UpstreamError
from aims.services.gateway.allowlist import Allowed, load_allowed
from aims.services.gateway.inventory import Upstream, load_upstreams, read_credential
from aims.services.gateway.pins import observe
from aims.services.gateway.policy import GatewayPolicy
from aims.storage.schema import Principal

__all__ = ["SEPARATOR", "Agent", "Catalog", "Tool"]

log = logging.getLogger("aims.gateway")

SEPARATOR = "__"
"""Between a server's name and its tool's in the names agents see (``files__read_file``):
server names hold no ``__``, so two servers' tools can never take each other's name."""


RETRY_SECONDS = 5.0
"""How soon a server that could not be reached is tried again."""


@dataclass(frozen=True)
class Agent:
    """An agent principal as the gateway needs it."""

    name: str
    owner: str | None
    enabled: bool


@dataclass
class Tool:
    """One upstream tool, as last listed."""

    server: str
    name: str
    definition: dict[str, Any]
    status: str
    """The pin's status: ``approved``, ``new`` or ``changed``."""
    description: Outcome = field(default_factory=lambda: Outcome("allow"))

    @property
    def exposed(self) -> str:
        """The name agents call it by."""
        return f"{self.server}{SEPARATOR}{self.name}"

    def for_agent(self) -> dict[str, Any]:
        """The definition offered to agents: namespaced, without the output schema (the
        gateway may redact or drop structured results, so it promises none)."""
        out = {k: v for k, v in self.definition.items() if k not in ("name", "outputSchema")}
        return {"name": self.exposed, **out}


class Catalog:
    """The in-memory view (see the module docstring)."""

    def __init__(self, ws: Any, policy: GatewayPolicy) -> None:
        self.ws = ws
        self.policy = policy
        self.upstreams: dict[str, Upstream] = {}
        self.clients: dict[str, UpstreamClient | StdioClient] = {}
        self.tools: dict[str, Tool] = {}
        self.allowed: dict[str, Allowed] = {}
        self.agents: dict[str, Agent] = {}
        self.unavailable: dict[str, str] = {}
        self._retired: list[UpstreamClient | StdioClient] = []
        """Clients replaced (a server's URL or credential changed), closed with the gateway."""
        self.read_at = -1e18
        self._lock = asyncio.Lock()

    def stale(self) -> bool:
        """Whether the view is older than the policy's ``tools_refresh`` (or than
        :data:`RETRY_SECONDS` while a server could not be reached)."""
        age = time.monotonic() - self.read_at
        return age >= self.policy.tools_refresh_seconds or (
            bool(self.unavailable) and age >= RETRY_SECONDS
        )

    async def refresh(self) -> None:
        """Read everything again (one refresh at a time; callers waiting share it)."""
        started = time.monotonic()
        async with self._lock:
            if self.read_at >= started:
                return  # another caller refreshed while this one waited
            upstreams = await run_in_threadpool(load_upstreams, self.ws)
            allowed = await run_in_threadpool(load_allowed, self.ws)
            agents = await run_in_threadpool(self._agents)
            clients: dict[str, UpstreamClient | StdioClient] = {}
            tools: dict[str, Tool] = {}
            unavailable: dict[str, str] = {}
            for name, up in upstreams.items():
                client = self._client(up, unavailable)
                if client is None:
                    continue
                clients[name] = client
                try:
                    listed = await client.list_tools()
                except UpstreamError as exc:
                    unavailable[name] = str(exc)
                    log.warning("%s", exc)
                    continue
                status = await run_in_threadpool(observe, self.ws, name, listed)
                for definition in listed:
                    tool = Tool(
                        name,
                        str(definition.get("name")),
                        definition,
                        status[str(definition.get("name"))],
                    )
                    tool.description = screen_description(definition, self.policy)
                    tools[tool.exposed] = tool
            self.upstreams, self.clients, self.tools = upstreams, clients, tools
            self.allowed, self.agents, self.unavailable = allowed, agents, unavailable
            self.read_at = time.monotonic()

    def _client(
        self, up: Upstream, unavailable: dict[str, str]
    ) -> UpstreamClient | StdioClient | None:
        old = self.clients.get(up.name)
        try:
            token = read_credential(up.credential)
        except Exception as exc:  # a missing secret makes this one server unavailable, not all
            unavailable[up.name] = str(exc)
            log.warning("MCP server %s: %s", up.name, exc)
            return None
        kind = StdioClient if up.transport == "stdio" else UpstreamClient
        if isinstance(old, kind) and old.url == up.url and old.token == token:
            return old
        if old is not None:
            self._retired.append(old)
        return kind(up.name, up.url, token=token, timeout=self.policy.upstream_timeout_seconds)

    async def aclose(self) -> None:
        """Close every upstream connection and stop the servers the gateway started."""
        for client in [*self.clients.values(), *self._retired]:
            await client.aclose()
        self._retired.clear()

    def _agents(self) -> dict[str, Agent]:
        with self.ws.db.session() as s:
            rows = s.scalars(select(Principal)).all()
            names = {r.id: r.name for r in rows}
            return {
                r.name: Agent(
                    r.name, names.get(r.owner_id) if r.owner_id else None, r.disabled_at is None
                )
                for r in rows
                if r.kind == "agent"
            }

    def offered(self, agent: str) -> tuple[list[Tool], dict[str, int]]:
        """The tools ``agent`` may see, and how many were withheld for each reason."""
        allowed = self.allowed.get(agent)
        shown: list[Tool] = []
        withheld: dict[str, int] = {}
        for tool in self.tools.values():
            if allowed is None or allowed.constraints(tool.server, tool.name) is None:
                continue
            reason = self.withheld(tool)
            if reason is None:
                shown.append(tool)
            else:
                withheld[reason] = withheld.get(reason, 0) + 1
        return sorted(shown, key=lambda t: t.exposed), withheld

    def withheld(self, tool: Tool) -> str | None:
        """Why a tool is kept from every agent (an unapproved pin, a poisoned description)."""
        if tool.status == "new":
            return "not_approved"
        if tool.status == "changed":
            return "definition_changed"
        if tool.description.verdict == "deny":
            return "description_screened"
        return None
