"""The ``aims:propose`` tools: open an incident, request a promotion or a rollback.

A proposal changes no stage and decides nothing. A promotion or rollback
request is a :mod:`promotion request <aims.services.promotion_requests>` that a
person decides (``aims promotion-requests decide ID --approve``), which runs
the ordinary promotion through the policy gates as that person; an incident
goes to the model's owner, who acknowledges and resolves it. Each needs the
scientist role on the model's project, as opening an incident over the API does.

A rollback request proposes the version that was in production before the
current one back to production; approving it promotes that version through
the gates (``aims rollback``, which skips the gates, stays a person's act).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field

from aims.errors import Conflict
from aims.services import audit
from aims.services.mcp_read import ModelName, StrictArgs, Version, checked_project
from aims.services.mcp_toolkit import Caller, tool
from aims.workspace import Workspace

PROPOSE = "aims:propose"

Reason = Field(
    min_length=1,
    max_length=2000,
    description="Why, in a sentence or two, for the person who decides.",
)


class IncidentArgs(StrictArgs):
    model: str = ModelName
    summary: str = Field(
        min_length=1, max_length=2000, description="What is wrong, for the model's owner."
    )
    severity: Literal["low", "medium", "high", "critical"] = "medium"
    version: int | None = Field(None, ge=1, le=1_000_000, description="The version concerned.")


class PromotionArgs(StrictArgs):
    model: str = ModelName
    version: int = Version
    stage: Literal["staging", "production"] = Field(description="The stage proposed.")
    reason: str = Reason


class RollbackArgs(StrictArgs):
    model: str = ModelName
    reason: str = Reason


def _source(kind: str, caller: Caller) -> str:
    return f"{kind}:{caller.actor}"[:300]


@tool(
    "open_incident",
    title="Open an incident",
    scope=PROPOSE,
    role="scientist",
    args=IncidentArgs,
    free_text=("summary",),
)
def open_incident(ws: Workspace, caller: Caller, args: IncidentArgs) -> Any:
    """Report a problem with a model as an incident for its owner (the monitoring owner,
    else the first owner), who acknowledges and resolves it. Returns the incident."""
    from aims.refs import Ref
    from aims.services.monitor.incidents import incident_payload
    from aims.services.registry import get_model, get_model_version, owners_by_role
    from aims.storage.schema import Incident

    checked_project(ws, caller, args.model, "scientist")
    with ws.db.session() as s:
        model = get_model(s, args.model)
        if args.version is not None:
            get_model_version(s, Ref(args.model, args.version))
        owners = owners_by_role(model)
        owner = owners.get("monitoring") or next(iter(owners.values()), None)
        now = audit.now_utc()
        incident = Incident(
            dedupe_key=f"reported/{model.id}/{uuid.uuid4().hex}",
            model_id=model.id,
            project=model.project,
            subject_kind="model",
            subject=model.name,
            version=args.version,
            trigger=_source("reported", caller)[:200],
            kind="reported",
            severity=args.severity,
            status="open",
            owner=owner,
            summary=args.summary,
            evidence={"reported_by": caller.actor, "reporter_owner": caller.owner, "via": "mcp"},
            actions=[],
            opened_at=now,
        )
        s.add(incident)
        s.flush()
        audit.record(
            s,
            actor=caller.actor,
            action="incident.reported",
            subject=f"model:{model.name}",
            payload={"incident": incident.id, "severity": args.severity, "owner": owner},
        )
        return incident_payload(incident, model.name)


@tool(
    "request_promotion",
    title="Request a promotion",
    scope=PROPOSE,
    role="scientist",
    args=PromotionArgs,
    free_text=("reason",),
)
def request_promotion(ws: Workspace, caller: Caller, args: PromotionArgs) -> Any:
    """Propose moving a model version to staging or production. Nothing moves: a person
    decides the request, and approving it runs the promotion through the policy gates.
    Proposing the same thing twice returns the open request."""
    from aims.services.promotion_requests import open_request

    checked_project(ws, caller, args.model, "scientist")
    req, new = open_request(
        ws,
        f"{args.model}@{args.version}",
        args.stage,
        requested_by=caller.actor,
        source=_source("mcp", caller),
        reason=args.reason,
    )
    return {**req, "new": new}


@tool(
    "request_rollback",
    title="Request a rollback",
    scope=PROPOSE,
    role="scientist",
    args=RollbackArgs,
    free_text=("reason",),
)
def request_rollback(ws: Workspace, caller: Caller, args: RollbackArgs) -> Any:
    """Propose putting the version that was in production before the current one back into
    production. Nothing moves: a person decides the request through the policy gates."""
    from sqlalchemy import select

    from aims.services.lifecycle import previous_production
    from aims.services.promotion_requests import open_in, request_payload
    from aims.services.registry import get_model
    from aims.storage.schema import ModelVersion

    checked_project(ws, caller, args.model, "scientist")
    with ws.db.session() as s:
        model = get_model(s, args.model)
        current = s.scalar(
            select(ModelVersion).where(
                ModelVersion.model_id == model.id, ModelVersion.stage == "production"
            )
        )
        target = previous_production(s, model.id, current.id if current else None)
        if target is None:
            raise Conflict(
                f"{args.model} has no earlier production version to roll back to; nothing was "
                "requested"
            )
        since = f"version {current.version}" if current is not None else "no version"
        req, new = open_in(
            s,
            target,
            "production",
            requested_by=caller.actor,
            source=_source("mcp-rollback", caller),
            reason=f"rollback from {since}: {args.reason}",
        )
        return {**request_payload(req), "new": new}
