"""What people recorded for an audit counts only as far as the audit log vouches for it.

The statement of applicability, evidence kept outside aims and audit findings
are rows in the store, and a row can be written straight into the database.
As for approvals and risk assessments (:mod:`aims.services.anchors`), each one
counts only when an authentic audit event records it and says the same thing:

* an entry of the statement, when the event it points to (``audit_seq``) is its
  ``soa.include`` or ``soa.exclude`` with the same version and justification;
  an exclusion's approval, when a ``soa.approve`` event by the approver names
  that version;
* a piece of evidence, when its ``evidence.add`` event names the same control,
  hash, owner and interval; its approval, when an ``evidence.approve`` event by
  the approver exists; its review date is the newest one an ``evidence.add`` or
  ``evidence.review`` event gives, whatever the column says;
* a finding is closed only when a ``finding.close`` event says so.

A row that fails counts as if it were not there (a closed finding stays open).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.core.audit import ChainEvent
from aims.services import audit
from aims.storage.schema import (
    Applicability,
    AuditEvent,
    AuditHead,
    ExternalEvidence,
    ManagementReview,
    ReviewFinding,
)

__all__ = ["Voucher", "unvouched"]


class Voucher:
    """Checks rows against the authentic audit events of one session."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self.key = audit.session_key(s)
        head = s.get(AuditHead, 1)
        self.keyed_from = head.keyed_from if head is not None else 1

    def _authentic(self, ev: AuditEvent) -> bool:
        chain = ChainEvent(
            ev.seq, ev.ts, ev.actor, ev.action, ev.subject, ev.payload, ev.prev_hash, ev.hash
        )
        return ev.hash == chain.recompute(key=self.key if ev.seq >= self.keyed_from else None)

    def events(self, subject: str, action: str) -> Iterator[tuple[AuditEvent, dict[str, Any]]]:
        """The authentic events of ``action`` on ``subject``, oldest first, with their payload."""
        rows = self.s.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject == subject, AuditEvent.action == action)
            .order_by(AuditEvent.seq)
        ).all()
        for ev in rows:
            try:
                body = json.loads(ev.payload)
            except ValueError:
                continue
            if isinstance(body, dict) and self._authentic(ev):
                yield ev, body

    def _event_at(self, seq: int | None) -> tuple[AuditEvent, dict[str, Any]] | None:
        if seq is None:
            return None
        ev = self.s.scalar(select(AuditEvent).where(AuditEvent.seq == seq))
        if ev is None or not self._authentic(ev):
            return None
        try:
            body = json.loads(ev.payload)
        except ValueError:
            return None
        return (ev, body) if isinstance(body, dict) else None

    # -- statement of applicability -----------------------------------------------------------

    def entry(self, row: Applicability, subject: str) -> bool:
        """Whether the event at ``row.audit_seq`` records this entry of the statement."""
        found = self._event_at(row.audit_seq)
        if found is None:
            return False
        ev, body = found
        return (
            ev.action == ("soa.include" if row.applicable else "soa.exclude")
            and ev.subject == subject
            and ev.actor == row.proposed_by
            and body.get("version") == row.version
            and body.get("justification") == row.justification
            and bool(body.get("evidence_approval")) == bool(row.evidence_approval)
        )

    def entry_approval(self, row: Applicability, subject: str) -> bool:
        """Whether a ``soa.approve`` event by ``row.approved_by`` approves this version."""
        return row.approved_by is not None and any(
            ev.actor == row.approved_by and body.get("version") == row.version
            for ev, body in self.events(subject, "soa.approve")
        )

    # -- evidence kept outside aims -----------------------------------------------------------

    def piece(self, row: ExternalEvidence) -> bool:
        """Whether the event at ``row.audit_seq`` is this piece's ``evidence.add``."""
        found = self._event_at(row.audit_seq)
        if found is None:
            return False
        ev, body = found
        return (
            ev.action == "evidence.add"
            and ev.subject == f"evidence:{row.id}"
            and ev.actor == row.created_by
            and body.get("control") == row.control_id
            and body.get("project") == row.project
            and body.get("sha256") == row.sha256
            and body.get("owner") == row.owner
            and body.get("review_every_days") == row.review_every_days
        )

    def reviewed_on(self, row: ExternalEvidence) -> str | None:
        """The newest review date the audit log gives the piece (its adding counts as one)."""
        subject = f"evidence:{row.id}"
        dates = [
            str(body.get("reviewed_on") or ev.ts[:10])
            for ev, body in self.events(subject, "evidence.add")
        ]
        dates += [
            str(body.get("reviewed_on")) for _, body in self.events(subject, "evidence.review")
        ]
        return max(dates) if dates else None

    def piece_approval(self, row: ExternalEvidence) -> bool:
        """Whether an ``evidence.approve`` event by ``row.approved_by`` exists."""
        return row.approved_by is not None and any(
            ev.actor == row.approved_by
            for ev, _ in self.events(f"evidence:{row.id}", "evidence.approve")
        )

    # -- findings -----------------------------------------------------------------------------

    def closed(self, row: ReviewFinding) -> bool:
        """Whether a ``finding.close`` event closed the finding."""
        return row.status == "closed" and any(
            True for _ in self.events(f"finding:{row.id}", "finding.close")
        )

    def review(self, row: ManagementReview) -> bool:
        """Whether the event at ``row.audit_seq`` records this audit or review."""
        found = self._event_at(row.audit_seq)
        if found is None:
            return False
        ev, body = found
        return (
            ev.action == f"{row.kind}.record"
            and ev.subject == f"review:{row.id}"
            and ev.actor == row.created_by
            and body.get("title") == row.title
            and body.get("held_on") == row.held_on
            and body.get("project") == row.project
        )

    def finding(self, row: ReviewFinding) -> bool:
        """Whether the event at ``row.audit_seq`` is this finding's ``finding.add``."""
        found = self._event_at(row.audit_seq)
        if found is None:
            return False
        ev, body = found
        return (
            ev.action == "finding.add"
            and ev.subject == f"finding:{row.id}"
            and ev.actor == row.created_by
            and body.get("review") == row.review_id
            and body.get("kind") == row.kind
            and body.get("control") == row.control_id
            and body.get("owner") == row.owner
            and body.get("due") == row.due
        )


