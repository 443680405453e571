"""LLM applications: evaluation results taken in from their traces."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from aims.storage.schema.base import TS, Base

__all__ = ["TraceEvaluation"]


class TraceEvaluation(Base):
    """Evaluation results other tools attached to a version's spans
    (``gen_ai.evaluation.result`` events), summarised by name when taken in as evidence.

    Kept apart from :class:`~aims.storage.schema.decisions.Evaluation`: the gates
    read the evaluations aims ran; these are what the application's own tooling
    reported, marked as taken from traces.
    """

    __tablename__ = "llm_trace_evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id"), nullable=False, index=True
    )
    since: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    until: Mapped[datetime] = mapped_column(TS, nullable=False)
    spans: Mapped[int] = mapped_column(Integer, nullable=False)
    results: Mapped[int] = mapped_column(Integer, nullable=False)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    # The audit event recorded in the same transaction (see aims.services.anchors).
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
