"""Evidence kept for the management system: the statement of applicability, evidence kept outside aims, audits and reviews with their findings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aims.storage.schema.base import TS, Base

__all__ = ["Applicability", "ExternalEvidence", "ManagementReview", "ReviewFinding"]


class Applicability(Base):
    """One version of a control's entry in the statement of applicability.

    ``project`` is a project's name, or ``*`` for the whole organisation. The
    newest entry in force decides: an inclusion is in force when recorded, an
    exclusion only once a second person approves it (four-eyes). Older rows are
    kept, so the statement's history is the table itself.
    """

    __tablename__ = "applicability"
    __table_args__ = (UniqueConstraint("project", "control_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    control_id: Mapped[str] = mapped_column(String(30), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    applicable: Mapped[bool] = mapped_column(Boolean, nullable=False)
    justification: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # External evidence of this control counts only once someone other than its adder approves it.
    evidence_approval: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    proposed_by: Mapped[str] = mapped_column(String(200), nullable=False)
    proposed_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    approved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ExternalEvidence(Base):
    """A document kept outside aims that evidences a control: a stored file or a link.

    A file is kept in the artifact store under its sha256; a link keeps the
    sha256 of what it served when it was added. ``reviewed_on`` plus
    ``review_every_days`` is when it must be reviewed again. Removal is a mark,
    never a delete, so the report can say what was withdrawn and when.
    """

    __tablename__ = "external_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    control_id: Mapped[str] = mapped_column(String(30), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    owner: Mapped[str] = mapped_column(String(320), nullable=False)
    review_every_days: Mapped[int] = mapped_column(Integer, nullable=False)
    reviewed_on: Mapped[str] = mapped_column(String(10), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    approved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    removed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    removed_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ManagementReview(Base):
    """An internal audit (ISO/IEC 42001 clause 9.2) or a management review (clause 9.3)."""

    __tablename__ = "management_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    project: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    held_on: Mapped[str] = mapped_column(String(10), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ReviewFinding(Base):
    """A finding of an audit or review, with its owner, due date and corrective action
    (clause 10.2), optionally linked to the incident it came from or led to."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    review_id: Mapped[int] = mapped_column(
        ForeignKey("management_reviews.id"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    control_id: Mapped[str | None] = mapped_column(String(30), nullable=True)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    owner: Mapped[str] = mapped_column(String(320), nullable=False)
    due: Mapped[str] = mapped_column(String(10), nullable=False)
    corrective_action: Mapped[str] = mapped_column(Text, nullable=False, default="")
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    closed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    closure: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
