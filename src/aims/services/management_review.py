"""Internal audits (clause 9.2), management reviews (clause 9.3) and their findings.

An audit or a review is recorded with the date it was held; each finding has
a kind (``nonconformity``, ``observation`` or ``improvement``), an owner, a
due date, and the corrective action decided (clause 10.2). A finding may name
the Annex A control it is about, and the incident it came from or led to. An
open nonconformity is shown in the evidence report, and turns the control it
names partial until it is closed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from aims.errors import Conflict, InvalidInput, NotFound
from aims.services import audit
from aims.services.external_evidence import check_control
from aims.storage.schema import Incident, ManagementReview, ReviewFinding
from aims.workspace import Workspace

__all__ = [
    "FINDING_KINDS",
    "REVIEW_KINDS",
    "add_finding",
    "close_finding",
    "findings",
    "list_reviews",
    "record_review",
]

REVIEW_KINDS = ("internal-audit", "management-review")
FINDING_KINDS = ("nonconformity", "observation", "improvement")


def _date(text: str | dt.date, what: str) -> dt.date:
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise InvalidInput(f"{what} {text!r} is not a date; write it as YYYY-MM-DD") from None


def _choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    v = value.strip().lower()
    if v not in allowed:
        raise InvalidInput(f"{what} {value!r} is not one of {', '.join(allowed)}")
    return v


def record_review(
    ws: Workspace,
    *,
    kind: str,
    title: str,
    held_on: str | dt.date,
    actor: str,
    summary: str = "",
    project: str | None = None,
) -> dict[str, Any]:
    """Record an internal audit or a management review; returns it with its number."""
    kind = _choice(kind, REVIEW_KINDS, "--kind")
    if not title.strip():
        raise InvalidInput("give the audit or review a title: --title TEXT")
    day = _date(held_on, "--held-on")
    proj = (project or ws.settings.project).strip()
    with ws.db.session() as s:
        row = ManagementReview(
            kind=kind,
            project=proj,
            title=title.strip(),
            held_on=day.isoformat(),
            summary=summary,
            created_by=actor,
            created_at=audit.now_utc(),
        )
        s.add(row)
        s.flush()
        audit.record(
            s,
            actor=actor,
            action=f"{kind}.record",
            subject=f"review:{row.id}",
            payload={"title": row.title, "held_on": row.held_on, "project": proj},
            anchors=(row,),
        )
        return _review_dict(row, [])


def add_finding(
    ws: Workspace,
    review_id: int,
    *,
    kind: str,
    summary: str,
    owner: str,
    due: str | dt.date,
    actor: str,
    control: str | None = None,
    corrective_action: str = "",
    incident: int | None = None,
) -> dict[str, Any]:
    """Add a finding to audit or review ``review_id``, with its owner, due date and action."""
    kind = _choice(kind, FINDING_KINDS, "--kind")
    if not summary.strip():
        raise InvalidInput("say what was found: --summary TEXT")
    if not owner.strip():
        raise InvalidInput("name who acts on the finding: --owner EMAIL")
    day = _date(due, "--due")
    ctl = check_control(control) if control else None
    with ws.db.session() as s:
        review = s.get(ManagementReview, int(review_id))
        if review is None:
            raise NotFound(f"no audit or review #{review_id}; 'aims review list' shows them")
        if incident is not None and s.get(Incident, int(incident)) is None:
            raise NotFound(f"no incident #{incident}; 'aims incidents list' shows them")
        row = ReviewFinding(
            review_id=review.id,
            kind=kind,
            control_id=ctl,
            summary=summary.strip(),
            owner=owner.strip(),
            due=day.isoformat(),
            corrective_action=corrective_action.strip(),
            incident_id=incident,
            status="open",
            created_by=actor,
            created_at=audit.now_utc(),
        )
        s.add(row)
        s.flush()
        audit.record(
            s,
            actor=actor,
            action="finding.add",
            subject=f"finding:{row.id}",
            payload={
                "review": review.id,
                "kind": kind,
                "control": ctl,
                "owner": row.owner,
                "due": row.due,
                "incident": incident,
                "corrective_action": row.corrective_action,
            },
            anchors=(row,),
        )
        return _finding_dict(row, audit.now_utc().date())


def close_finding(ws: Workspace, finding_id: int, *, actor: str, closure: str) -> dict[str, Any]:
    """Close a finding, saying what was done (the corrective action's outcome)."""
    if not closure.strip():
        raise InvalidInput("say what was done to close the finding: --note TEXT")
    with ws.db.session() as s:
        row = s.get(ReviewFinding, int(finding_id))
        if row is None:
            raise NotFound(f"no finding #{finding_id}; 'aims review list' shows them")
        if row.status == "closed":
            raise Conflict(f"finding #{row.id} is already closed")
        row.status = "closed"
        row.closed_by = actor
        row.closed_at = audit.now_utc()
        row.closure = closure.strip()
        audit.record(
            s,
            actor=actor,
            action="finding.close",
            subject=f"finding:{row.id}",
            payload={"closure": row.closure},
        )
        return _finding_dict(row, audit.now_utc().date())


def _finding_dict(row: ReviewFinding, today: dt.date, closed: bool | None = None) -> dict[str, Any]:
    """The finding as a dictionary; ``closed`` (when given) overrides its status column."""
    status = row.status if closed is None else ("closed" if closed else "open")
    return {
        "id": row.id,
        "review": row.review_id,
        "kind": row.kind,
        "control": row.control_id,
        "summary": row.summary,
        "owner": row.owner,
        "due": row.due,
        "overdue": status == "open" and dt.date.fromisoformat(row.due) < today,
        "corrective_action": row.corrective_action,
        "incident": row.incident_id,
        "status": status,
        "closed_by": row.closed_by,
        "closed_at": row.closed_at.isoformat(timespec="seconds") if row.closed_at else None,
        "closure": row.closure,
        "audit_seq": row.audit_seq,
    }


def _review_dict(row: ManagementReview, found: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "project": row.project,
        "title": row.title,
        "held_on": row.held_on,
        "summary": row.summary,
        "recorded_by": row.created_by,
        "audit_seq": row.audit_seq,
        "findings": found,
    }


def list_reviews(
    ws: Workspace, project: str | None = None, today: dt.date | None = None
) -> list[dict[str, Any]]:
    """Every audit and review of ``project`` (and the organisation's), with its findings."""
    proj = (project or ws.settings.project).strip()
    day = today or audit.now_utc().date()
    from aims.services.evidence_anchors import Voucher

    with ws.db.session() as s:
        voucher = Voucher(s)
        reviews = s.scalars(
            select(ManagementReview)
            .where(ManagementReview.project.in_((proj, "*")))
            .order_by(ManagementReview.held_on, ManagementReview.id)
        ).all()
        out = []
        for r in reviews:
            rows = s.scalars(
                select(ReviewFinding)
                .where(ReviewFinding.review_id == r.id)
                .order_by(ReviewFinding.id)
            ).all()
            # A finding is closed only if its audit event says so.
            found = [_finding_dict(f, day, closed=voucher.closed(f)) for f in rows]
            out.append(_review_dict(r, found))
        return out


def findings(
    ws: Workspace,
    project: str | None = None,
    *,
    status: str = "open",
    kind: str | None = None,
    today: dt.date | None = None,
) -> list[dict[str, Any]]:
    """The findings of ``project``'s audits and reviews (``status``: open, closed or all),
    each with the title and date of the audit or review it came from."""
    out = []
    for r in list_reviews(ws, project, today):
        for f in r["findings"]:
            if status != "all" and f["status"] != status:
                continue
            if kind is not None and f["kind"] != kind:
                continue
            out.append({**f, "review_title": r["title"], "review_kind": r["kind"],
                        "held_on": r["held_on"]})  # fmt: skip
    return out
