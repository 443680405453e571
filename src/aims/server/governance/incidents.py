"""Incidents: list, show, acknowledge, resolve (``aims incidents ...``).

An incident belongs to a project (its model's, or the project of the MCP
server, agent or caller it is about): a caller without a grant there gets the
answer an incident that does not exist gets (404), and the list shows only the
caller's projects.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from aims.server.auth import Principal, require
from aims.server.governance._common import in_thread, workspace
from aims.server.governance._scope import answers, check_row, visible_projects
from aims.server.schemas import Text

router = APIRouter(tags=["incidents"])

INCIDENT = Path(ge=1, le=2**63 - 1, description="The incident's id.")
Status = Literal["open", "acked", "resolved", "active", "all"]
SubjectKind = Literal["model", "mcp_server", "agent", "principal", "api_key", "client"]


class Acknowledgement(BaseModel):
    """What the person acknowledging is doing about it."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "looking at the inputs"}]}
    )
    note: Text = ""


class Resolution(BaseModel):
    """The root cause and the corrective action, kept as the resolution."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"note": "root cause: upstream unit change; corrective action: retrained"}]
        },
    )
    note: Text = Field(description="Root cause and corrective action.")


def _hidden(incident_id: int) -> str:
    return f"incident {incident_id} does not exist; see 'aims incidents list'"


async def _check(request: Request, principal: Principal, incident_id: int, role: str) -> None:
    from aims.storage.schema import Incident

    project_of = select(Incident.project).where(Incident.id == incident_id)
    await check_row(request, principal, project_of, role, _hidden(incident_id))


@router.get("/v1/incidents", responses=answers(422))
async def list_incidents(
    request: Request,
    status: Annotated[
        Status, Query(description="open, acked, resolved, active (not resolved) or all.")
    ] = "active",
    project: Annotated[str | None, Query(max_length=200, description="Only this project.")] = None,
    model: Annotated[str | None, Query(max_length=200, description="Only this model.")] = None,
    subject_kind: Annotated[
        SubjectKind | None,
        Query(description="Only incidents about this kind of subject (a model, an MCP server...)."),
    ] = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000, description="Newest N only.")] = None,
    principal: Principal = Depends(require("viewer")),
) -> Any:
    """Incidents of the caller's projects, newest first (``aims incidents list``).

    Each names its ``project`` and what it is about (``subject_kind``,
    ``subject``); ``model`` is ``null`` for an incident about no model.
    """
    from aims.services.monitor.incidents import list_incidents as run

    # Filtered by project in the query, so the newest N are the caller's newest N.
    return await in_thread(
        run,
        workspace(request),
        status=status,
        model=model,
        subject_kind=subject_kind,
        limit=limit,
        projects=visible_projects(principal, project),
    )


@router.get("/v1/incidents/{incident_id}", responses=answers(404))
async def show_incident(
    request: Request,
    incident_id: Annotated[int, INCIDENT],
    principal: Principal = Depends(require("viewer")),
) -> Any:
    """One incident: what fired, on which windows, the actions, the resolution."""
    from aims.services.monitor.incidents import show_incident as run

    await _check(request, principal, incident_id, "viewer")
    return await in_thread(run, workspace(request), incident_id)


@router.post("/v1/incidents/{incident_id}/acknowledge", responses=answers(404, 409))
async def acknowledge(
    request: Request,
    incident_id: Annotated[int, INCIDENT],
    body: Acknowledgement = Acknowledgement(),
    principal: Principal = Depends(require("scientist")),
) -> Any:
    """Acknowledge an open incident: the token's principal is on it (``aims incidents ack``)."""
    from aims.services.monitor.incidents import ack_incident

    await _check(request, principal, incident_id, "scientist")
    return await in_thread(
        ack_incident, workspace(request), incident_id, actor=principal.actor, note=body.note
    )


@router.post("/v1/incidents/{incident_id}/resolve", responses=answers(404, 409, 422))
async def resolve(
    request: Request,
    incident_id: Annotated[int, INCIDENT],
    body: Resolution,
    principal: Principal = Depends(require("scientist")),
) -> Any:
    """Resolve an incident with its root cause and corrective action (``aims incidents resolve``)."""
    from aims.services.monitor.incidents import resolve_incident

    await _check(request, principal, incident_id, "scientist")
    return await in_thread(
        resolve_incident, workspace(request), incident_id, actor=principal.actor, note=body.note
    )