def _row(table: str, row: Any, what: str, why: str) -> dict[str, Any]:
    return {
        "kind": "unanchored",
        "table": table,
        "id": row.id,
        "audit_seq": row.audit_seq,
        "message": f"{what} (row {table} #{row.id}) {why}: it was written outside aims, "
        "and the evidence report does not count it",
    }


def unvouched(s: Session) -> list[dict[str, Any]]:
    """Every row of the statement, evidence kept outside aims, audits and findings, or a
    change to one (an approval, a review date, a removal, a closure), that no authentic
    audit event records; described as :func:`aims.services.anchors.unanchored` lists
    the other governance rows, for ``aims audit verify``."""
    entries = s.scalars(select(Applicability).order_by(Applicability.id)).all()
    pieces = s.scalars(select(ExternalEvidence).order_by(ExternalEvidence.id)).all()
    reviews = s.scalars(select(ManagementReview).order_by(ManagementReview.id)).all()
    findings = s.scalars(select(ReviewFinding).order_by(ReviewFinding.id)).all()
    if not (entries or pieces or reviews or findings):
        return []  # nothing to check: the chain's key is not even read
    v = Voucher(s)
    no_event = "has no matching audit event"
    out = []
    for a in entries:
        subject = f"soa:{a.project}:{a.control_id}"
        what = f"statement entry {a.control_id} v{a.version} of {a.project}"
        if not v.entry(a, subject):
            out.append(_row("applicability", a, what, no_event))
        elif a.approved_by is not None and not v.entry_approval(a, subject):
            out.append(_row("applicability", a, f"{what}, approved by {a.approved_by}",
                            "has no soa.approve event by that person"))  # fmt: skip
    for e in pieces:
        what = f"evidence #{e.id} of {e.control_id} ({e.name})"
        if not v.piece(e):
            out.append(_row("external_evidence", e, what, no_event))
            continue
        if e.approved_by is not None and not v.piece_approval(e):
            out.append(_row("external_evidence", e, f"{what}, approved by {e.approved_by}",
                            "has no evidence.approve event by that person"))  # fmt: skip
        if e.reviewed_on > (v.reviewed_on(e) or ""):
            out.append(_row("external_evidence", e, f"{what}, reviewed on {e.reviewed_on}",
                            "has no evidence.review event of that date"))  # fmt: skip
        removed = any(True for _ in v.events(f"evidence:{e.id}", "evidence.remove"))
        if e.removed_at is not None and not removed:
            out.append(_row("external_evidence", e, f"{what}, removed",
                            "has no evidence.remove event"))  # fmt: skip
    for r in reviews:
        if not v.review(r):
            out.append(_row("management_reviews", r, f"{r.kind} #{r.id} ({r.title})", no_event))
    for f in findings:
        what = f"finding #{f.id} of review #{f.review_id}"
        if not v.finding(f):
            out.append(_row("findings", f, what, no_event))
        elif f.status == "closed" and not v.closed(f):
            out.append(_row("findings", f, f"{what}, closed", "has no finding.close event"))
    return out
