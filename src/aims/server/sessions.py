"""Dashboard sessions on the API's own keys and tokens.

Logging in to the dashboard checks the API key exactly as
``POST /v1/auth/token`` does (rate-limited per client address, refusals counted
and audited) and yields the same signed token, which the dashboard keeps in an
HTTP-only cookie. A session therefore carries the key's project and role,
ends when the token expires or its key is revoked, and logging out revokes the
token itself, on the API as on the dashboard.

This module knows nothing of the dashboard's types: the composition root
(:mod:`aims.server.assembly`) adapts it to the dashboard's ``UiAuth`` port.
"""

from __future__ import annotations

from typing import Any

from aims.server.auth import Principal
from aims.server.problems import ApiError


class TokenSessions:
    """Sessions of a secured server, sharing its :class:`~aims.server.auth.Guard`.

    ``app`` is the server's FastAPI app; its state (the guard, the workspace)
    is looked up on each call, since it exists only once the app has started.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    @property
    def _state(self) -> Any:
        return self.app.state.aims

    def login(self, api_key: str, *, client: str, path: str) -> tuple[str, int]:
        """A token and its lifetime in seconds for ``api_key``; ``ApiError`` (401, 429) if refused."""
        from aims.server.app import exchange_key

        state = self._state
        key = exchange_key(state, api_key, client=client, path=path)
        token, lifetime = state.guard.issuer.issue(key)
        state.guard.events.note("server.session.opened", f"apikey:{key['key_id']}", "login", path)
        return token, lifetime

    def open_for(self, principal: Principal, *, path: str) -> tuple[str, int]:
        """A session token and its lifetime for a person signed in through the provider."""
        state = self._state
        key = {
            "key_id": principal.key_id,
            "project": principal.project,
            "role": principal.role,
            "principal": principal.name,
        }
        token, lifetime = state.guard.issuer.issue(key)
        state.guard.events.note("server.session.opened", principal.key_id, "sso", path)
        return token, lifetime

    def principal(self, token: str | None) -> Principal | None:
        """Who a session token stands for; None when it is missing, invalid, expired or revoked."""
        if not token:
            return None
        guard = self._state.guard
        try:
            # identify: a session opened through the provider gets its grants as stored now.
            principal = guard.identify(token)
        except ApiError:  # invalid, expired, disabled or without grants: log in again
            return None
        return None if guard.token_revoked(principal) else principal

    def logout(self, token: str | None) -> None:
        """Revoke the session's token, so it is refused by the API too."""
        principal = self.principal(token)
        if principal is not None:
            # Stored too, so every worker of the server refuses it (and after a restart).
            self._state.guard.revoke_token(principal, self._state.ws)
