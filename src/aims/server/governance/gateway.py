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
owner decides the agent's call). Every refusal, the routes' and the
services' (a 403, or a 409 for a pin already approved, a call already
decided, a server name taken), is noted in the audit log as
``server.access.denied`` with its reason.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from aims.core.roles import ALL_PROJECTS
from aims.errors import Conflict, InvalidInput
from aims.server.auth import Principal, require
from aims.server.governance import gateway_approvals
from aims.server.governance._common import check_project, in_thread, workspace
from aims.server.governance._gateway_scope import act, check_server, refuse, shown
from aims.server.governance._scope import answers, visible_projects
from aims.server.schemas import Name

router = APIRouter(tags=["gateway"])

SERVER = Path(max_length=200, description="The server's name.")


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
        raise refuse(
            request,
            principal,
            "role_too_low",
            f"{what} needs the admin role on every project (a token of project '*'): the "
            f"command runs, and the credential is read, as the user of aims serve; the token "
            f"has {principal.role_on(project)} on {project}",
        )
    return await act(
        request,
        principal,
        {Conflict: "already_registered"},
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

    await check_server(request, principal, server, "admin")
    return await act(request, principal, {}, run, workspace(request), server, actor=principal.actor)


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
    return await shown(request, principal, project, rows)


@router.post("/v1/gateway/allowed", responses=answers(404, 422))
async def allow(
    request: Request, body: Entry, principal: Principal = Depends(require("admin"))
) -> Any:
    """Allow an agent a tool of a server, within constraints (``aims gateway allow``)."""
    from aims.services.gateway.allowlist import allow as run

    await check_server(request, principal, body.server, "admin")
    return await act(
        request,
        principal,
        {},
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

    await check_server(request, principal, body.server, "admin")
    return await act(
        request,
        principal,
        {},
        run,
        workspace(request),
        body.agent,
        body.server,
        body.tool,
        actor=principal.actor,
    )


# Pins and waiting calls: their routes are this router's too.
router.include_router(gateway_approvals.router)
