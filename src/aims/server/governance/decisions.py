"""Decisions: risk assessments, approvals, gates, promote, rollback, history.

Each route calls the service the matching command calls (``aims risk``,
``aims approve``, ``aims gates``, ``aims promote``, ``aims rollback``,
``aims history``) with the token's principal as the actor, and answers with
the document that service returns. The four-eyes rule is the service's: the
registrant of a version may not approve it, through any key of hers, and an
agent never approves (403 either way, the refusal audited).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from aims.errors import ConfigError, InvalidInput, NotFound, PermissionDenied
from aims.server.auth import Principal, require
from aims.server.governance._common import check_model, in_thread, workspace
from aims.server.governance._scope import answers, model_projects, visible_projects
from aims.server.schemas import Text

router = APIRouter(tags=["decisions"])

VERSION = Path(ge=1, le=2**31 - 1, description="The version number.")
MODEL = Path(max_length=200, description="The model's name.")


class Approval(BaseModel):
    """An approval: what the approver checked (recorded with it)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "read the evaluation"}]}
    )
    note: Text = ""


class Promotion(BaseModel):
    """The options of ``aims promote``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"stage": "production", "reason": "passed review"}]},
    )
    stage: Literal["staging", "production"] = "production"
    canary: float | None = Field(
        None, gt=0, lt=100, description="Serve beside production on this percent of traffic."
    )
    shadow: bool = Field(False, description="Receive a copy of production traffic.")
    reason: Text = Field("", description="Why (recorded in the audit log).")
    override: bool = Field(
        False,
        description="Promote despite unmet rules (admin role on the project and in aims.yaml; "
        "needs a reason; marked in the audit log).",
    )
    force: bool = Field(
        False,
        description="Promote although the version's input contract refuses requests "
        "production accepts (needs a reason; the difference is audited).",
    )


class Rollback(BaseModel):
    """The options of ``aims rollback``."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "accuracy fell"}]}
    )
    reason: Text = Field("", description="Why (recorded in the audit log).")
    force: bool = Field(
        False,
        description="Roll back although the earlier version's input contract refuses requests "
        "the current one accepts (needs a reason).",
    )


RISK_EXAMPLE = {
    "intended_use": "Rank loan applications for manual review",
    "risk_tier": "high",
    "failure_modes": [
        {"name": "drift", "likelihood": "possible", "impact": "major", "mitigation": "monitor"}
    ],
    "data_dependencies": ["applications@1"],
    "downstream_impact": "Applicants wait longer for a decision",
    "residual_risk": "medium",
    "reviewer": "risk@example.org",
    "assessed_on": "2026-01-10",
    "next_review": "2027-01-10",
}


@router.post(
    "/v1/models/{name}/risk",
    responses=answers(404, 422, s422="The assessment is not valid; the problem names the key."),
)
async def assess_risk(
    request: Request,
    name: Annotated[str, MODEL],
    document: Annotated[
        dict[str, Any],
        Body(
            description="The risk assessment: the same keys as a risk.yaml file "
            "(see docs/policy.md).",
            examples=[RISK_EXAMPLE],
        ),
    ],
    principal: Principal = Depends(require("scientist")),
) -> Any:
    """Record a new version of the model's risk assessment (``aims risk assess``)."""
    from aims.core.risk import load_risk
    from aims.services.risk import assess_risk as run

    await check_model(request, principal, name, "scientist")
    try:
        load_risk(document, model=name)
    except ConfigError as exc:
        # The document is the caller's input here, not the server's settings.
        raise InvalidInput(exc.message) from None
    return await in_thread(run, workspace(request), name, document, actor=principal.actor)


@router.get("/v1/models/{name}/risk", responses=answers(404))
async def show_risk(
    request: Request,
    name: Annotated[str, MODEL],
    principal: Principal = Depends(require("viewer")),
) -> Any:
    """The model's risk assessment in force (``aims risk show``)."""
    from aims.services.risk import show_risk as run

    await check_model(request, principal, name, "viewer")
    out = await in_thread(run, workspace(request), name)
    if out is None:
        raise NotFound(f"model {name!r} has no risk assessment; record one with 'aims risk assess'")
    return out


