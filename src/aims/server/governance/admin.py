"""Administration: principals, their grants, and API keys.

A principal (person, service or agent) acts across projects, so adding,
disabling or re-kinding one, and listing them, needs the admin role on every
project (a token of project ``*``). A grant is given on one project and needs
the admin role there; so does a key, which may narrow its principal's grant,
never widen it (the service refuses a wider one). A key made here always acts
for a principal: the one named in the body, else the caller's own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from aims.core.roles import ALL_PROJECTS
from aims.errors import InvalidInput
from aims.server.auth import Principal, client_of, require
from aims.server.governance._common import check_project, in_thread, workspace
from aims.server.governance._scope import answers, check_key, visible_projects
from aims.server.problems import ApiError
from aims.server.schemas import Text

router = APIRouter(tags=["administration"])

Role = Literal["viewer", "predictor", "scientist", "approver", "operator", "admin"]
Kind = Literal["human", "service", "agent"]
PRINCIPAL = Path(max_length=200, description="The principal's name.")
PROJECT = Path(max_length=200, description="A project, or * for every project.")
KEY_ID = Path(max_length=64, description="The key id (the part after 'aims.').")


class NewPrincipal(BaseModel):
    """The options of ``aims principals add``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "ana@example.org", "kind": "human"}]},
    )
    name: str = Field(max_length=200)
    kind: Kind
    email: str | None = Field(None, max_length=320)
    owner: str | None = Field(
        None, max_length=200, description="The enabled human who answers for a service or agent."
    )


class NewKind(BaseModel):
    """The options of ``aims principals kind``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "agent", "owner": "ana@example.org"}]},
    )
    kind: Kind
    owner: str | None = Field(None, max_length=200)


class Reason(BaseModel):
    """Why (recorded in the audit log)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "left"}]})
    reason: Text = ""


class GrantBody(BaseModel):
    """A role on a project, optionally until a moment."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"role": "approver", "expires": None}]}
    )
    role: Role
    expires: datetime | None = Field(
        None, description="When the grant lapses (ISO 8601, UTC when no zone); none: it stays."
    )


class NewKey(BaseModel):
    """The options of ``aims keys create``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"project": "credit", "role": "predictor", "name": "scoring service"}]
        },
    )
    project: str = Field(max_length=200, description="The project, or * for every project.")
    role: Role | None = Field(None, description="Default: the principal's grant on the project.")
    principal: str | None = Field(
        None, max_length=200, description="Who the key acts for (default: the caller)."
    )
    name: Text = Field("", description="What the key is for (shown in lists).")
    expires_at: datetime | None = Field(
        None, description="Default: server.key_expiry_days from now (see never_expires)."
    )
    never_expires: bool = False


def _everywhere(request: Request, principal: Principal, what: str) -> None:
    """Refuse (403) a caller who is not admin of every project."""
    if principal.project == ALL_PROJECTS and principal.role == "admin":
        return
    error = ApiError(
        403,
        "permission_denied",
        f"{what} needs the admin role on every project (a token of project '*'): "
        f"principals act across projects; the token has {principal.role} on "
        f"{principal.project}",
    )
    error.reason = "role_too_low" if principal.project == ALL_PROJECTS else "wrong_project"
    raise request.app.state.aims.guard.refuse(
        error, client=client_of(request), path=request.url.path, key_id=principal.key_id
    )


@router.get("/v1/principals", responses=answers())
async def list_principals(
    request: Request,
    enabled: Annotated[bool, Query(description="Only enabled principals.")] = False,
    principal: Principal = Depends(require("admin")),
) -> Any:
    """Every principal with kind, owner, status, grants and active keys (``aims principals list``)."""
    from aims.services.identity import list_principals as run

    _everywhere(request, principal, "listing principals")
    return await in_thread(run, workspace(request), include_disabled=not enabled)


@router.post("/v1/principals", status_code=201, responses=answers(409, 422))
async def add_principal(
    request: Request, body: NewPrincipal, principal: Principal = Depends(require("admin"))
) -> Any:
    """Add a principal; services and agents need an owner (``aims principals add``)."""
    from aims.services.identity import add_principal as run

    _everywhere(request, principal, "adding a principal")
    return await in_thread(
        run,
        workspace(request),
        body.name,
        kind=body.kind,
        email=body.email,
        owner=body.owner,
        actor=principal.actor,
    )


@router.post("/v1/principals/{principal_name}/disable", responses=answers(404, 409))
async def disable_principal(
    request: Request,
    principal_name: Annotated[str, PRINCIPAL],
    body: Reason = Reason(),
    principal: Principal = Depends(require("admin")),
) -> Any:
    """Disable a principal: its keys stop at once, its tokens at the next poll."""
    from aims.services.identity import disable_principal as run

    _everywhere(request, principal, "disabling a principal")
    return await in_thread(
        run, workspace(request), principal_name, actor=principal.actor, reason=body.reason
    )


