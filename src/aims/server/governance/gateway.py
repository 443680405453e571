"""The MCP gateway's administration: servers, allow-lists, pins, calls waiting for a person.

Each route calls the service ``aims gateway server|allow|revoke|allowed|pins|calls``
calls locally, with the token's principal as the actor, and answers with its
document. Everything here belongs to a server, and a server to a project: an
allow-list entry, a pin and a waiting call are of their server's project. A
server of a project the caller has no grant on answers as one that does not
exist (404), and the lists show the caller's projects only.

Reading needs the viewer role on the project; registering and removing servers
and editing allow-lists the admin role. A server started by a command, or one
whose credential the gateway reads from the server's host, needs the admin role
on every project: that command runs, and that secret is read, as the user of
``aims serve``, beyond any one project. Approving a tool's definition is its
server's owner's act; deciding a waiting call needs the approver role. Both are
a person's acts: a key of an agent or a service, or one that acts for no
principal, is refused (403, noted in the audit log), and the services add
their own rules (only the owner approves a pin; neither the agent nor its
owner decides the agent's call).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select

from aims.core.roles import ALL_PROJECTS
from aims.errors import InvalidInput
from aims.server.auth import Principal, client_of, require
from aims.server.governance._common import check_project, in_thread, workspace
from aims.server.governance._scope import answers, check_row, visible_projects
from aims.server.problems import ApiError
from aims.server.schemas import Name, Text
from aims.services.keys import role_rank

router = APIRouter(tags=["gateway"])

SERVER = Path(max_length=200, description="The server's name.")
CALL = Path(ge=1, le=2**63 - 1, description="The waiting call's id.")


def _plain(value: str | None) -> str | None:
    """Refuse control characters: these texts become URLs, command lines and paths."""
    if value is not None and any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must not hold control characters (such as a NUL or a line break)")
    return value


class NewServer(BaseModel):
    """The options of ``aims gateway server add``: ``url`` or ``command``, one of the two."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "files", "url": "https://files.example/mcp", "owner": "owner@example.org"}
            ]
        },
    )
    name: Name = Field(description="Short name; prefixes its tools (NAME__TOOL).")
    url: str | None = Field(None, max_length=2000, description="Its streamable HTTP endpoint.")
    command: str | None = Field(
        None, max_length=2000, description="Or: the command that starts it (needs admin of *)."
    )
    owner: Name = Field(description="The principal who answers for it and approves its tools.")
    credential: str | None = Field(
        None,
        max_length=2000,
        description="Where the gateway's secret for it lives: env:VARIABLE or file:PATH "
        "(never the secret; needs admin of *).",
    )
    project: str | None = Field(
        None, max_length=200, description="Its project (default: the server workspace's)."
    )

    _no_controls = field_validator("name", "url", "command", "owner", "credential")(_plain)

    @field_validator("url")
    @classmethod
    def _readable_url(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                urlsplit(value)
            except ValueError as exc:
                raise ValueError(f"cannot be read as a URL ({exc})") from None
        return value


class Entry(BaseModel):
    """One allow-list entry: an agent, a server and one of its tools (``*``: all of them)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "agent": "report-bot",
                    "server": "files",
                    "tool": "read_file",
                    "constraints": {"path": {"prefix": "/data/reports/"}},
                }
            ]
        },
    )
    agent: Name
    server: Name
    tool: Name
    constraints: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per argument: prefix, max, enum or pattern (see docs/gateway.md).",
    )


class Revocation(BaseModel):
    """The allow-list entry to remove."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"agent": "report-bot", "server": "files", "tool": "read_file"}]
        },
    )
    agent: Name
    server: Name
    tool: Name


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


def _no_server(name: str) -> str:
    return f"no server named {name}; see 'aims gateway server list'"


def _server_projects(ws: Any) -> dict[str, str]:
    from aims.storage.schema import GatewayServer

    with ws.db.session() as s:
        return dict(s.execute(select(GatewayServer.name, GatewayServer.project)).tuples().all())


async def _check_server(request: Request, principal: Principal, name: str, role: str) -> str:
    """The project of server ``name``, once ``principal`` holds ``role`` there (else 404/403)."""
    from aims.storage.schema import GatewayServer

    project_of = select(GatewayServer.project).where(GatewayServer.name == name)
    return await check_row(request, principal, project_of, role, _no_server(name))


async def _shown(request: Request, principal: Principal, project: str | None, rows: list[Any]):
    """The rows (each naming a ``server``) of the projects ``principal`` sees.

    A row of a server since removed counts as of every project: only a caller
    of every project sees it.
    """
    shown = visible_projects(principal, project)
    if shown is None:
        return rows
    projects = await in_thread(_server_projects, workspace(request))
    return [r for r in rows if projects.get(r["server"], ALL_PROJECTS) in shown]


def _refuse(request: Request, principal: Principal, reason: str, message: str) -> ApiError:
    error = ApiError(403, "permission_denied", message)
    error.reason = reason
    return request.app.state.aims.guard.refuse(
        error, client=client_of(request), path=request.url.path, key_id=principal.key_id
    )


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
            raise _refuse(
                request,
                principal,
                "not_a_person",
                f"{who}; a person must approve {what}: use a key of an enabled human principal",
            )
        if principal.top_rank < role_rank(role):
            raise _refuse(
                request,
                principal,
                "role_too_low",
                f"this route needs the {role} role or higher; the token has {principal.role}",
            )
        return principal

    # Read by aims.server.route_roles, as for require(): the route's lowest role.
    dependency.aims_role = role  # type: ignore[attr-defined]  # a function attribute
    return dependency


