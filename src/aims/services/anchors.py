"""Governance rows tied to the audit events that recorded them.

An approval, a risk assessment, an evaluation or a stage transition is written
in the same transaction as its audit event, and stores that event's position
(``audit_seq``). A row counts only when that event exists, is authentic (its
hash is the one its content gives: with the audit key for keyed events), and
says the same thing as the row (action, subject, actor, and the content the
gates read). A row inserted or edited straight in the database therefore
counts for nothing, and :func:`unanchored` lists it for ``aims audit verify``,
with the rows of the statement of applicability, evidence kept outside aims,
audits and findings that :mod:`aims.services.evidence_anchors` finds unvouched.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.core.audit import ChainEvent, canonical_json
from aims.storage.db import Database
from aims.storage.schema import (
    Approval,
    AuditEvent,
    AuditHead,
    Evaluation,
    Model,
    ModelVersion,
    RiskAssessment,
    StageTransition,
)

__all__ = ["content_digest", "is_anchored", "unanchored", "vouched_stage"]

STAGE_ACTIONS = ("model.promote", "model.promote.override", "model.rollback")


def content_digest(value: Any) -> str:
    """SHA-256 of a JSON value's canonical form, stored in the event that records it."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def _approval(s: Session, row: Approval, ev: AuditEvent, body: dict[str, Any]) -> bool:
    mv = s.get(ModelVersion, row.model_version_id)
    roles = body.get("roles") or []
    return (
        mv is not None
        and ev.action == "model.approve"
        and ev.subject == f"model:{mv.model.name}@{mv.version}"
        and ev.actor == row.actor
        and (",".join(roles) or None) == row.role
    )


def _risk(s: Session, row: RiskAssessment, ev: AuditEvent, body: dict[str, Any]) -> bool:
    model = s.get(Model, row.model_id)
    return (
        model is not None
        and ev.action == "risk.assess"
        and ev.subject == f"model:{model.name}"
        and ev.actor == row.created_by
        and body.get("version") == row.version
        and body.get("tier") == row.tier
        # Events of older releases carry no digest; their rows are matched on the rest.
        and body.get("document_sha256", content_digest(row.document))
        == content_digest(row.document)
    )


def _evaluation(s: Session, row: Evaluation, ev: AuditEvent, body: dict[str, Any]) -> bool:
    mv = s.get(ModelVersion, row.model_version_id)
    return (
        mv is not None
        and ev.action == "model.evaluate"
        and ev.subject == f"model:{mv.model.name}@{mv.version}"
        and ev.actor == row.created_by
        and body.get("data_hash") == row.data_hash
        and body.get("result_sha256", content_digest(row.result)) == content_digest(row.result)
    )


def _transition(s: Session, row: StageTransition, ev: AuditEvent, body: dict[str, Any]) -> bool:
    mv = s.get(ModelVersion, row.model_version_id)
    if mv is None or ev.action not in STAGE_ACTIONS or ev.actor != row.actor:
        return False
    prefix = f"model:{mv.model.name}"
    if not (ev.subject == prefix or ev.subject.startswith(prefix + "@")):
        return False
    if row.to_stage == "archived":
        return True  # the version a promotion or rollback replaced
    if ev.action == "model.rollback":
        return row.to_stage == "production" and body.get("to") == mv.version
    return body.get("stage") == row.to_stage and ev.subject == f"{prefix}@{mv.version}"


# The governance rows that an audit event must anchor.
Governed = Approval | RiskAssessment | Evaluation | StageTransition

MATCHERS: dict[type[Governed], Callable[[Session, Any, AuditEvent, dict[str, Any]], bool]] = {
    Approval: _approval,
    RiskAssessment: _risk,
    Evaluation: _evaluation,
    StageTransition: _transition,
}


def _authentic(s: Session, ev: AuditEvent, key: bytes) -> bool:
    head = s.get(AuditHead, 1)
    keyed_from = head.keyed_from if head is not None else 1
    chain_event = ChainEvent(
        ev.seq, ev.ts, ev.actor, ev.action, ev.subject, ev.payload, ev.prev_hash, ev.hash
    )
    return ev.hash == chain_event.recompute(key=key if ev.seq >= keyed_from else None)


def is_anchored(s: Session, row: Any, key: bytes) -> bool:
    """Whether ``row`` is tied to an authentic audit event that records it."""
    if row.audit_seq is None:
        return False
    ev = s.scalar(select(AuditEvent).where(AuditEvent.seq == row.audit_seq))
    if ev is None or not _authentic(s, ev, key):
        return False
    try:
        body = json.loads(ev.payload)
    except ValueError:
        return False
    return isinstance(body, dict) and MATCHERS[type(row)](s, row, ev, body)


def vouched_stage(s: Session, mv: ModelVersion, key: bytes) -> str:
    """The stage the newest audited stage change of ``mv`` put it in (``registered``: none).

    A stage set straight in the database, with no audited transition, is not
    the version's stage as far as the gates are concerned.
    """
    rows = s.scalars(
        select(StageTransition)
        .where(StageTransition.model_version_id == mv.id)
        .order_by(StageTransition.id.desc())
    )
    row = next((r for r in rows if is_anchored(s, r, key)), None)
    return "registered" if row is None else row.to_stage


def _describe(s: Session, row: Any) -> str:
    if isinstance(row, RiskAssessment):
        model = s.get(Model, row.model_id)
        return f"risk assessment v{row.version} of {model.name if model else '?'}"
    mv = s.get(ModelVersion, row.model_version_id)
    ref = f"{mv.model.name}@{mv.version}" if mv else "?"
    if isinstance(row, Approval):
        return f"approval of {ref} by {row.actor}"
    if isinstance(row, Evaluation):
        return f"evaluation of {ref} by {row.created_by}"
    return f"stage change of {ref} to {row.to_stage} by {row.actor}"


def unanchored(db: Database, key: bytes) -> list[dict[str, Any]]:
    """Every governance row with no matching audit event, described for a report."""
    out = []
    with db.session() as s:
        for table in MATCHERS:
            # select() of a union of mapped classes types its rows as their common Base.
            rows = cast("Sequence[Governed]", s.scalars(select(table).order_by(table.id)).all())
            for row in rows:
                if not is_anchored(s, row, key):
                    why = "no audit event" if row.audit_seq is None else "no matching audit event"
                    out.append(
                        {
                            "kind": "unanchored",
                            "table": table.__tablename__,
                            "id": row.id,
                            "audit_seq": row.audit_seq,
                            "message": f"{_describe(s, row)} (row {table.__tablename__} "
                            f"#{row.id}) has {why}: it was written outside aims, and the "
                            "gates do not count it",
                        }
                    )
        for mv in s.scalars(select(ModelVersion).order_by(ModelVersion.id)).all():
            vouched = vouched_stage(s, mv, key)
            if mv.stage != vouched:
                out.append(
                    {
                        "kind": "unanchored",
                        "table": "model_versions",
                        "id": mv.id,
                        "audit_seq": None,
                        "message": f"{mv.model.name}@{mv.version} is in stage {mv.stage!r} but "
                        f"its audited stage changes leave it in {vouched!r}: the stage was set "
                        "outside aims, and the gates do not count it",
                    }
                )
        # The statement of applicability, evidence kept outside aims, audits and findings.
        from aims.services.evidence_anchors import unvouched

        out.extend(unvouched(s))
    return out
