"""The statement of applicability over HTTP: which ISO/IEC 42001 Annex A controls
apply, and the approved exclusions of those that do not.

=========================================  =========  ===========================================
route                                      role       what (the command it stands for)
=========================================  =========  ===========================================
``GET /v1/soa``                            viewer     the statement (``aims soa show``)
``POST /v1/soa/{control}/exclude``         scientist  propose an exclusion (``aims soa exclude``)
``POST /v1/soa/{control}/include``         scientist  the control applies (``aims soa include``)
``POST /v1/soa/{control}/approve``         approver   approve an exclusion (``aims soa approve``)
=========================================  =========  ===========================================

The project of an act is the ``project`` query parameter, else the server
workspace's project, as locally; ``*`` is the organisation's statement and
needs a grant on every project. The four-eyes rule is the services': an
exclusion is never approved by its proposer (through any of their keys), nor
by an agent.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from aims.server.auth import Principal, require
from aims.server.governance._common import in_thread, workspace
from aims.server.governance._scope import answers
from aims.server.governance.evidence import PROJECT, checked_project
from aims.server.schemas import Text

__all__ = ["router"]

# The statement is part of the evidence an auditor reads: same OpenAPI tag.
router = APIRouter(tags=["evidence"])

CONTROL = Path(max_length=40, description="An ISO/IEC 42001 Annex A control, e.g. A.10.4.")


class Exclusion(BaseModel):
    """Why a control does not apply (an auditor reads it)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"justification": "No AI system is supplied to customers"}]
        },
    )
    justification: Text = Field(description="At least 15 characters.")


class Inclusion(BaseModel):
    """That a control applies, and whether its outside evidence needs a second person."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"evidence_approval": True, "note": "policy kept"}]},
    )
    evidence_approval: bool = Field(
        False, description="Documents kept outside aims count once a second person approves."
    )
    note: Text = Field("", description="Why, or how it is met.")


@router.get("/v1/soa", responses=answers(422))
async def statement(
    request: Request,
    project: Annotated[str | None, PROJECT] = None,
    principal: Principal = Depends(require("viewer")),
) -> Any:
    """Every Annex A control with its entry in force, pending exclusions and history."""
    from aims.services.applicability import statement as run

    name = checked_project(request, principal, project, "viewer")
    return jsonable_encoder(await in_thread(run, workspace(request), name))


@router.post("/v1/soa/{control}/exclude", responses=answers(422))
async def exclude(
    request: Request,
    control: Annotated[str, CONTROL],
    body: Exclusion,
    project: Annotated[str | None, PROJECT] = None,
    principal: Principal = Depends(require("scientist")),
) -> Any:
    """Propose excluding a control; it stays applicable until another person approves."""
    from aims.services.applicability import exclude as run

    name = checked_project(request, principal, project, "scientist")
    out = await in_thread(
        run,
        workspace(request),
        control,
        justification=body.justification,
        actor=principal.actor,
        project=name,
    )
    return jsonable_encoder(out)


@router.post("/v1/soa/{control}/include", responses=answers(422))
async def include(
    request: Request,
    control: Annotated[str, CONTROL],
    body: Inclusion = Inclusion(),
    project: Annotated[str | None, PROJECT] = None,
    principal: Principal = Depends(require("scientist")),
) -> Any:
    """Record that a control applies, in force at once (ends an exclusion)."""
    from aims.services.applicability import include as run

    name = checked_project(request, principal, project, "scientist")
    out = await in_thread(
        run,
        workspace(request),
        control,
        actor=principal.actor,
        project=name,
        evidence_approval=body.evidence_approval,
        note=body.note,
    )
    return jsonable_encoder(out)


@router.post(
    "/v1/soa/{control}/approve",
    responses=answers(404, 422, s403="Role too low, the proposer of the exclusion, or an agent."),
)
async def approve_exclusion(
    request: Request,
    control: Annotated[str, CONTROL],
    project: Annotated[str | None, PROJECT] = None,
    principal: Principal = Depends(require("approver")),
) -> Any:
    """Approve a pending exclusion as the token's principal; never its proposer."""
    from aims.services.applicability import approve as run

    name = checked_project(request, principal, project, "approver")
    out = await in_thread(run, workspace(request), control, actor=principal.actor, project=name)
    return jsonable_encoder(out)
