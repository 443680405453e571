"""The gateway's approvals over HTTP: tool definitions (pins) and calls waiting for a person.

Approving a tool's definition is its server's owner's act; deciding a waiting
call needs the approver role on the project of the call's server. Both are a
person's acts (see :mod:`aims.server.governance.gateway`); the services add
their own rules (only the owner approves a pin; neither the agent nor its
owner decides the agent's call), whose refusals are noted in the audit log
as the routes' own are.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select

from aims.core.roles import ALL_PROJECTS
from aims.errors import Conflict, PermissionDenied
from aims.server.auth import Principal, require
from aims.server.governance._common import in_thread, workspace
from aims.server.governance._gateway_scope import act, check_server, refuse, shown
from aims.server.governance._scope import answers, check_row
from aims.server.schemas import Name, Text
from aims.services.keys import role_rank

router = APIRouter(tags=["gateway"])

CALL = Path(ge=1, le=2**63 - 1, description="The waiting call's id.")


class PinApproval(BaseModel):
    """The tool whose definition, as last seen, its server's owner approves."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"server": "files", "tool": "read_file"}]}
    )
    server: Name
    tool: Name


class CallDecision(BaseModel):
    """Why a waiting call is let through or refused (recorded in the audit log)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "quarterly clean-up"}]}
    )
    note: Text = ""


def _kind_of(ws: Any, name: str) -> str | None:
    from aims.storage.schema import Principal as Row

    with ws.db.session() as s:
        row = s.scalar(select(Row).where(Row.name == name, Row.disabled_at.is_(None)))
        return None if row is None else str(row.kind)


def _person(role: str, what: str):  # -> a FastAPI dependency returning Principal
    """A dependency admitting an enabled human principal holding ``role`` somewhere.

    ``what`` is a person's act: a key of an agent or a service, or one acting
    for no principal, is refused (403) with a message saying so, before its role
    is looked at (an agent never holds the approver role, and is told why it is
    refused, not only that its role is too low). The route checks the role on
    the project of what it touches.
    """

    async def dependency(
        request: Request, principal: Principal = Depends(require("viewer"))
    ) -> Principal:
        name = principal.name
        kind = None if name is None else await in_thread(_kind_of, workspace(request), name)
        if kind != "human":
            who = (
                f"the key {principal.key_id} acts for no principal"
                if name is None
                else f"{name} is not an enabled principal"
                if kind is None
                else f"{name} is {'an' if kind == 'agent' else 'a'} {kind}"
            )
            raise refuse(
                request,
                principal,
                "not_a_person",
                f"{who}; a person must approve {what}: use a key of an enabled human principal",
            )
        if principal.top_rank < role_rank(role):
            raise refuse(
                request,
                principal,
                "role_too_low",
                f"this route needs the {role} role or higher; the token has {principal.role}",
            )
        return principal

    # Read by aims.server.route_roles, as for require(): the route's lowest role.
    dependency.aims_role = role  # type: ignore[attr-defined]  # a function attribute
    return dependency


# -- pins ------------------------------------------------------------------------------------


@router.get("/v1/gateway/pins", responses=answers(404, 422))
async def list_pins(
    request: Request,
    server: Annotated[str | None, Query(max_length=200, description="Only this server.")] = None,
    project: Annotated[str | None, Query(max_length=200, description="Only this project.")] = None,
    principal: Principal = Depends(require("viewer")),
) -> Any:
    """Every tool the gateway has seen, with its pin's status (``aims gateway pins list``)."""
    from aims.services.gateway.pins import list_pins as run

    if server is not None:
        await check_server(request, principal, server, "viewer")
    rows = await in_thread(run, workspace(request), server)
    return await shown(request, principal, project, rows)


@router.post(
    "/v1/gateway/pins/approve",
    responses=answers(
        404, 409, 422, s403="Not the server's owner, or not a person (an agent or a service)."
    ),
)
async def approve_pin(
    request: Request,
    body: PinApproval,
    principal: Principal = Depends(_person("viewer", "a tool's definition")),
) -> Any:
    """Approve a tool's definition as last seen: its server's owner only (``aims gateway pins
    approve``)."""
    from aims.services.gateway.pins import approve_pin as run

    await check_server(request, principal, body.server, "viewer")
    return await act(
        request,
        principal,
        {PermissionDenied: "not_the_owner", Conflict: "already_approved"},
        run,
        workspace(request),
        body.server,
        body.tool,
        actor=principal.actor,
    )


# -- calls waiting for a person --------------------------------------------------------------


@router.get("/v1/gateway/calls", responses=answers(422))
async def list_calls(
    request: Request,
    status: Annotated[
        Literal["pending", "all"],
        Query(description="pending, or all (decided and expired calls too)."),
    ] = "pending",
    project: Annotated[str | None, Query(max_length=200, description="Only this project.")] = None,
    principal: Principal = Depends(require("viewer")),
) -> Any:
    """Calls waiting for a person (high-risk tools, and risky calls after untrusted text)
    in the caller's projects, oldest first, each with why it waits (``aims gateway calls
    pending``)."""
    from aims.services.gateway.calls import list_calls as run

    rows = await in_thread(run, workspace(request), status=None if status == "all" else status)
    return await shown(request, principal, project, rows)


async def _decide(
    request: Request, principal: Principal, call_id: int, approve: bool, note: str
) -> Any:
    from aims.services.gateway.calls import decide
    from aims.storage.schema import GatewayCall, GatewayServer

    # A call of a server since removed counts as of every project.
    project_of = (
        select(func.coalesce(GatewayServer.project, ALL_PROJECTS))
        .select_from(GatewayCall)
        .outerjoin(GatewayServer, GatewayServer.name == GatewayCall.server)
        .where(GatewayCall.id == call_id)
    )
    hidden = f"no waiting call {call_id}; see 'aims gateway calls pending'"
    await check_row(request, principal, project_of, "approver", hidden)
    # The route admitted a person only (see _person): the service refuses the rest,
    # the agent's owner or the agent itself deciding the agent's call.
    return await act(
        request,
        principal,
        {PermissionDenied: "agent_or_its_owner", Conflict: "not_pending"},
        decide,
        workspace(request),
        call_id,
        approve=approve,
        actor=principal.actor,
        note=note,
    )


_DECIDERS = "Role too low, not a person (an agent or a service), or the agent or its owner."


@router.post(
    "/v1/gateway/calls/{call_id}/approve", responses=answers(404, 409, 422, s403=_DECIDERS)
)
async def approve_call(
    request: Request,
    call_id: Annotated[int, CALL],
    body: CallDecision = CallDecision(),
    principal: Principal = Depends(_person("approver", "a waiting call")),
) -> Any:
    """Let a waiting call through (``aims gateway calls approve``)."""
    return await _decide(request, principal, call_id, True, body.note)


@router.post("/v1/gateway/calls/{call_id}/deny", responses=answers(404, 409, 422, s403=_DECIDERS))
async def deny_call(
    request: Request,
    call_id: Annotated[int, CALL],
    body: CallDecision = CallDecision(),
    principal: Principal = Depends(_person("approver", "a waiting call")),
) -> Any:
    """Refuse a waiting call; the agent is told it was denied (``aims gateway calls deny``)."""
    return await _decide(request, principal, call_id, False, body.note)
