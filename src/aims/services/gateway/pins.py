"""Pins: each upstream tool's definition, hashed when the server's owner approves it.

A tool's definition is its name, description and input schema, written as
canonical JSON (keys sorted, no spaces, Unicode kept, NFC-normalised) and
hashed with SHA-256. The gateway records every definition it sees:

* a tool never approved is ``new`` and is not offered to agents;
* a tool whose definition hashes to the approved hash is ``approved``;
* an approved tool whose definition changed is ``changed``: it is blocked
  until the server's owner approves it again, and one ``security`` incident
  (a *rug pull*) is opened for the owner when the change is first seen, not
  on every call.

The incident is about the server itself (subject kind ``mcp_server``), in the
server's project, whether or not that project has any model.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.clock import now_utc
from aims.errors import Conflict, NotFound, PermissionDenied
from aims.services import audit
from aims.services.identity import person_name
from aims.storage.schema import GatewayPin, GatewayServer, Incident
from aims.workspace import Workspace

__all__ = ["TRIGGER", "approve_pin", "definition_of", "definition_sha256", "list_pins", "observe"]

TRIGGER = "tool_definition_changed"
"""The trigger name of a rug-pull incident."""


def definition_of(tool: dict[str, Any]) -> dict[str, Any]:
    """The pinned part of a tool as ``tools/list`` gives it: name, description, input schema."""
    return {
        "name": tool.get("name"),
        "description": tool.get("description") or "",
        "inputSchema": tool.get("inputSchema") or {},
    }


def definition_sha256(definition: dict[str, Any]) -> str:
    """SHA-256 of a definition's canonical JSON.

    >>> a = definition_sha256({"name": "x", "description": "é", "inputSchema": {"b": 1, "a": 2}})
    >>> a == definition_sha256({"inputSchema": {"a": 2, "b": 1}, "description": "e\\u0301", "name": "x"})
    True
    """
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(unicodedata.normalize("NFC", text).encode("utf-8")).hexdigest()


def observe(
    ws: Workspace, server: str, tools: Iterable[dict[str, Any]], *, actor: str = "aims-gateway"
) -> dict[str, str]:
    """Record the definitions ``server`` lists now; returns each tool's status.

    ``approved`` tools may be offered. A change first seen here opens the
    rug-pull incident; seeing it again changes nothing.
    """
    now = now_utc()
    status: dict[str, str] = {}
    with ws.db.session() as s:
        row = s.scalar(select(GatewayServer).where(GatewayServer.name == server))
        if row is None:
            raise NotFound(f"no server named {server}; see 'aims gateway server list'")
        pins = {
            p.tool: p for p in s.scalars(select(GatewayPin).where(GatewayPin.server_id == row.id))
        }
        for tool in tools:
            definition = definition_of(tool)
            name = str(definition["name"])
            digest = definition_sha256(definition)
            pin = pins.get(name)
            if pin is None:
                pin = GatewayPin(
                    server_id=row.id,
                    tool=name,
                    status="new",
                    seen_sha256=digest,
                    seen_definition=definition,
                    seen_at=now,
                )
                s.add(pin)
                audit.record(
                    s,
                    actor=actor,
                    action="gateway.pin.seen",
                    subject=f"mcp:{server}/{name}",
                    payload={"sha256": digest},
                )
            elif pin.seen_sha256 != digest:
                pin.seen_sha256, pin.seen_definition, pin.seen_at = digest, definition, now
                if pin.sha256 is None:
                    pass  # still waiting for its first approval
                elif digest == pin.sha256:
                    pin.status = "approved"  # back to what was approved
                elif pin.status != "changed":
                    pin.status = "changed"
                    pin.incident_id = _rug_pull(s, row, pin, actor)
            status[name] = pin.status
    return status


def _rug_pull(s: Session, server: GatewayServer, pin: GatewayPin, actor: str) -> int:
    """Open the incident of a changed definition for the server's owner; its id."""
    evidence = {
        "server": server.name,
        "tool": pin.tool,
        "approved_sha256": pin.sha256,
        "seen_sha256": pin.seen_sha256,
        "approved_definition": pin.definition,
        "seen_definition": pin.seen_definition,
        "approved_by": pin.approved_by,
    }
    incident = Incident(
        dedupe_key=f"gateway/{server.name}/{pin.tool}/{now_utc().isoformat()}"[:300],
        model_id=None,
        project=server.project,
        subject_kind="mcp_server",
        subject=server.name,
        version=None,
        trigger=TRIGGER,
        kind="security",
        severity="high",
        status="open",
        owner=server.owner,
        summary=(
            f"the definition of tool {pin.tool} of MCP server {server.name} changed after it "
            f"was approved; it is blocked until {server.owner} approves it again with "
            f"'aims gateway pins approve {server.name} {pin.tool}'"
        ),
        evidence=evidence,
        actions=[],
        opened_at=now_utc(),
    )
    s.add(incident)
    s.flush()
    incident_id = incident.id
    audit.record(
        s,
        actor=actor,
        action="gateway.pin.changed",
        subject=f"mcp:{server.name}/{pin.tool}",
        payload={
            "incident": incident_id,
            "owner": server.owner,
            "approved_sha256": pin.sha256,
            "seen_sha256": pin.seen_sha256,
        },
    )
    return incident_id


def approve_pin(ws: Workspace, server: str, tool: str, *, actor: str) -> dict[str, Any]:
    """Approve the definition of ``tool`` last seen: only the server's owner may."""
    with ws.db.session() as s:
        row = s.scalar(select(GatewayServer).where(GatewayServer.name == server))
        if row is None:
            raise NotFound(f"no server named {server}; see 'aims gateway server list'")
        pin = s.scalar(
            select(GatewayPin).where(GatewayPin.server_id == row.id, GatewayPin.tool == tool)
        )
        if pin is None:
            raise NotFound(
                f"the gateway has not seen a tool {tool} on {server}; see 'aims gateway pins list'"
            )
        who = person_name(s, actor)
        if who != row.owner:
            raise PermissionDenied(
                f"only {row.owner}, the owner of server {server}, approves its tools; {who} may not"
            )
        if pin.status == "approved" and pin.sha256 == pin.seen_sha256:
            raise Conflict(f"{server}/{tool} is already approved as {pin.sha256[:12]}")
        previous = pin.sha256
        pin.sha256, pin.definition = pin.seen_sha256, pin.seen_definition
        pin.status, pin.approved_by, pin.approved_at = "approved", who, now_utc()
        payload = {"sha256": pin.sha256, "previous": previous, "incident": pin.incident_id}
        audit.record(
            s,
            actor=actor,
            action="gateway.pin.approve",
            subject=f"mcp:{server}/{tool}",
            payload=payload,
        )
        return {"server": server, "tool": tool, **payload}


def list_pins(ws: Workspace, server: str | None = None) -> list[dict[str, Any]]:
    """Every pin, of one server or of all."""
    with ws.db.session() as s:
        stmt = select(GatewayPin, GatewayServer.name).join(
            GatewayServer, GatewayServer.id == GatewayPin.server_id
        )
        if server is not None:
            stmt = stmt.where(GatewayServer.name == server)
        return [
            {
                "server": name,
                "tool": p.tool,
                "status": p.status,
                "sha256": p.sha256,
                "seen_sha256": p.seen_sha256,
                "approved_by": p.approved_by,
                "approved_at": p.approved_at.isoformat() if p.approved_at else None,
                "incident": p.incident_id,
                "description": (p.seen_definition or {}).get("description", ""),
            }
            for p, name in s.execute(stmt.order_by(GatewayServer.name, GatewayPin.tool))
        ]