@router.put("/v1/principals/{principal_name}/kind", responses=answers(404, 409, 422))
async def set_kind(
    request: Request,
    principal_name: Annotated[str, PRINCIPAL],
    body: NewKind,
    principal: Principal = Depends(require("admin")),
) -> Any:
    """Change a principal's kind and owner (``aims principals kind``)."""
    from aims.services.identity import set_kind as run

    _everywhere(request, principal, "changing a principal's kind")
    return await in_thread(
        run,
        workspace(request),
        principal_name,
        kind=body.kind,
        owner=body.owner,
        actor=principal.actor,
    )


@router.put("/v1/principals/{principal_name}/grants/{project}", responses=answers(404, 409, 422))
async def grant(
    request: Request,
    principal_name: Annotated[str, PRINCIPAL],
    project: Annotated[str, PROJECT],
    body: GrantBody,
    principal: Principal = Depends(require("admin")),
) -> Any:
    """Give a principal a role on a project, replacing its grant there (``aims grant``)."""
    from aims.services.identity import grant as run

    check_project(request, principal, project, "admin")
    return await in_thread(
        run,
        workspace(request),
        principal_name,
        role=body.role,
        project=project,
        actor=principal.actor,
        expires_at=body.expires,
    )


@router.delete("/v1/principals/{principal_name}/grants/{project}", responses=answers(404))
async def revoke_grant(
    request: Request,
    principal_name: Annotated[str, PRINCIPAL],
    project: Annotated[str, PROJECT],
    reason: Annotated[str, Query(max_length=2000, description="Why (audited).")] = "",
    principal: Principal = Depends(require("admin")),
) -> Any:
    """Take back a principal's grant on a project (``aims revoke-grant``)."""
    from aims.services.identity import revoke_grant as run

    check_project(request, principal, project, "admin")
    return await in_thread(
        run,
        workspace(request),
        principal_name,
        project=project,
        actor=principal.actor,
        reason=reason,
    )


@router.get("/v1/keys", responses=answers())
async def list_keys(
    request: Request,
    project: Annotated[str | None, Query(max_length=200, description="Only this project.")] = None,
    all_: Annotated[
        bool, Query(alias="all", description="Include revoked and expired keys.")
    ] = False,
    principal: Principal = Depends(require("admin")),
) -> Any:
    """API keys of the caller's projects, never their secrets (``aims keys list``)."""
    from aims.services.keys import list_keys as run

    rows = await in_thread(run, workspace(request), project=project, include_inactive=all_)
    shown = visible_projects(principal, project)
    return rows if shown is None else [r for r in rows if r["project"] in shown]


def _expiry(request: Request, body: NewKey) -> datetime | None:
    if body.never_expires:
        if body.expires_at is not None:
            raise InvalidInput("give expires_at or never_expires, not both")
        return None
    if body.expires_at is not None:
        return body.expires_at
    days = request.app.state.aims.config.key_expiry_days
    return datetime.now(UTC) + timedelta(days=days)


@router.post(
    "/v1/keys",
    status_code=201,
    responses=answers(
        404, 422, s403="Role too low, or a key wider than its principal's grant on the project."
    ),
)
async def create_key(
    request: Request,
    body: Annotated[NewKey, Body()],
    principal: Principal = Depends(require("admin")),
) -> Any:
    """Create an API key for a principal; the answer holds the key, shown this once."""
    from aims.services.identity import grant_role_of
    from aims.services.keys import create_key as run

    check_project(request, principal, body.project, "admin")
    holder = body.principal or principal.name
    if holder is None:
        raise InvalidInput(
            "name the principal the key acts for (principal); the calling key belongs to none"
        )
    ws = workspace(request)
    # Without a role the key takes its principal's grant, as 'aims keys create' does.
    role: str = body.role if body.role is not None else ""
    if not role:
        role = await in_thread(grant_role_of, ws, holder, body.project)
    info, secret = await in_thread(
        run,
        ws,
        project=body.project,
        role=role,
        actor=principal.actor,
        name=body.name,
        expires_at=_expiry(request, body),
        principal=holder,
    )
    return {**info, "api_key": secret}


@router.post("/v1/keys/{key_id}/revoke", responses=answers(404, 409))
async def revoke_key(
    request: Request,
    key_id: Annotated[str, KEY_ID],
    body: Reason = Reason(),
    principal: Principal = Depends(require("admin")),
) -> Any:
    """Revoke a key; servers refuse its tokens within their poll interval (``aims keys revoke``)."""
    from aims.services.keys import revoke_key as run

    await check_key(request, principal, key_id)
    return await in_thread(
        run, workspace(request), key_id, actor=principal.actor, reason=body.reason
    )
