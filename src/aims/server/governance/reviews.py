"""Internal audits (clause 9.2), management reviews (clause 9.3), their findings and
corrective actions (clause 10.2): ``aims review ...`` over HTTP.

==================================  =========  ===========================
route                               role       command
==================================  =========  ===========================
``POST /v1/reviews``                scientist  ``aims review add``
``POST /v1/reviews/{id}/findings``  scientist  ``aims review finding``
``POST /v1/findings/{id}/close``    scientist  ``aims review close``
``GET /v1/reviews``                 viewer     ``aims review list``
==================================  =========  ===========================

An audit or review belongs to the project it was recorded for (``project``
query parameter, else the server workspace's; ``*`` is the organisation's),
and its findings with it: a caller without a grant there gets the 404 of one
that does not exist, as for an incident a finding would link to.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from aims.server.auth import Principal, require
from aims.server.governance._common import in_thread, workspace
from aims.server.governance._scope import answers, check_row
from aims.server.governance.evidence import PROJECT, ROW, checked_project
from aims.server.schemas import Name, Text

__all__ = ["router"]

router = APIRouter(tags=["reviews"])


class Review(BaseModel):
    """An internal audit (clause 9.2) or a management review (clause 9.3)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"kind": "management-review", "title": "Annual review", "held_on": "2026-01-10"}
            ]
        },
    )
    kind: Name = Field(description="internal-audit or management-review.")
    title: Text
    held_on: Name = Field(description="The date it was held, YYYY-MM-DD.")
    summary: Text = ""


class Finding(BaseModel):
    """A finding, its owner, due date and corrective action (clause 10.2)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"summary": "No review minutes", "owner": "dpo@example.org", "due": "2026-03-01"}
            ]
        },
    )
    kind: Name = Field("nonconformity", description="nonconformity, observation or improvement.")
    summary: Text
    owner: Name
    due: Name = Field(description="Due date, YYYY-MM-DD.")
    control: Name | None = Field(None, description="The control it is about.")
    corrective_action: Text = ""
    incident: int | None = Field(None, ge=1, le=2**63 - 1, description="A linked incident.")


class Closure(BaseModel):
    """What was done to close the finding."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "minutes are kept now"}]}
    )
    note: Text


async def _check_review(request: Request, principal: Principal, review_id: int) -> None:
    from aims.storage.schema import ManagementReview

    project_of = select(ManagementReview.project).where(ManagementReview.id == review_id)
    await check_row(request, principal, project_of, "scientist", _no_review(review_id))


async def _check_finding(request: Request, principal: Principal, finding_id: int) -> None:
    from aims.storage.schema import ManagementReview, ReviewFinding

    project_of = (
        select(ManagementReview.project)
        .join(ReviewFinding, ReviewFinding.review_id == ManagementReview.id)
        .where(ReviewFinding.id == finding_id)
    )
    await check_row(request, principal, project_of, "scientist", _no_finding(finding_id))


def _no_review(review_id: int) -> str:
    return f"no audit or review #{review_id}; 'aims review list' shows them"


def _no_finding(finding_id: int) -> str:
    return f"no finding #{finding_id}; 'aims review list' shows them"


@router.post("/v1/reviews", status_code=201, responses=answers(422))
async def add_review(
    request: Request,
    body: Review,
    project: Annotated[str | None, PROJECT] = None,
    principal: Principal = Depends(require("scientist")),
) -> Any:
    """Record an internal audit or a management review; answers it with its number."""
    from aims.services.management_review import record_review

    name = checked_project(request, principal, project, "scientist")
    out = await in_thread(
        record_review,
        workspace(request),
        kind=body.kind,
        title=body.title,
        held_on=body.held_on,
        summary=body.summary,
        actor=principal.actor,
        project=name,
    )
    return jsonable_encoder(out)


@router.post("/v1/reviews/{review_id}/findings", status_code=201, responses=answers(404, 422))
async def add_finding(
    request: Request,
    review_id: Annotated[int, ROW],
    body: Finding,
    principal: Principal = Depends(require("scientist")),
) -> Any:
    """Add a finding to an audit or review; a linked incident must be one the caller sees."""
    from aims.server.governance.incidents import _check as check_incident
    from aims.services.management_review import add_finding as run

    await _check_review(request, principal, review_id)
    if body.incident is not None:
        await check_incident(request, principal, body.incident, "viewer")
    out = await in_thread(
        run,
        workspace(request),
        review_id,
        kind=body.kind,
        summary=body.summary,
        owner=body.owner,
        due=body.due,
        control=body.control,
        corrective_action=body.corrective_action,
        incident=body.incident,
        actor=principal.actor,
    )
    return jsonable_encoder(out)


@router.post("/v1/findings/{finding_id}/close", responses=answers(404, 409, 422))
async def close_finding(
    request: Request,
    finding_id: Annotated[int, ROW],
    body: Closure,
    principal: Principal = Depends(require("scientist")),
) -> Any:
    """Close a finding, saying what was done (the corrective action's outcome)."""
    from aims.services.management_review import close_finding as run

    await _check_finding(request, principal, finding_id)
    out = await in_thread(
        run, workspace(request), finding_id, actor=principal.actor, closure=body.note
    )
    return jsonable_encoder(out)


@router.get("/v1/reviews", responses=answers(422))
async def list_reviews(
    request: Request,
    project: Annotated[str | None, PROJECT] = None,
    principal: Principal = Depends(require("viewer")),
) -> Any:
    """Every audit and review of the project (and the organisation's), with findings."""
    from aims.services.management_review import list_reviews as run

    name = checked_project(request, principal, project, "viewer")
    return jsonable_encoder(await in_thread(run, workspace(request), name))