# -- servers ---------------------------------------------------------------------------------


@router.get("/v1/gateway/servers", responses=answers(422))
async def list_servers(
    request: Request,
    project: Annotated[str | None, Query(max_length=200, description="Only this project.")] = None,
    principal: Principal = Depends(require("viewer")),
) -> Any:
    """The registered servers of the caller's projects (``aims gateway server list``)."""
    from aims.services.gateway.inventory import list_servers as run

    rows = await in_thread(run, workspace(request))
    shown = visible_projects(principal, project)
    return rows if shown is None else [r for r in rows if r["project"] in shown]


@router.post(
    "/v1/gateway/servers",
    status_code=201,
    responses=answers(
        404,
        409,
        422,
        s403="Role too low on the project, or a command or credential without admin of *.",
        s404="The owner is not an enabled principal.",
    ),
)
async def add_server(
    request: Request, body: NewServer, principal: Principal = Depends(require("admin"))
) -> Any:
    """Register an upstream MCP server (``aims gateway server add``)."""
    from aims.services.gateway.inventory import add_server as run

    if (body.url is None) == (body.command is None):
        raise InvalidInput("give the server's url, or the command that starts it (one of the two)")
    project = (body.project or workspace(request).settings.project).strip()
    check_project(request, principal, project, "admin")
    if (body.command is not None or body.credential is not None) and principal.role_on(
        ALL_PROJECTS
    ) != "admin":
        what = "a server started by a command" if body.command else "a server's credential"
        raise _refuse(
            request,
            principal,
            "role_too_low",
            f"{what} needs the admin role on every project (a token of project '*'): the "
            f"command runs, and the credential is read, as the user of aims serve; the token "
            f"has {principal.role_on(project)} on {project}",
        )
    return await in_thread(
        run,
        workspace(request),
        body.name,
        owner=body.owner,
        url=body.url or body.command or "",
        transport="http" if body.url is not None else "stdio",
        credential=body.credential,
        project=project,
        actor=principal.actor,
    )


@router.delete("/v1/gateway/servers/{server}", responses=answers(404))
async def remove_server(
    request: Request,
    server: Annotated[str, SERVER],
    principal: Principal = Depends(require("admin")),
) -> Any:
    """Remove a server with its allow-list entries and pins (``aims gateway server remove``)."""
    from aims.services.gateway.inventory import remove_server as run

    await _check_server(request, principal, server, "admin")
    return await in_thread(run, workspace(request), server, actor=principal.actor)


# -- allow-lists -----------------------------------------------------------------------------


@router.get("/v1/gateway/allowed", responses=answers(422))
async def list_allowed(
    request: Request,
    agent: Annotated[str | None, Query(max_length=200, description="Only this agent.")] = None,
    project: Annotated[str | None, Query(max_length=200, description="Only this project.")] = None,
    principal: Principal = Depends(require("viewer")),
) -> Any:
    """Allow-list entries of servers of the caller's projects (``aims gateway allowed``)."""
    from aims.services.gateway.allowlist import list_allowed as run

    rows = await in_thread(run, workspace(request), agent)
    return await _shown(request, principal, project, rows)


@router.post("/v1/gateway/allowed", responses=answers(404, 422))
async def allow(
    request: Request, body: Entry, principal: Principal = Depends(require("admin"))
) -> Any:
    """Allow an agent a tool of a server, within constraints (``aims gateway allow``)."""
    from aims.services.gateway.allowlist import allow as run

    await _check_server(request, principal, body.server, "admin")
    return await in_thread(
        run,
        workspace(request),
        body.agent,
        body.server,
        body.tool,
        constraints=body.constraints,
        actor=principal.actor,
    )


@router.post("/v1/gateway/allowed/revoke", responses=answers(404, 422))
async def revoke(
    request: Request, body: Revocation, principal: Principal = Depends(require("admin"))
) -> Any:
    """Remove one allow-list entry (``aims gateway revoke``)."""
    from aims.services.gateway.allowlist import revoke as run

    await _check_server(request, principal, body.server, "admin")
    return await in_thread(
        run, workspace(request), body.agent, body.server, body.tool, actor=principal.actor
    )


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
        await _check_server(request, principal, server, "viewer")
    rows = await in_thread(run, workspace(request), server)
    return await _shown(request, principal, project, rows)


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

    await _check_server(request, principal, body.server, "viewer")
    return await in_thread(run, workspace(request), body.server, body.tool, actor=principal.actor)


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
    """Calls to high-risk tools of the caller's projects, oldest first (``aims gateway calls
    pending``)."""
    from aims.services.gateway.calls import list_calls as run

    rows = await in_thread(run, workspace(request), status=None if status == "all" else status)
    return await _shown(request, principal, project, rows)


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
    return await in_thread(
        decide, workspace(request), call_id, approve=approve, actor=principal.actor, note=note
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
