"""Token revocations kept in the store: read by another process's poll, and after a restart."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import select

from aims.server.principal import Principal
from aims.server.revocations import Revocations
from aims.services import token_revocations
from aims.storage.schema import RevokedToken
from tests.server.conftest import new_workspace


def _session(token_id: str, expires_at: float) -> Principal:
    return Principal("k0123456789ab", "default", "viewer", expires_at, token_id, None)


def test_a_revocation_reaches_another_process_and_survives_a_restart(tmp_path) -> None:
    ws = new_workspace(tmp_path / "ws")
    here, elsewhere = Revocations(), Revocations()
    token = _session("a" * 32, time.time() + 600)
    here.revoke_token(token, ws)
    assert here.covers(token)  # at once where it was revoked
    assert not elsewhere.covers(token)  # elsewhere, from the next poll
    elsewhere.refresh(ws)
    assert elsewhere.covers(token)
    restarted = Revocations()
    restarted.refresh(ws)
    assert restarted.covers(token)
    with ws.db.session() as s:
        stored = s.scalars(select(RevokedToken)).one()
        assert stored.revoked_by == "k0123456789ab"
        assert abs(stored.expires_at.timestamp() - token.expires_at) < 1
    ws.close()


def test_expired_revocations_are_pruned_and_no_longer_read(tmp_path) -> None:
    ws = new_workspace(tmp_path / "ws")
    gone = _session("b" * 32, time.time() - 5)
    token_revocations.revoke_token(ws, gone.token_id, gone.expires_at, by="ana")
    assert token_revocations.revoked_tokens(ws) == {}
    live = _session("c" * 32, time.time() + 600)
    token_revocations.revoke_token(ws, live.token_id, live.expires_at, by="ana")
    token_revocations.revoke_token(ws, live.token_id, live.expires_at, by="ana")  # twice: one row
    with ws.db.session() as s:
        ids = set(s.scalars(select(RevokedToken.token_id)))
    assert ids == {live.token_id}  # the expired row was deleted by the next revocation
    assert set(token_revocations.revoked_tokens(ws)) == {live.token_id}
    assert datetime.fromtimestamp(token_revocations.revoked_tokens(ws)[live.token_id], UTC) > (
        datetime.now(UTC)
    )
    ws.close()


def test_a_revocation_made_during_a_poll_is_kept(tmp_path) -> None:
    # This process's revocation, not yet in what a poll read, survives the poll's swap.
    ws = new_workspace(tmp_path / "ws")
    revocations = Revocations()
    token = _session("d" * 32, time.time() + 600)
    revocations.revoke_token(token)  # in memory only, as if the store write were still on its way
    revocations.refresh(ws)
    assert revocations.covers(token)
    ws.close()
