"""What a server process refuses before it expires: revoked keys and revoked tokens.

Keys are revoked in the store (``aims keys revoke``, a disabled principal, a
lost grant) and read from it every poll interval. A token is revoked on its
own by a dashboard log-out: the process that handles the log-out refuses it
at once and stores the revocation, which every other process of the server
(``aims serve --workers N``) reads at its next poll, and this one after a
restart. Both lists are plain sets read on every request, replaced whole by a
poll, so a request never waits for the store.
"""

from __future__ import annotations

import threading
import time

from aims.server.principal import Principal
from aims.services import keys, token_revocations
from aims.workspace import Workspace

__all__ = ["Revocations"]


class Revocations:
    """The revoked keys and tokens one server process knows of."""

    def __init__(self) -> None:
        self.keys: frozenset[str] = frozenset()
        """Ids of the keys whose tokens are refused."""
        self.tokens: dict[str, float] = {}
        """Token id -> expiry (epoch seconds) of every revoked token known here."""
        self._here: dict[str, float] = {}
        self._lock = threading.Lock()

    def covers(self, principal: Principal) -> bool:
        """Whether ``principal``'s key or token has been revoked."""
        return principal.key_id in self.keys or principal.token_id in self.tokens

    def revoke_token(self, principal: Principal, ws: Workspace | None = None) -> None:
        """Refuse ``principal``'s token from now on, until it expires; stored with ``ws``."""
        if not principal.token_id:
            return
        now = time.time()
        with self._lock:
            # Forget revocations of tokens that have expired anyway.
            self._here = {t: e for t, e in self._here.items() if e > now}
            self._here[principal.token_id] = principal.expires_at
            self.tokens = {**self.tokens, principal.token_id: principal.expires_at}
        if ws is not None:
            by = principal.name or principal.key_id
            token_revocations.revoke_token(ws, principal.token_id, principal.expires_at, by=by)

    def refresh(self, ws: Workspace) -> None:
        """Read the revoked keys and tokens from the store (every poll interval), without
        taking the store's write lock."""
        with ws.db.reading():
            self.keys = keys.revoked_key_ids(ws)
            stored = token_revocations.revoked_tokens(ws)
        now = time.time()
        with self._lock:
            # This process's own revocations too: one made while the store was
            # being read is not in what the read returned.
            here = {t: e for t, e in self._here.items() if e > now}
            self.tokens = {**stored, **here}
