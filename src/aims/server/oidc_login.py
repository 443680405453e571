"""The dashboard's sign-in through the identity provider: authorization code flow with PKCE.

1. :meth:`DashboardSso.start` makes a *flow*: a random ``state`` (ties the
   provider's answer to this browser's request), ``nonce`` (ties the ID token
   to it) and PKCE ``code_verifier`` (its S256 challenge goes to the provider,
   the verifier only to the token endpoint, so a stolen code is useless). The
   flow stays on the server for ``FLOW_SECONDS``; the browser keeps only its
   random id, in a cookie, and is sent to the provider's authorization endpoint.
2. The provider sends the browser back with ``code`` and ``state``.
   :meth:`DashboardSso.finish` takes the flow (once: a replayed answer finds
   none), checks ``state``, exchanges the code (with the verifier and, when
   ``$AIMS_OIDC_CLIENT_SECRET`` is set, the client secret) for an ID token,
   verifies that token as the API verifies any of the provider's tokens
   (keys, algorithm, issuer, expiry) with the dashboard's ``client_id`` as
   audience and the flow's ``nonce``, and signs the person in (principal
   created on first sign-in, grants synced from the groups).
3. The session is then the dashboard's usual one: a signed aims token in an
   HTTP-only cookie, naming the principal (``oidc:<name>``); its grants are
   read from the store as for every request, so a disabled person's session
   ends at the next check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from aims.server.oidc import OidcAuthority, refused
from aims.server.oidc_config import OidcSettings

FLOW_SECONDS = 600.0
"""How long a started sign-in waits for the provider's answer."""
MAX_FLOWS = 10_000
"""Flows kept at most; the oldest go first (a flood of started sign-ins stays bounded)."""
SCOPES = "openid email profile"


@dataclass(frozen=True)
class Flow:
    """One started sign-in, kept on the server until the provider answers."""

    state: str
    nonce: str
    verifier: str
    redirect_uri: str
    started: float


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE ``verifier`` (RFC 7636 §4.2).

    Examples
    --------
    >>> pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
    """
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class DashboardSso:
    """Sign-in flows of the dashboard; ``app`` is the server whose guard checks tokens."""

    def __init__(self, app: Any, settings: OidcSettings, *, timeout: float = 10.0) -> None:
        self.app = app
        self.settings = settings
        self.timeout = timeout
        self._flows: dict[str, Flow] = {}
        self._lock = threading.Lock()

    @property
    def _authority(self) -> OidcAuthority:
        authority = self.app.state.aims.guard.oidc
        if authority is None:
            raise refused("sso_off", "single sign-on is not configured on this server")
        return authority

    @property
    def label(self) -> str:
        """What the sign-in button names."""
        return self.settings.label

    def start(self, callback_url: str) -> tuple[str, str]:
        """Start a sign-in; returns the provider URL to send the browser to and the flow id.

        ``callback_url`` is where the provider sends the browser back
        (``server.oidc.redirect_url`` replaces it when set).
        """
        metadata = self._authority.verifier.keys.metadata()
        endpoint = metadata.get("authorization_endpoint")
        if not isinstance(endpoint, str):
            raise refused("provider_misconfigured", "the provider names no authorization_endpoint")
        flow = Flow(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            verifier=secrets.token_urlsafe(64),
            redirect_uri=self.settings.redirect_url or callback_url,
            started=time.monotonic(),
        )
        flow_id = secrets.token_urlsafe(32)
        with self._lock:
            self._forget_old()
            self._flows[flow_id] = flow
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.settings.client_id,
                "redirect_uri": flow.redirect_uri,
                "scope": SCOPES,
                "state": flow.state,
                "nonce": flow.nonce,
                "code_challenge": pkce_challenge(flow.verifier),
                "code_challenge_method": "S256",
            }
        )
        joiner = "&" if "?" in endpoint else "?"
        return f"{endpoint}{joiner}{query}", flow_id

    def _forget_old(self) -> None:
        now = time.monotonic()
        self._flows = {k: f for k, f in self._flows.items() if now - f.started < FLOW_SECONDS}
        while len(self._flows) >= MAX_FLOWS:
            self._flows.pop(next(iter(self._flows)))

    def finish(self, flow_id: str | None, params: Mapping[str, str]) -> Any:
        """The principal of a completed sign-in; a 401/403 ``ApiError`` naming what failed."""
        with self._lock:
            flow = self._flows.pop(flow_id or "", None)
        if flow is None or time.monotonic() - flow.started >= FLOW_SECONDS:
            raise refused(
                "sso_flow",
                "this sign-in was not started in this browser or took longer than "
                f"{FLOW_SECONDS / 60:g} minutes; start it again",
            )
        if params.get("error"):
            raise refused(
                "sso_denied",
                f"the provider refused the sign-in: {params['error'][:100]}"
                + (
                    f" ({params['error_description'][:200]})"
                    if params.get("error_description")
                    else ""
                ),
            )
        if not hmac.compare_digest(params.get("state", "").encode(), flow.state.encode()):
            raise refused("sso_state", "the provider's answer does not match this sign-in")
        code = params.get("code")
        if not code:
            raise refused("sso_flow", "the provider's answer carries no code")
        id_token = self._exchange(code, flow)
        authority = self._authority
        claims = authority.verifier.verify(
            id_token, audience=self.settings.client_id, nonce=flow.nonce
        )
        token_id = hashlib.sha256(id_token.encode()).hexdigest()[:32]
        principal = authority.principal_of(claims, token_id=token_id)
        return authority.current(principal)

    def _exchange(self, code: str, flow: Flow) -> str:
        endpoint = self._authority.verifier.keys.metadata().get("token_endpoint")
        if not isinstance(endpoint, str):
            raise refused("provider_misconfigured", "the provider names no token_endpoint")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": flow.redirect_uri,
            "code_verifier": flow.verifier,
            "client_id": self.settings.client_id,
        }
        secret = self.settings.client_secret
        auth = (self.settings.client_id, secret) if secret else None
        try:
            answer = httpx.post(endpoint, data=form, auth=auth, timeout=self.timeout)
            body = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise refused(
                "provider_unreachable",
                f"the provider's token endpoint could not be reached ({type(exc).__name__}); "
                "try again",
            ) from None
        if answer.status_code != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            raise refused(
                "sso_exchange",
                f"the provider refused the code exchange ({answer.status_code}"
                + (f", {str(error)[:100]}" if error else "")
                + "); start the sign-in again",
            )
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise refused("sso_exchange", "the provider's answer carries no ID token")
        return id_token


__all__ = ["FLOW_SECONDS", "DashboardSso", "Flow", "pkce_challenge"]
