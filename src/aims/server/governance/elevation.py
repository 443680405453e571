"""Just-in-time elevation over HTTP: ask for a time-bound role, decide, revoke, list.

Anyone with a grant on a project may ask for a higher role there; the
requester is always the token's principal. Approving or denying needs a token
holding the requested role (or a higher one) on the elevation's project, and
the service checks the deciding principal's own grant too: the requester never
decides, an agent never approves. An elevation of a project the caller has no
grant on answers as one that does not exist (404).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from aims.core.roles import ALL_PROJECTS
from aims.errors import InvalidInput, NotFound
from aims.server.auth import Principal, require
from aims.server.governance._common import check_project, in_thread, workspace
from aims.server.governance._scope import answers, check_hidden, visible_projects
from aims.server.schemas import Text

router = APIRouter(tags=["elevation"])

Role = Literal["viewer", "predictor", "scientist", "approver", "operator", "admin"]
Status = Literal["pending", "active", "lapsed", "denied", "revoked"]
ELEVATION_ID = Path(ge=1, le=2**62, description="The elevation's id.")
LONGEST_ASKED = 10 * 366 * 86400
"""Seconds an elevation request may name at all (ten years); the workspace's
``access.elevation_max`` (8h by default) is the real bound, checked by the service."""


class ElevationRequest(BaseModel):
    """The options of ``aims elevate``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"role": "operator", "project": "credit", "seconds": 1800, "reason": "hotfix"}
            ]
        },
    )
    role: Role
    project: str | None = Field(
        None, max_length=100, description="The project; default: the token's own project."
    )
    seconds: int = Field(
        ge=1,
        le=LONGEST_ASKED,
        description="How long it lasts once approved, in seconds; at most "
        "access.elevation_max (8h unless aims.yaml says otherwise).",
    )
    reason: Text = Field(description="Why (recorded in the audit log).")


class Decision(BaseModel):
    """A note kept with an approval or a denial."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "ok"}]})
    note: Text = ""


class Ending(BaseModel):
    """Why an elevation ends early."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "done"}]})
    reason: Text = ""


@router.post("/v1/elevations", status_code=201, responses=answers(409, 422))
async def request_elevation(
    request: Request, body: ElevationRequest, principal: Principal = Depends(require("viewer"))
) -> Any:
    """Ask for a time-bound role on a project (``aims elevate``); pending until decided."""
    from aims.services.elevation import request_elevation as run

    project = body.project or principal.project
    if project == ALL_PROJECTS:
        raise InvalidInput("an elevation is for one project; give 'project' in the body")
    check_project(request, principal, project, "viewer")
    return await in_thread(
        run,
        workspace(request),
        actor=principal.actor,
        role=body.role,
        project=project,
        seconds=body.seconds,
        reason=body.reason,
    )


@router.get("/v1/elevations", responses=answers(422))
async def list_elevations(
    request: Request,
    project: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[Status | None, Query()] = None,
    principal: Principal = Depends(require("viewer")),
) -> Any:
    """Elevations of the caller's projects, newest first (``aims elevation list``)."""
    from aims.services.elevation import list_elevations as run

    return await in_thread(
        run,
        workspace(request),
        project=project,
        status=status,
        projects=visible_projects(principal, project),
    )


async def _target(
    request: Request, principal: Principal, elevation_id: int, *, deciding: bool
) -> None:
    """Refuse a caller without a grant on the elevation's project (404, as if it did not
    exist) or, when ``deciding``, without the elevation's role there (403)."""
    from aims.services.elevation import scope_of

    hidden = f"elevation {elevation_id} does not exist; see 'aims elevation list'"
    try:
        project, role = await in_thread(scope_of, workspace(request), elevation_id)
    except NotFound:
        raise NotFound(hidden) from None
    check_hidden(request, principal, project, role if deciding else "viewer", hidden)


@router.post("/v1/elevations/{elevation_id}/approve", responses=answers(404, 409))
async def approve(
    request: Request,
    elevation_id: Annotated[int, ELEVATION_ID],
    body: Decision = Decision(),
    principal: Principal = Depends(require("viewer")),
) -> Any:
    """Approve another principal's pending elevation (``aims elevation approve``)."""
    return await _decide(request, principal, elevation_id, body, approve=True)


@router.post("/v1/elevations/{elevation_id}/deny", responses=answers(404, 409))
async def deny(
    request: Request,
    elevation_id: Annotated[int, ELEVATION_ID],
    body: Decision = Decision(),
    principal: Principal = Depends(require("viewer")),
) -> Any:
    """Deny another principal's pending elevation (``aims elevation deny``)."""
    return await _decide(request, principal, elevation_id, body, approve=False)


async def _decide(
    request: Request, principal: Principal, elevation_id: int, body: Decision, *, approve: bool
) -> Any:
    from aims.services.elevation import decide

    await _target(request, principal, elevation_id, deciding=True)
    return await in_thread(
        decide,
        workspace(request),
        elevation_id,
        actor=principal.actor,
        approve=approve,
        note=body.note,
    )


@router.post("/v1/elevations/{elevation_id}/revoke", responses=answers(404, 409))
async def revoke(
    request: Request,
    elevation_id: Annotated[int, ELEVATION_ID],
    body: Ending = Ending(),
    principal: Principal = Depends(require("viewer")),
) -> Any:
    """End an active elevation now: its requester, or someone who could approve it."""
    from aims.services.elevation import revoke_elevation

    await _target(request, principal, elevation_id, deciding=False)
    return await in_thread(
        revoke_elevation,
        workspace(request),
        elevation_id,
        actor=principal.actor,
        reason=body.reason,
    )
