"""What the monitor keeps: window results and incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aims.storage.schema.base import TS, Base

__all__ = ["Incident", "MonitorWindow"]


class MonitorWindow(Base):
    """The results of one closed monitoring window for one model version and role.

    The unique key makes a re-run over the same windows a no-op, and lets a
    monitor killed mid-run resume where it stopped.
    """

    __tablename__ = "monitor_windows"
    __table_args__ = (
        UniqueConstraint("model_id", "version", "role", "window_start", "window_seconds"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    window_start: Mapped[datetime] = mapped_column(TS, nullable=False, index=True)
    window_seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    n_predictions: Mapped[int] = mapped_column(Integer, nullable=False)
    n_labelled: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    results: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    profile: Mapped[bytes | None] = mapped_column(nullable=True)
    computed_at: Mapped[datetime] = mapped_column(TS, nullable=False)


class Incident(Base):
    """A problem found by the monitor, the gateway or a person, with an owner.

    An incident is about one *subject* of a project: a model (then ``model_id``
    is set and ``subject`` is the model's name), or something that is no model,
    such as an MCP server (``subject_kind`` ``mcp_server``) or an agent
    (``agent``). ``project`` scopes it as a model's project scopes the model.
    """

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True, nullable=False)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"), nullable=True, index=True)
    project: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    subject_kind: Mapped[str] = mapped_column(String(30), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    trigger: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    severity: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open", index=True)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    actions: Mapped[list[Any]] = mapped_column(JSON, nullable=False)
    opened_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    acked_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    acked_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
