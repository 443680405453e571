"""Decisions about versions: risk assessments, approvals, evaluations and promotion requests."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aims.storage.schema.base import TS, Base

if TYPE_CHECKING:
    from aims.storage.schema.inventory import ModelVersion

__all__ = ["Approval", "Evaluation", "PromotionRequest", "RiskAssessment"]


class RiskAssessment(Base):
    """A versioned risk assessment of a model (the latest one is in force)."""

    __tablename__ = "risk_assessments"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    tier: Mapped[str] = mapped_column(String(20), nullable=False)
    document: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    reviewer: Mapped[str] = mapped_column(String(200), nullable=False)
    next_review: Mapped[str] = mapped_column(String(10), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    # The audit event recorded in the same transaction; rows without a matching
    # event are not counted by the gates (see aims.services.anchors).
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Approval(Base):
    """An approval of a model version by one person (four-eyes: never its registrant)."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("model_version_id", "actor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id"), nullable=False, index=True
    )
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str | None] = mapped_column(String(30), nullable=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    # The audit event recorded in the same transaction; rows without a matching
    # event are not counted by the gates (see aims.services.anchors).
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Evaluation(Base):
    """The result of ``aims evaluate`` for a model version on one dataset."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id"), nullable=False, index=True
    )
    data_source: Mapped[str] = mapped_column(Text, nullable=False)
    data_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    # The audit event recorded in the same transaction; rows without a matching
    # event are not counted by the gates (see aims.services.anchors).
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class PromotionRequest(Base):
    """A proposal to move a model version to a stage, which a person decides later.

    Opened by an import (an MLflow alias or stage) or by an agent; it changes no
    stage by itself. ``open`` until decided: ``approved`` once the promotion it
    asks for passed ``aims promote``'s gates, ``refused`` when a person declines
    it. ``source`` says where the proposal came from (``mlflow:alias=champion``).
    """

    __tablename__ = "promotion_requests"
    __table_args__ = (
        # The same proposal is open at most once (a re-import or a repeated
        # proposal finds the open one instead of adding another).
        Index(
            "uq_promotion_requests_one_open",
            "model_version_id",
            "stage",
            "source",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id"), nullable=False, index=True
    )
    stage: Mapped[str] = mapped_column(String(20), nullable=False)
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[str] = mapped_column(String(300), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)

    model_version: Mapped[ModelVersion] = relationship()
