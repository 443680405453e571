"""Per-agent allow-lists: which servers' tools an agent may call, and within what bounds.

An entry names an agent principal, a server and a tool (``*`` for every tool
of the server), with argument constraints (:mod:`.constraints`). An entry for
the tool itself wins over the server's ``*`` entry. Anything not allowed is
refused; there is no deny-list to forget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from aims.clock import now_utc
from aims.errors import InvalidInput, NotFound
from aims.services import audit
from aims.services.gateway.constraints import validate_constraints
from aims.services.identity import resolve
from aims.storage.schema import GatewayAllow, GatewayServer
from aims.workspace import Workspace

__all__ = ["Allowed", "allow", "list_allowed", "load_allowed", "revoke"]


@dataclass(frozen=True)
class Allowed:
    """An agent's allow-list: ``{(server, tool): constraints}`` (``tool`` may be ``*``)."""

    entries: dict[tuple[str, str], dict[str, Any]]

    def constraints(self, server: str, tool: str) -> dict[str, Any] | None:
        """The constraints of a call of ``server``'s ``tool``; None when it is not allowed.

        >>> Allowed({("f", "*"): {}, ("f", "rm"): {"p": {"max": 1}}}).constraints("f", "rm")
        {'p': {'max': 1}}
        """
        exact = self.entries.get((server, tool))
        return exact if exact is not None else self.entries.get((server, "*"))


def allow(
    ws: Workspace,
    agent: str,
    server: str,
    tool: str,
    *,
    constraints: dict[str, Any] | None = None,
    actor: str,
) -> dict[str, Any]:
    """Allow ``agent`` to call ``tool`` of ``server`` (replacing an entry for the same tool)."""
    rules = validate_constraints(constraints or {})
    if tool == "*" and rules:
        raise InvalidInput(
            "constraints name arguments of one tool; give the tool's name instead of '*'"
        )
    with ws.db.session() as s:
        who = resolve(s, agent)
        if who is None or who.kind != "agent":
            raise InvalidInput(
                f"{agent!r} is not an agent principal; add it with "
                f"'aims principals add {agent} --kind agent --owner PERSON'"
            )
        row_server = s.scalar(select(GatewayServer).where(GatewayServer.name == server))
        if row_server is None:
            raise NotFound(f"no server named {server}; see 'aims gateway server list'")
        row = s.scalar(
            select(GatewayAllow).where(
                GatewayAllow.agent == who.name,
                GatewayAllow.server_id == row_server.id,
                GatewayAllow.tool == tool,
            )
        )
        if row is None:
            row = GatewayAllow(agent=who.name, server_id=row_server.id, tool=tool)
            s.add(row)
        row.constraints = rules
        row.created_by = actor
        row.created_at = now_utc()
        payload = {"agent": who.name, "server": server, "tool": tool, "constraints": rules}
        audit.record(
            s, actor=actor, action="gateway.allow", subject=f"principal:{who.name}", payload=payload
        )
    return payload


def revoke(ws: Workspace, agent: str, server: str, tool: str, *, actor: str) -> dict[str, Any]:
    """Remove one allow-list entry."""
    with ws.db.session() as s:
        row = s.scalar(
            select(GatewayAllow)
            .join(GatewayServer, GatewayServer.id == GatewayAllow.server_id)
            .where(
                GatewayAllow.agent == agent, GatewayServer.name == server, GatewayAllow.tool == tool
            )
        )
        if row is None:
            raise NotFound(f"{agent} has no allow-list entry for {server}/{tool}")
        s.delete(row)
        payload = {"agent": agent, "server": server, "tool": tool}
        audit.record(
            s, actor=actor, action="gateway.revoke", subject=f"principal:{agent}", payload=payload
        )
    return payload


def list_allowed(ws: Workspace, agent: str | None = None) -> list[dict[str, Any]]:
    """Allow-list entries, of one agent or of all."""
    with ws.db.session() as s:
        stmt = select(GatewayAllow, GatewayServer.name).join(
            GatewayServer, GatewayServer.id == GatewayAllow.server_id
        )
        if agent is not None:
            stmt = stmt.where(GatewayAllow.agent == agent)
        return [
            {"agent": a.agent, "server": name, "tool": a.tool, "constraints": a.constraints}
            for a, name in s.execute(
                stmt.order_by(GatewayAllow.agent, GatewayServer.name, GatewayAllow.tool)
            )
        ]


def load_allowed(ws: Workspace) -> dict[str, Allowed]:
    """Every agent's allow-list, by agent name."""
    out: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    for entry in list_allowed(ws):
        out.setdefault(entry["agent"], {})[(entry["server"], entry["tool"])] = entry["constraints"]
    return {agent: Allowed(entries) for agent, entries in out.items()}
