"""The risk tier in force of many models at once, as the inventory lists them.

The tier in force is that of the newest risk assessment its audit event
vouches for (as ``aims risk show``): the check is
:func:`aims.services.anchors.is_anchored`'s, done here for every model with
one query for the rows and one per 500 events, and remembered per row.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aims.storage.schema import AuditEvent, RiskAssessment
from aims.workspace import Workspace

__all__ = ["vouched_tiers"]


def vouched_tiers(
    ws: Workspace, s: Session, within: Callable[[Any], Any], today: dt.date
) -> dict[int, tuple[str, bool]]:
    """``{model id: (tier, review overdue)}`` for the models ``within`` keeps (by model id)."""
    from aims.services.risk import latest_risk

    out: dict[int, tuple[str, bool]] = {}
    # The newest risk assessment of each model, if its audit event vouches for it
    # (else the newest that does).
    newest = (
        select(RiskAssessment.model_id, func.max(RiskAssessment.version).label("v"))
        .where(within(RiskAssessment.model_id))
        .group_by(RiskAssessment.model_id)
        .subquery()
    )
    facts = list(
        s.execute(
            select(
                RiskAssessment.id,
                RiskAssessment.model_id,
                RiskAssessment.version,
                RiskAssessment.tier,
                RiskAssessment.next_review,
                RiskAssessment.created_by,
                RiskAssessment.audit_seq,
                func.length(RiskAssessment.document),
                AuditEvent.hash,
            )
            .join(
                newest,
                (newest.c.model_id == RiskAssessment.model_id)
                & (newest.c.v == RiskAssessment.version),
            )
            .outerjoin(AuditEvent, AuditEvent.seq == RiskAssessment.audit_seq)
        )
    )
    verdicts = _VERDICTS.known(str(ws.root), facts)
    unknown = [f.id for f in facts if f.id not in verdicts]
    if unknown:
        risks = list(s.scalars(select(RiskAssessment).where(RiskAssessment.id.in_(unknown))))
        vouched_ids = _vouched(s, risks)
        verdicts.update({r.id: r.id in vouched_ids for r in risks})
        _VERDICTS.remember(str(ws.root), [f for f in facts if f.id in verdicts], verdicts)
    for f in facts:
        if verdicts.get(f.id):
            tier, review = f.tier, f.next_review
        else:
            older = latest_risk(s, f.model_id)
            if older is None:
                continue
            tier, review = older.tier, older.next_review
        out[f.model_id] = (tier, dt.date.fromisoformat(review) < today)
    return out


class _Verdicts:
    """Whether a risk assessment's audit event vouches for it, remembered per row's facts.

    Checking costs an HMAC and two canonical JSON digests per model; the
    verdict is kept under everything the check and the page read from the row
    and its event (ids, version, tier, next review, author, the event's hash,
    the document's length), so a changed row or event is checked again. The
    gates never read this: it only spares the inventory repeating the check.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[tuple[Any, ...], bool] = {}

    def known(self, where: str, facts: list[Any]) -> dict[int, bool]:
        with self._lock:
            return {f.id: self._known[(where, *f)] for f in facts if (where, *f) in self._known}

    def remember(self, where: str, facts: list[Any], verdicts: dict[int, bool]) -> None:
        with self._lock:
            if len(self._known) > 100_000:
                self._known.clear()
            for f in facts:
                self._known[(where, *f)] = verdicts[f.id]


_VERDICTS = _Verdicts()


def _vouched(s: Session, risks: list[RiskAssessment]) -> set[int]:
    """Ids of the ``risks`` their audit events vouch for, checked with one query per 500.

    The same check as :func:`aims.services.anchors.is_anchored` (an
    authentic event that records the row), with the events read together
    rather than one query per row.
    """
    import json

    from aims.core.audit import ChainEvent
    from aims.services import audit
    from aims.services.anchors import MATCHERS
    from aims.storage.schema import AuditHead

    key = audit.session_key(s)
    head = s.get(AuditHead, 1)
    keyed_from = head.keyed_from if head is not None else 1
    seqs = [r.audit_seq for r in risks if r.audit_seq is not None]
    events: dict[int, AuditEvent] = {}
    for i in range(0, len(seqs), 500):
        chunk = seqs[i : i + 500]
        events.update(
            (e.seq, e) for e in s.scalars(select(AuditEvent).where(AuditEvent.seq.in_(chunk)))
        )
    match = MATCHERS[RiskAssessment]
    out = set()
    for risk in risks:
        ev = events.get(risk.audit_seq) if risk.audit_seq is not None else None
        if ev is None:
            continue
        chain = ChainEvent(
            ev.seq, ev.ts, ev.actor, ev.action, ev.subject, ev.payload, ev.prev_hash, ev.hash
        )
        if ev.hash != chain.recompute(key=key if ev.seq >= keyed_from else None):
            continue
        try:
            body = json.loads(ev.payload)
        except ValueError:
            continue
        if isinstance(body, dict) and match(s, risk, ev, body):
            out.add(risk.id)
    return out
