"""What the dashboard needs from whoever serves it: the :class:`UiAuth` port.

The dashboard declares the port; the server implements it and hands it to
:func:`~aims.ui.router.mount_ui`, so the dashboard imports nothing of the
server. :class:`OpenSessions` is the implementation for a server running
without authentication (``aims serve --insecure-dev``).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from fastapi import Request


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the identity, project and role a session token carries."""

    subject: str
    project: str | None  # None: every project (insecure development mode)
    role: str


class LoginRefused(Exception):
    """A login the server refused: a wrong key (401) or too many attempts (429).

    ``reason`` says what went wrong when it helps the person (a sign-in through
    the identity provider that failed).
    """

    def __init__(self, status: int, retry_after: int | None = None, reason: str = "") -> None:
        super().__init__(f"login refused ({status})")
        self.status = status
        self.retry_after = retry_after
        self.reason = reason


class UiAuth(Protocol):
    """What the dashboard needs from the server's access control."""

    def login(self, api_key: str, request: Request) -> tuple[str, int]:
        """Exchange an API key for (session token, lifetime in seconds).

        Raises :class:`LoginRefused` (401 for a key that is not valid, 429
        when the caller's address has tried too often).
        """
        ...

    def viewer(self, token: str | None) -> Viewer | None:
        """The viewer a session token stands for, or None when it is missing or invalid."""
        ...

    def logout(self, token: str | None) -> None:
        """End the session: the token stops working everywhere it was accepted."""
        ...

    def sso_label(self) -> str | None:
        """The identity provider's name for a "Sign in with ..." button; None without one."""
        ...

    def sso_start(self, callback_url: str) -> tuple[str, str]:
        """Start a sign-in through the provider: (URL to send the browser to, flow id).

        The dashboard keeps the flow id in a cookie until the provider sends the
        browser back to ``callback_url``.
        """
        ...

    def sso_finish(
        self, flow_id: str | None, params: Mapping[str, str], request: Request
    ) -> tuple[str, int]:
        """Complete a sign-in with the provider's answer (the callback's query parameters):
        (session token, lifetime in seconds), or :class:`LoginRefused` with the reason."""
        ...


class OpenSessions:
    """Sessions for ``aims serve --insecure-dev``: everyone is an admin of every project.

    Logging in takes any text; the session token is random all the same, so
    that nothing a page of another site could guess stands for a session.
    """

    def login(self, api_key: str, request: Request) -> tuple[str, int]:
        """A fresh random session token, valid a day."""
        return secrets.token_urlsafe(24), 86_400

    def viewer(self, token: str | None) -> Viewer | None:
        """Everyone, logged in or not, is an admin of every project."""
        return Viewer("insecure-dev", None, "admin")

    def logout(self, token: str | None) -> None:
        """Nothing to revoke: there is no authentication."""

    def sso_label(self) -> str | None:
        """No provider: there is no authentication."""
        return None

    def sso_start(self, callback_url: str) -> tuple[str, str]:
        """Refused: there is no provider."""
        raise LoginRefused(404, reason="single sign-on is not configured")

    def sso_finish(
        self, flow_id: str | None, params: Mapping[str, str], request: Request
    ) -> tuple[str, int]:
        """Refused: there is no provider."""
        raise LoginRefused(404, reason="single sign-on is not configured")
