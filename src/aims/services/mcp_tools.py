"""The tools aims offers agents over MCP: what each reads or proposes, who may call it, the audit.

Two kinds of tool, one OAuth scope each:

- ``aims:read`` tools read the registry, gates, monitoring, incidents and
  evidence (:mod:`aims.services.mcp_read`);
- ``aims:propose`` tools open an incident or request a promotion or a
  rollback (:mod:`aims.services.mcp_propose`). Each proposal waits for a
  person: no tool approves, overrides a gate, changes a stage or creates a key.

A tool's arguments are a strict model (unknown fields, wrong types and
out-of-range values are refused with one message naming the field). A tool
sees exactly what the governance API shows the same caller: models of projects
it holds no grant on answer as unregistered, and lists leave them out.

Every call is audited (:func:`audit_call`) as ``mcp.tool.call`` or
``mcp.tool.refused``: the agent, its human owner, the tool, its arguments with
free text (which may hold personal data) replaced by a keyed hash, and the
outcome.

API: :func:`tools`, :func:`run_tool`, :func:`audit_call`; a tool's parts are in
:mod:`aims.services.mcp_toolkit`.
"""

from __future__ import annotations

from typing import Any

from aims.services import audit
from aims.services.mcp_toolkit import (
    TOOLS,
    Caller,
    Tool,
    error_text,
    owner_of,
    parse_args,
    redacted,
)
from aims.workspace import Workspace

__all__ = [
    "Caller",
    "Tool",
    "audit_call",
    "error_text",
    "owner_of",
    "run_tool",
    "tools",
]


def tools() -> dict[str, Tool]:
    """Every tool, by name (the tool modules register themselves when imported)."""
    from aims.services import mcp_propose, mcp_read  # noqa: F401

    return TOOLS


def run_tool(ws: Workspace, caller: Caller, name: str, arguments: dict[str, Any] | None) -> Any:
    """Run tool ``name`` for ``caller``; its result as plain data.

    Raises ``NotFound`` for an unknown tool (or a thing the caller may not
    see), ``InvalidInput`` for bad arguments, ``PermissionDenied`` for too low
    a role on the project touched, and whatever the service raises.
    """
    t = tools().get(name)
    if t is None:
        from aims.errors import NotFound

        raise NotFound(f"tool {name!r} does not exist; the tools are {', '.join(sorted(TOOLS))}")
    args = parse_args(t, arguments)
    return t.run(ws, caller, args)


def audit_call(
    ws: Workspace,
    caller: Caller,
    name: str,
    arguments: dict[str, Any] | None,
    *,
    outcome: str,
    salt: str,
    detail: str = "",
) -> None:
    """Append the audit event of one tool call (``outcome``: ok, error, refused)."""
    t = tools().get(name)
    payload = {
        "tool": name[:200],
        "scope": t.scope if t is not None else None,
        "owner": caller.owner,
        "arguments": redacted(t, arguments, salt),
        "outcome": outcome,
    }
    if detail:
        payload["detail"] = detail[:500]
    action = "mcp.tool.refused" if outcome == "refused" else "mcp.tool.call"
    with ws.db.session() as s:
        audit.record(
            s, actor=caller.actor, action=action, subject=f"mcp:{name[:200]}", payload=payload
        )
