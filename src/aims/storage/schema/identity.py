"""Who acts: principals, their grants and elevations, and API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aims.storage.schema.base import TS, Base

__all__ = ["ApiKey", "Elevation", "Grant", "Principal"]


class ApiKey(Base):
    """An API key: only its argon2 hash is stored; ``key_id`` is the public prefix."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    secret_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    project: Mapped[str] = mapped_column(String(100), nullable=False)
    role: Mapped[str] = mapped_column(String(30), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    # The principal the key acts for; None for keys made before principals
    # existed (they keep working in local mode until 'aims team enable').
    principal_id: Mapped[int | None] = mapped_column(
        ForeignKey("principals.id"), nullable=True, index=True
    )


class Principal(Base):
    """Who acts: a person (``human``), a ``service`` or an ``agent``.

    Services and agents name a human ``owner`` who answers for them. A
    principal is never deleted, only disabled, so the audit log's names stay
    meaningful.
    """

    __tablename__ = "principals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("principals.id"), nullable=True)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    disabled_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class Grant(Base):
    """A role a principal holds on one project (``*``: every project).

    One grant per principal and project: roles are a ladder, so the highest
    one held is the one that counts. ``expires_at`` makes a grant time-bound.
    """

    __tablename__ = "grants"
    __table_args__ = (UniqueConstraint("principal_id", "project"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    principal_id: Mapped[int] = mapped_column(
        ForeignKey("principals.id"), nullable=False, index=True
    )
    project: Mapped[str] = mapped_column(String(100), nullable=False)
    role: Mapped[str] = mapped_column(String(30), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class Elevation(Base):
    """A request for a time-bound role on one project (just-in-time elevation).

    ``pending`` until another principal holding the role approves (``approved``)
    or denies it (``denied``); an approved one raises the principal's role from
    ``starts_at`` until ``ends_at`` and lapses by itself, or ends early when
    revoked (``revoked``, ``ended_at``).
    """

    __tablename__ = "elevations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    principal_id: Mapped[int] = mapped_column(
        ForeignKey("principals.id"), nullable=False, index=True
    )
    project: Mapped[str] = mapped_column(String(100), nullable=False)
    role: Mapped[str] = mapped_column(String(30), nullable=False)
    seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    starts_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
