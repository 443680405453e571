"""Dashboard sessions on the API's own tokens and keys.

Logging in checks the API key exactly as ``POST /v1/auth/token`` does and puts
the signed token in an HTTP-only cookie, so a session carries the key's project
and role and ends when the token does (or, for a revoked key, at the next
check of the revocation list).
"""

from __future__ import annotations

import time

from fastapi import Request

from aims.ui.router import Viewer
from aims.workspace import Workspace

REVOCATION_CHECK_SECONDS = 5.0


class TokenSessions:
    """The dashboard's :class:`~aims.ui.router.UiAuth` for a secured server."""

    def __init__(self, ws: Workspace) -> None:
        from aims.server.auth import TokenIssuer
        from aims.server.config import ServerConfig, token_secret

        self.ws = ws
        self.issuer = TokenIssuer(
            token_secret(ws), ServerConfig.from_workspace(ws).token_ttl_seconds
        )
        self._revoked: frozenset[str] = frozenset()
        self._checked = 0.0

    def login(self, api_key: str, request: Request) -> tuple[str, int]:
        from aims.server.app import exchange_key

        # The same check as POST /v1/auth/token: rate-limited per address,
        # refusals counted on /metrics and audited.
        client = request.client.host if request.client else "unknown"
        key = exchange_key(request.app.state.aims, api_key, client=client, path=request.url.path)
        return self.issuer.issue(key)

    def _revoked_ids(self) -> frozenset[str]:
        from aims.services import keys

        if time.monotonic() - self._checked > REVOCATION_CHECK_SECONDS:
            self._revoked = keys.revoked_key_ids(self.ws)
            self._checked = time.monotonic()
        return self._revoked

    def viewer(self, token: str | None) -> Viewer | None:
        from aims.server.problems import ApiError
        from aims.services.keys import ALL_PROJECTS

        if not token:
            return None
        try:
            p = self.issuer.verify(token)
        except ApiError:  # invalid or expired: log in again
            return None
        if p.key_id in self._revoked_ids():
            return None
        return Viewer(p.key_id, None if p.project == ALL_PROJECTS else p.project, p.role)


class OpenSessions:
    """Sessions for ``aims serve --insecure-dev``: everyone is an admin of every project."""

    def login(self, api_key: str, request: Request) -> tuple[str, int]:
        return "insecure-dev", 86_400

    def viewer(self, token: str | None) -> Viewer | None:
        return Viewer("insecure-dev", None, "admin")
