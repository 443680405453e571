"""The audit log: events (with a cursor), verification, checkpoints, the public key.

The chain is one for every project, so reading all of it, verifying it and
signing a checkpoint of it need the operator role on every project (a token
of project ``*``); an operator of one project reads the events of one of its
models (``model=``). The public key that verifies checkpoints is public.

A checkpoint is answered, never written on the server: the caller keeps it
outside the store (``aims audit checkpoint --out FILE`` does), and sends it
back to have the chain checked against it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from aims.core.roles import ALL_PROJECTS
from aims.server.auth import Principal, client_of, require
from aims.server.governance._common import check_model, in_thread, workspace
from aims.server.governance._scope import answers
from aims.server.problems import ApiError

router = APIRouter(tags=["audit"])

PAGE = 1000
"""Events in one answer when no ``limit`` is given."""


class Verification(BaseModel):
    """What to verify the chain against, besides itself."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"checkpoint": None, "public_key": None}]}
    )
    checkpoint: str | None = Field(
        None,
        max_length=65_536,
        description="A checkpoint's text (from POST /v1/audit/checkpoints): also prove the "
        "chain still extends it.",
    )
    public_key: str | None = Field(
        None,
        max_length=200,
        description="The base64 key to check the checkpoint's signature with "
        "(default: this workspace's own).",
    )


def _whole_chain(request: Request, principal: Principal, what: str) -> None:
    """Refuse (403) a caller who is not an operator of every project."""
    from aims.services.keys import role_rank

    if principal.project == ALL_PROJECTS and principal.rank >= role_rank("operator"):
        return
    error = ApiError(
        403,
        "permission_denied",
        f"{what} needs the operator role on every project (a token of project '*'): the "
        f"chain holds every project's events; the token has {principal.role} on "
        f"{principal.project}",
    )
    error.reason = "role_too_low" if principal.project == ALL_PROJECTS else "wrong_project"
    raise request.app.state.aims.guard.refuse(
        error, client=client_of(request), path=request.url.path, key_id=principal.key_id
    )


@router.get("/v1/audit/events", responses=answers(404, 422))
async def events(
    request: Request,
    actor: Annotated[str | None, Query(max_length=200, description="Who acted.")] = None,
    action: Annotated[
        str | None, Query(max_length=200, description="e.g. model.promote, or model.*")
    ] = None,
    model: Annotated[
        str | None, Query(max_length=200, description="Only this model's events.")
    ] = None,
    since: Annotated[datetime | None, Query(description="From this moment (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Before this moment (ISO 8601).")] = None,
    after: Annotated[
        int | None,
        Query(ge=0, description="Cursor: events after this sequence number, oldest first."),
    ] = None,
    limit: Annotated[
        int | None,
        Query(ge=1, le=10_000, description="At most this many (the newest, without after)."),
    ] = None,
    principal: Principal = Depends(require("operator")),
) -> Any:
    """Audit events (``aims audit log``).

    Page through the log from its start with ``after``: ``after=0`` first,
    then ``after`` = the last ``seq`` received, until an answer holds fewer
    than ``limit`` events. Without ``after``, ``limit`` gives the newest
    events; without either, the first page of the log.
    """
    from aims.services.audit import EventFilter, query

    subject = None
    if model is not None:
        await check_model(request, principal, model, "operator")
        subject = f"model:{model}"
    else:
        _whole_chain(request, principal, "reading the whole audit log")
    if after is None and limit is None:
        after, limit = 0, PAGE
    flt = EventFilter(
        subject=subject,
        actor=actor,
        action=action,
        since=since,
        limit=limit,
        until=until,
        after=after,
    )
    return await in_thread(query, workspace(request).db, flt)


@router.post("/v1/audit/verify", responses=answers(422))
async def verify(
    request: Request,
    body: Verification = Verification(),
    principal: Principal = Depends(require("operator")),
) -> Any:
    """Verify the chain, optionally against a checkpoint, and every governance row
    against its event (``aims audit verify``). ``ok`` says whether all holds; every
    problem is named."""
    from aims.core.audit_checkpoint import Checkpoint
    from aims.services.audit_checkpoint import report

    _whole_chain(request, principal, "verifying the audit log")
    checkpoint = None
    if body.checkpoint is not None:
        checkpoint = Checkpoint.parse(body.checkpoint, source="the checkpoint sent")
    return await in_thread(report, workspace(request).db, checkpoint, body.public_key)


@router.post(
    "/v1/audit/checkpoints",
    status_code=201,
    responses=answers(500, s500="The chain is broken: nothing is signed."),
)
async def checkpoint(request: Request, principal: Principal = Depends(require("operator"))) -> Any:
    """A signed statement of the chain's size and head, to keep outside the store
    (``aims audit checkpoint``); ``text`` is the checkpoint file's content."""
    from aims.services.audit_checkpoint import make_checkpoint

    _whole_chain(request, principal, "signing a checkpoint of the audit log")
    cp = await in_thread(make_checkpoint, workspace(request).db)
    return {
        "events": cp.events,
        "head_hash": cp.head_hash,
        "keyed_from": cp.keyed_from,
        "time": cp.time,
        "public_key": cp.public_key,
        "signature": cp.signature,
        "text": cp.to_text(),
    }


@router.get("/v1/audit/public-key", responses=answers())
async def public_key(request: Request, principal: Principal = Depends(require("viewer"))) -> Any:
    """The key that verifies this workspace's checkpoints (``aims audit public-key``)."""
    from aims.services.audit_checkpoint import public_key as run

    return {"public_key": await in_thread(run, workspace(request).db)}
