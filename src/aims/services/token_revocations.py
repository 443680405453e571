"""Tokens revoked before their expiry (a dashboard log-out), kept in the store.

The server process that handles a log-out refuses the token at once and
writes it here; every other process of the server (``aims serve --workers N``)
reads the list when it polls the store, and a restarted server reads it at
start. A row is kept until its token would have expired anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select

from aims.clock import now_utc, utc
from aims.storage.schema import RevokedToken
from aims.workspace import Workspace

__all__ = ["revoke_token", "revoked_tokens"]


def revoke_token(ws: Workspace, token_id: str, expires_at: float, *, by: str) -> None:
    """Record that token ``token_id`` (expiring at epoch ``expires_at``) is refused from now.

    ``by`` names who revoked it (the key or person whose session it was).
    Rows of tokens that have expired since are deleted in the same transaction.
    """
    now = now_utc()
    ends = datetime.fromtimestamp(expires_at, UTC)
    with ws.db.session() as s:
        s.execute(delete(RevokedToken).where(RevokedToken.expires_at <= now))
        row = s.get(RevokedToken, token_id)
        if row is None:
            s.add(RevokedToken(token_id=token_id, expires_at=ends, revoked_at=now, revoked_by=by))


def revoked_tokens(ws: Workspace) -> dict[str, float]:
    """Every revoked token that has not expired yet: token id -> its expiry (epoch seconds)."""
    with ws.db.session() as s:
        rows = s.execute(
            select(RevokedToken.token_id, RevokedToken.expires_at).where(
                RevokedToken.expires_at > now_utc()
            )
        ).all()
    return {token_id: utc(ends).timestamp() for token_id, ends in rows}
