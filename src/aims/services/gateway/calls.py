"""Calls that wait for a person's decision (human in the loop): calls of high-risk tools,
and calls the rule for untrusted content holds (:mod:`aims.services.gateway.exposure`).

The gateway files the call (``pending``) and holds the agent's request until
a person approves or denies it with ``aims gateway calls approve|deny ID``,
or until the policy's ``approval_timeout`` passes (``expired``). Only an
approved call is forwarded.

Who may decide, with four eyes in mind: an enabled *human* principal who is
neither the agent nor the agent's owner. An agent acts for its owner, so the
owner approving the agent's call would be one person deciding twice; another
person must look at it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from aims.clock import now_utc, utc
from aims.errors import Conflict, NotFound, PermissionDenied
from aims.services import audit
from aims.services.identity import approver
from aims.storage.schema import GatewayCall
from aims.workspace import Workspace

__all__ = ["call_status", "decide", "file_call", "list_calls"]


def file_call(
    ws: Workspace,
    *,
    agent: str,
    owner: str | None,
    server: str,
    tool: str,
    arguments: dict[str, Any],
    timeout_seconds: float,
    reason: str = "",
) -> int:
    """File a call waiting for a decision; its id. ``reason`` tells the person why it waits."""
    now = now_utc()
    with ws.db.session() as s:
        row = GatewayCall(
            agent=agent,
            owner=owner,
            server=server,
            tool=tool,
            arguments=arguments,
            status="pending",
            created_at=now,
            expires_at=now + timedelta(seconds=timeout_seconds),
            note="",
            reason=reason,
        )
        s.add(row)
        s.flush()
        audit.record(
            s,
            actor=agent,
            action="gateway.call.wait",
            subject=f"mcp:{server}/{tool}",
            payload={
                "call": row.id,
                "owner": owner,
                "expires_at": row.expires_at.isoformat(),
                **({"reason": reason} if reason else {}),
            },
        )
        return row.id


def call_status(ws: Workspace, call_id: int) -> str:
    """``pending``, ``approved``, ``denied`` or ``expired`` (set here once the time is up)."""
    with ws.db.session() as s:
        row = s.get(GatewayCall, call_id)
        if row is None:
            raise NotFound(f"no waiting call {call_id}")
        if row.status == "pending" and now_utc() >= utc(row.expires_at):
            row.status, row.arguments = "expired", None
            audit.record(
                s,
                actor="aims-gateway",
                action="gateway.call.expire",
                subject=f"mcp:{row.server}/{row.tool}",
                payload={"call": row.id, "agent": row.agent},
            )
        return row.status


def decide(
    ws: Workspace, call_id: int, *, approve: bool, actor: str, note: str = ""
) -> dict[str, Any]:
    """Approve or deny a waiting call (see the module docstring for who may)."""
    with ws.db.session() as s:
        row = s.get(GatewayCall, call_id)
        if row is None:
            raise NotFound(f"no waiting call {call_id}; see 'aims gateway calls pending'")
        if row.status != "pending" or now_utc() >= utc(row.expires_at):
            state = row.status if row.status != "pending" else "expired"
            raise Conflict(f"call {call_id} is {state}; only a pending call can be decided")
        person = approver(s, ws, actor, ws.settings.project)
        if person.kind != "human":
            raise PermissionDenied(f"{person.name} is a {person.kind}; only a person decides calls")
        if person.name in (row.agent, row.owner):
            raise PermissionDenied(
                f"{person.name} may not decide call {call_id}: the agent's owner and the agent "
                "itself never approve the agent's own calls; another person must"
            )
        row.status = "approved" if approve else "denied"
        row.decided_by, row.decided_at, row.note = person.name, now_utc(), note
        row.arguments = None
        payload = {"call": row.id, "agent": row.agent, "status": row.status, "note": note}
        audit.record(
            s,
            actor=actor,
            action=f"gateway.call.{'approve' if approve else 'deny'}",
            subject=f"mcp:{row.server}/{row.tool}",
            payload=payload,
        )
        return {**payload, "server": row.server, "tool": row.tool, "decided_by": person.name}


def list_calls(ws: Workspace, *, status: str | None = "pending") -> list[dict[str, Any]]:
    """Waiting calls (all of them with ``status=None``), oldest first."""
    with ws.db.session() as s:
        stmt = select(GatewayCall).order_by(GatewayCall.id)
        if status is not None:
            stmt = stmt.where(GatewayCall.status == status)
        return [
            {
                "id": c.id,
                "agent": c.agent,
                "owner": c.owner,
                "server": c.server,
                "tool": c.tool,
                "arguments": c.arguments,
                "reason": c.reason,
                "status": c.status,
                "created_at": c.created_at.isoformat(),
                "expires_at": c.expires_at.isoformat(),
                "decided_by": c.decided_by,
            }
            for c in s.scalars(stmt)
        ]
