"""Promotion requests: proposals to move a model version to a stage, decided by a person.

A request is opened by whoever proposes a promotion without the right to make
it: an import that found an MLflow alias ``champion`` or stage ``Production``,
or an agent that thinks a version is ready. Opening one changes no stage. A
person decides it later:

- :func:`decide` with ``approve=True`` runs the ordinary promotion
  (:func:`aims.services.lifecycle.promote`: policy gates, approvals, owners,
  artifact check). When the gates refuse, the refusal is audited as for any
  promotion and the request stays ``open``, to be decided again once the
  evaluation or the approvals are there; when it passes, the request is
  ``approved``. An agent never decides a request (refused, and audited).
- :func:`decide` with ``approve=False`` marks it ``refused``.

The same proposal (version, stage, source) is open at most once; each open,
approval and refusal is an audit event in the transaction that writes it.

API: :func:`open_request` (or :func:`open_in` inside a caller's transaction),
:func:`list_requests`, :func:`decide`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from aims.refs import check_name, parse_ref
from aims.services import audit
from aims.services.registry import get_model_version
from aims.storage.schema import Model, ModelVersion, PromotionRequest
from aims.workspace import Workspace

__all__ = [
    "REQUEST_STAGES",
    "STATUSES",
    "decide",
    "list_requests",
    "open_in",
    "open_request",
    "request_payload",
]

STATUSES = ("open", "approved", "refused")
"""``open`` until decided; ``approved`` once its promotion passed the gates; ``refused`` by a person."""

REQUEST_STAGES = ("staging", "production")
"""Stages a request may propose (a canary needs a traffic share, which a person chooses)."""


def request_payload(req: PromotionRequest) -> dict[str, Any]:
    """A request as plain data (what the CLI prints and the API returns)."""
    mv = req.model_version
    return {
        "id": req.id,
        "model": mv.model.name,
        "version": mv.version,
        "stage": req.stage,
        "status": req.status,
        "requested_by": req.requested_by,
        "source": req.source,
        "reason": req.reason,
        "created_at": req.created_at,
        "decided_by": req.decided_by,
        "decided_at": req.decided_at,
        "decision_note": req.decision_note,
        "version_stage": mv.stage,
    }


def _check_stage(stage: str) -> str:
    if stage not in REQUEST_STAGES:
        raise InvalidInput(
            f"a promotion request proposes one of {', '.join(REQUEST_STAGES)}, not {stage!r}"
        )
    return stage


def _check_source(source: str) -> str:
    source = (source or "").strip()
    if not source or len(source) > 300:
        raise InvalidInput(
            "a promotion request needs a source of at most 300 characters saying where the "
            "proposal comes from, e.g. mlflow:alias=champion or agent:retrainer"
        )
    return source


def open_in(
    s: Session,
    mv: ModelVersion,
    stage: str,
    *,
    requested_by: str,
    source: str,
    reason: str = "",
) -> tuple[PromotionRequest, bool]:
    """Open a request inside the caller's transaction ``s``; returns it and whether it is new.

    An open request for the same version, stage and source is returned as it
    is (``False``): proposing twice is not two proposals. The audit event is
    written in ``s``, so it commits or rolls back with the caller's change.
    """
    _check_stage(stage)
    source = _check_source(source)
    same = s.scalar(
        select(PromotionRequest).where(
            PromotionRequest.model_version_id == mv.id,
            PromotionRequest.stage == stage,
            PromotionRequest.source == source,
            PromotionRequest.status == "open",
        )
    )
    if same is not None:
        return same, False
    req = PromotionRequest(
        model_version_id=mv.id,
        stage=stage,
        requested_by=requested_by,
        source=source,
        reason=reason,
        status="open",
        created_at=audit.now_utc(),
    )
    s.add(req)
    s.flush()
    audit.record(
        s,
        actor=requested_by,
        action="promotion_request.open",
        subject=f"model:{mv.model.name}@{mv.version}",
        payload={"request": req.id, "stage": stage, "source": source, "reason": reason},
    )
    return req, True


def open_request(
    ws: Workspace,
    text: str,
    stage: str,
    *,
    requested_by: str,
    source: str,
    reason: str = "",
) -> tuple[dict[str, Any], bool]:
    """Propose promoting ``NAME@VERSION`` to ``stage``; nothing moves until a person decides.

    Returns the request and whether it is new (see :func:`open_in`).
    """
    ref = parse_ref(text)
    if ref.version is None:
        raise InvalidInput(f"{text!r}: propose a version number, e.g. {ref.name}@1")
    with ws.db.session() as s:
        mv = get_model_version(s, ref)
        req, new = open_in(s, mv, stage, requested_by=requested_by, source=source, reason=reason)
        return request_payload(req), new


def list_requests(
    ws: Workspace, *, status: str | None = None, model: str | None = None
) -> list[dict[str, Any]]:
    """Requests, oldest first, optionally only those with ``status`` or of ``model``."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status {status!r} is unknown; use one of {', '.join(STATUSES)}")
    query = select(PromotionRequest).order_by(PromotionRequest.id)
    if status is not None:
        query = query.where(PromotionRequest.status == status)
    with ws.db.session() as s:
        if model is not None:
            check_name(model, "model name")
            query = (
                query.join(ModelVersion, ModelVersion.id == PromotionRequest.model_version_id)
                .join(Model, Model.id == ModelVersion.model_id)
                .where(Model.name == model)
            )
        return [request_payload(r) for r in s.scalars(query).all()]


