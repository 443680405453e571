"""Tokens refused before their expiry: dashboard log-outs, seen by every server process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from aims.storage.schema.base import TS, Base

__all__ = ["RevokedToken"]


class RevokedToken(Base):
    """A token (by its ``jti``) refused until it would have expired anyway.

    A row outlives its use by at most one log-out: each new revocation deletes
    the rows whose tokens have expired.
    """

    __tablename__ = "revoked_tokens"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(TS, nullable=False, index=True)
    revoked_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    revoked_by: Mapped[str] = mapped_column(String(200), nullable=False)
