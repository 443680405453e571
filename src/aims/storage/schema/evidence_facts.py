"""What the evidence report keeps of the audit log, brought up to date by event number.

The report cites, per model version, the newest governance event of each
kind (the newest approval by each approver, the newest promotion into each
stage...), and lists the writes forced past team mode. Reading those out of
a log of a million events on every report took minutes, so they are kept
here and caught up from the last event read (``EvidenceProgress.facts_seq``).
The same row remembers the newest walk of the hash chain, so a report (and
the page showing it) states when the chain was last verified, up to which
event, without walking it again.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aims.storage.schema.base import TS, Base

__all__ = ["AccessLastUse", "EvidenceBreakGlass", "EvidenceEventFact", "EvidenceProgress"]


class EvidenceEventFact(Base):
    """The newest governance event of one kind about one subject.

    ``key`` tells kinds apart where the checks do: the approver of an
    approval, the stage of a promotion, the version of a risk assessment, the
    incident of an incident event (as JSON, ``""`` for the others).
    ``count`` is how many such events the log holds.
    """

    __tablename__ = "evidence_event_facts"
    __table_args__ = (
        UniqueConstraint("subject", "action", "key", name="uq_evidence_event_facts_kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    action: Mapped[str] = mapped_column(String(100), nullable=False)
    key: Mapped[str] = mapped_column(String(300), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    ts: Mapped[str] = mapped_column(String(40), nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)


class EvidenceBreakGlass(Base):
    """An audit event written by a command forced past team mode."""

    __tablename__ = "evidence_break_glass"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(100), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)


class EvidenceProgress(Base):
    """One row: how far the facts above were read, and the newest walk of the chain."""

    __tablename__ = "evidence_progress"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    facts_seq: Mapped[int] = mapped_column(Integer, nullable=False)
    """The facts hold every event up to this one."""
    chain_seq: Mapped[int | None] = mapped_column(Integer)
    """The chain verified up to this event (``None``: never walked)."""
    chain_hash: Mapped[str | None] = mapped_column(String(64))
    chain_ok: Mapped[bool | None] = mapped_column(Boolean)
    chain_problem: Mapped[str | None] = mapped_column(Text)
    chain_problem_seq: Mapped[int | None] = mapped_column(Integer)
    chain_at: Mapped[dt.datetime | None] = mapped_column(TS)
    """When that walk ended."""
    uses_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    """:class:`AccessLastUse` holds every event up to this one."""


class AccessLastUse(Base):
    """The newest act of one principal (or one key, ``apikey:<id>``) on one audit subject.

    The access review judges grants and keys by their last use; reading that
    out of the whole audit log (a group-by over every event) on every review
    scaled with the log. ``seq`` names the audit event the row stands for, so
    the review can check it against the log.
    """

    __tablename__ = "access_last_use"
    __table_args__ = (UniqueConstraint("who", "subject", name="uq_access_last_use"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    who: Mapped[str] = mapped_column(String(200), nullable=False)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    ts: Mapped[str] = mapped_column(String(40), nullable=False)