@router.get("/v1/risk", responses=answers())
async def list_risks(
    request: Request,
    project: Annotated[str | None, Query(max_length=200, description="Only this project.")] = None,
    principal: Principal = Depends(require("viewer")),
) -> Any:
    """The latest risk assessment of every model of the caller's projects (``aims risk list``)."""
    from aims.services.risk import list_risks as run

    ws = workspace(request)
    rows = await in_thread(run, ws)
    shown = visible_projects(principal, project)
    if shown is None:
        return rows
    projects = await in_thread(model_projects, ws)
    return [r for r in rows if projects.get(r["model"]) in shown]


@router.post(
    "/v1/models/{name}/versions/{version}/approvals",
    responses=answers(
        404,
        409,
        s403="Role too low, the registrant approving her own version (through any of her "
        "keys), or an agent: agents never approve.",
    ),
)
async def approve(
    request: Request,
    name: Annotated[str, MODEL],
    version: Annotated[int, VERSION],
    body: Approval = Approval(),
    principal: Principal = Depends(require("approver")),
) -> Any:
    """Approve a version as the token's principal (``aims approve``); never its registrant."""
    from aims.services.approvals import approve as run

    await check_model(request, principal, name, "approver")
    return await in_thread(
        run, workspace(request), f"{name}@{version}", actor=principal.actor, note=body.note
    )


@router.get("/v1/models/{name}/versions/{version}/gates", responses=answers(404))
async def gates(
    request: Request,
    name: Annotated[str, MODEL],
    version: Annotated[int, VERSION],
    stage: Literal["staging", "production"] = Query(
        "production", description="The stage the rules are for."
    ),
    principal: Principal = Depends(require("viewer")),
) -> Any:
    """Every policy rule for promoting the version, and which are unmet (``aims gates``).

    The answer is 200 whether or not every rule passes; ``passed`` says which.
    """
    from aims.services.gates import gates as run

    await check_model(request, principal, name, "viewer")
    return await in_thread(run, workspace(request), f"{name}@{version}", stage)


@router.post(
    "/v1/models/{name}/versions/{version}/promotions",
    responses=answers(
        404, 409, 422, s409="Refused by the gates (every unmet rule listed), or already there."
    ),
)
async def promote(
    request: Request,
    name: Annotated[str, MODEL],
    version: Annotated[int, VERSION],
    body: Promotion,
    principal: Principal = Depends(require("operator")),
) -> Any:
    """Promote a version through the promotion checks (``aims promote``)."""
    from aims.services.lifecycle import promote as run

    project = await check_model(request, principal, name, "operator")
    if body.canary is not None and body.shadow:
        raise InvalidInput("choose one of canary (a percent of traffic) and shadow")
    if body.override and principal.role_on(project) != "admin":
        raise PermissionDenied(
            f"overriding the promotion policy needs the admin role on project {project}; "
            f"the token has {principal.role_on(project)}"
        )
    target = "canary" if body.canary is not None else "shadow" if body.shadow else body.stage
    return await in_thread(
        run,
        workspace(request),
        f"{name}@{version}",
        target,
        actor=principal.actor,
        reason=body.reason,
        traffic=body.canary,
        override_reason=body.reason if body.override else None,
        force_reason=body.reason if body.force else None,
    )


@router.post("/v1/models/{name}/rollback", responses=answers(404, 409, 422))
async def rollback(
    request: Request,
    name: Annotated[str, MODEL],
    body: Rollback = Rollback(),
    principal: Principal = Depends(require("operator")),
) -> Any:
    """Put the previous production version back into production (``aims rollback``)."""
    from aims.services.lifecycle import rollback as run

    await check_model(request, principal, name, "operator")
    return await in_thread(
        run,
        workspace(request),
        name,
        actor=principal.actor,
        reason=body.reason,
        force_reason=body.reason if body.force else None,
    )


@router.get("/v1/models/{name}/history", responses=answers(404))
async def history(
    request: Request,
    name: Annotated[str, MODEL],
    principal: Principal = Depends(require("viewer")),
) -> Any:
    """Who moved which version to which stage, when and why (``aims history``)."""
    from aims.services.lifecycle import history as run

    await check_model(request, principal, name, "viewer")
    return await in_thread(run, workspace(request), name)