def _open_request_row(s: Session, request_id: int) -> PromotionRequest:
    req = s.get(PromotionRequest, request_id)
    if req is None:
        raise NotFound(
            f"promotion request {request_id} does not exist; see 'aims promotion-requests list'"
        )
    if req.status != "open":
        raise Conflict(
            f"promotion request {request_id} is already {req.status} "
            f"(by {req.decided_by}); nothing changed"
        )
    return req


def _refuse_agent(ws: Workspace, request_id: int, ref: str, actor: str) -> None:
    """Agents propose, never decide: refuse (audited) an agent principal as ``actor``."""
    from aims.storage.schema import Principal

    with ws.db.session() as s:
        kind = s.scalar(select(Principal.kind).where(Principal.name == actor))
        if kind != "agent":
            return
        audit.record(
            s,
            actor=actor,
            action="promotion_request.decide.refused",
            subject=f"model:{ref}",
            payload={"request": request_id, "rule": "agent"},
        )
    raise PermissionDenied(
        f"{actor} is an agent, and agents never decide promotion requests; a person must "
        f"run 'aims promotion-requests decide {request_id}'"
    )


def decide(
    ws: Workspace,
    request_id: int,
    *,
    actor: str,
    approve: bool,
    note: str = "",
) -> dict[str, Any]:
    """Decide request ``request_id``: approve it through the promotion gates, or refuse it.

    Approving runs :func:`aims.services.lifecycle.promote` as ``actor``; its
    :class:`~aims.errors.GateFailed` (audited there) leaves the request open and
    propagates. Refusing needs no gates. Deciding a request that is not open is
    a :class:`~aims.errors.Conflict`.
    """
    from aims.services.lifecycle import promote

    with ws.db.session() as s:
        req = _open_request_row(s, request_id)
        ref = f"{req.model_version.model.name}@{req.model_version.version}"
        stage = req.stage
        source = req.source
    _refuse_agent(ws, request_id, ref, actor)
    if approve:
        why = note or f"promotion request {request_id} ({source})"
        promote(ws, ref, stage, actor=actor, reason=why)
    with ws.db.session() as s:
        req = _open_request_row(s, request_id)
        req.status = "approved" if approve else "refused"
        req.decided_by = actor
        req.decided_at = audit.now_utc()
        req.decision_note = note
        s.flush()
        audit.record(
            s,
            actor=actor,
            action=f"promotion_request.{'approve' if approve else 'refuse'}",
            subject=f"model:{ref}",
            payload={"request": request_id, "stage": stage, "source": source, "note": note},
        )
        return request_payload(req)
