"""Access control: signed tokens, roles and projects on every route, audited refusals.

A caller exchanges an API key (``POST /v1/auth/token``) for a token signed
with HS256 that names the key, its project and its role and expires after
``token_ttl_seconds`` (15 minutes by default). Every other route, except
``/healthz``, ``/readyz`` and the OpenAPI pages, declares the lowest role it
needs with :func:`require`, and checks that the token's project owns the model
the route touches. A revoked key's tokens are refused from the next poll of
the store (every ``poll_interval``), and at the latest when they expire.

Roles, lowest first (each includes the ones before it)::

    viewer < predictor < scientist < approver < operator < admin

Refused calls are counted in ``aims_auth_failures_total{reason}`` and audited
in batches: at most one audit event per key (or client address) per
``auth_audit_interval``, with the counts. Batches are bounded in size and
number (:class:`~aims.server.auth_events.AuthEvents`), so a flood of refused calls, however long their
paths or however many addresses they claim, adds at most a few tens of
kilobytes to the permanent audit log per interval.

A model of another project answers exactly as a model that is not served
(404), so a token cannot probe which models other projects serve. A token can
be revoked on its own (:meth:`Guard.revoke_token`, used by the dashboard's
logout), besides its key: the process that revokes it refuses it at once, and
stores the revocation, which every other process of the server reads at its
next poll of the store (and this one after a restart).
"""

from __future__ import annotations

import functools
import re
import time
import uuid
from typing import Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from aims.server.auth_events import AuthEvents
from aims.server.metrics import ServerMetrics
from aims.server.oidc import OIDC_KEY_PREFIX, OidcAuthority, refused, unverified_issuer
from aims.server.principal import DEV_PRINCIPAL, Principal  # re-exported: routes import them here
from aims.server.problems import ApiError
from aims.server.ratelimit import RateLimiter
from aims.server.revocations import Revocations
from aims.services.keys import ROLES, role_rank
from aims.workspace import Workspace

ISSUER = "aims"
ALGORITHM = "HS256"


class TokenIssuer:
    """Signs and checks tokens (JWT, HS256)."""

    def __init__(self, secret: bytes, ttl_seconds: float) -> None:
        self.secret = secret
        self.ttl = ttl_seconds
        self._cache: dict[str, Principal] = {}

    def issue(self, key: dict[str, Any], *, now: float | None = None) -> tuple[str, int]:
        """A token for the key description ``key``; returns it and its lifetime in seconds.

        The token never outlives the key's own expiry, nor the elevation its role
        comes from (``elevated_until``).
        """
        now = time.time() if now is None else now
        exp = now + self.ttl
        for end in ("expires_at", "elevated_until"):
            if key.get(end) is not None:
                exp = min(exp, key[end].timestamp())
        claims = {
            "iss": ISSUER,
            "sub": key["key_id"],
            "prj": key["project"],
            "role": key["role"],
            "pal": key.get("principal"),
            "iat": int(now),
            "exp": int(exp),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM), max(0, int(exp - now))

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; ``ApiError(401)`` naming the reason otherwise."""
        cached = self._cache.get(token)
        if cached is not None:
            if cached.expires_at > time.time():
                return cached
            raise _unauthenticated("expired", "the token has expired; get a new one")
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise _unauthenticated("expired", "the token has expired; get a new one") from None
        except jwt.PyJWTError:
            if _looks_like_api_key(token):
                raise _unauthenticated("invalid_token", API_KEY_AS_TOKEN) from None
            raise _unauthenticated("invalid_token", "the token is not valid") from None
        role, project = claims.get("role"), claims.get("prj")
        if role not in ROLES or not isinstance(project, str):
            raise _unauthenticated("invalid_token", "the token is not valid")
        name = claims.get("pal")
        principal = Principal(
            str(claims["sub"]),
            project,
            role,
            float(claims["exp"]),
            str(claims.get("jti", "")),
            name if isinstance(name, str) and name else None,
        )
        # Verified tokens are remembered so the signature is checked once per
        # token, not once per request; the cache is dropped when it grows large.
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[token] = principal
        return principal


API_KEY_AS_TOKEN = (
    "this is an API key, not a token: exchange it at POST /v1/auth/token and send the "
    "access_token it returns as the bearer token"
)
"""The refusal of an API key sent where a token belongs (a common first mistake)."""

_API_KEY_SHAPE = re.compile(r"^aims\.k[0-9a-f]{12}\.\S+$")


def _looks_like_api_key(token: str) -> bool:
    """Whether ``token`` has the shape of an API key (``aims.<key_id>.<secret>``).

    Examples
    --------
    >>> _looks_like_api_key("aims.k0123456789ab.c2VjcmV0"), _looks_like_api_key("eyJ.a.b")
    (True, False)
    """
    return _API_KEY_SHAPE.match(token) is not None


def _unauthenticated(reason: str, message: str) -> ApiError:
    error = ApiError(401, "unauthenticated", message, headers={"WWW-Authenticate": "Bearer"})
    error.reason = reason
    return error


class Guard:
    """The shared state behind :func:`require`: issuer, revocations, limits, counts.

    :meth:`authorize` is the one check every guarded request goes through,
    whether it arrives through a FastAPI route or the predict fast path.
    """

    def __init__(
        self,
        issuer: TokenIssuer,
        limiter: RateLimiter,
        metrics: ServerMetrics,
        *,
        insecure: bool = False,
    ) -> None:
        self.issuer = issuer
        self.limiter = limiter
        self.metrics = metrics
        self.insecure = insecure
        self.oidc: OidcAuthority | None = None
        """Checks the identity provider's tokens, when single sign-on is on (server.oidc)."""
        self.events = AuthEvents()
        self.revocations = Revocations()

    def revoke_token(self, principal: Principal, ws: Workspace | None = None) -> None:
        """Refuse ``principal``'s token from now on (its key stays valid), until it expires.

        This process refuses it at once; with ``ws`` the revocation is also
        stored, for the server's other processes and for a restart.
        """
        self.revocations.revoke_token(principal, ws)

    def refresh_revoked(self, ws: Workspace) -> None:
        """Read the revoked keys and tokens from the store (every poll interval)."""
        self.revocations.refresh(ws)

    def token_revoked(self, principal: Principal) -> bool:
        """Whether ``principal``'s key or token has been revoked."""
        return self.revocations.covers(principal)

    def refuse(
        self, error: ApiError, *, client: str, path: str, key_id: str | None = None
    ) -> ApiError:
        """Count and note a refusal; returns the error for the caller to raise."""
        reason = error.reason or error.code
        self.metrics.auth_failures.labels(reason).inc()
        subject = f"client:{client}"
        if key_id:  # a person signed in through the provider is oidc:<name>
            subject = key_id if key_id.startswith(OIDC_KEY_PREFIX) else f"apikey:{key_id}"
        self.events.note("server.access.denied", subject, reason, path)
        return error

    def authorize(
        self,
        authorization: str | None,
        *,
        role: str,
        project: str | None,
        client: str,
        path: str,
    ) -> Principal:
        """The caller behind an ``Authorization`` header, if it may act with ``role`` on ``project``.

        Checks, in order: a bearer token is present, valid, unexpired and not
        revoked (:meth:`authenticate`); the key is within its rate limit; the
        role is high enough; the project matches (``project=None``: nothing
        project-specific is touched). Raises ``ApiError`` (401, 429, 403, or 404
        for a model of another project in the path), counted and noted for the
        audit log.
        """
        principal = self.authenticate(authorization, client=client, path=path)
        self.permit(principal, role=role, project=project, client=client, path=path)
        return principal

    def permit(
        self, principal: Principal, *, role: str, project: str | None, client: str, path: str
    ) -> None:
        """The checks of :meth:`authorize` after authentication: rate limit, role, project."""
        if self.insecure:
            return
        key_id = principal.key_id
        wait = self.limiter.wait_time(key_id)
        if wait:
            error = ApiError(
                429,
                "rate_limited",
                f"rate limit of {self.limiter.rate:g} requests/s for key {key_id} "
                f"exceeded; retry after {wait:.2f} s",
                headers={"Retry-After": str(max(1, round(wait)))},
            )
            error.reason = "rate_limited"
            raise self.refuse(error, client=client, path=path, key_id=key_id)
        if principal.top_rank < role_rank(role):
            error = ApiError(
                403,
                "permission_denied",
                f"this route needs the {role} role or higher; the token has "
                f"{ROLES[principal.top_rank]}",
            )
            error.reason = "role_too_low"
            raise self.refuse(error, client=client, path=path, key_id=key_id)
        if project is not None:
            name = model_of(path)
            hidden = f"model {name!r} is not served" if name is not None else None
            self.check_project(principal, project, client=client, path=path, hidden_as=hidden)
            self.check_role_on(principal, project, role, client=client, path=path)

    def check_role_on(
        self, principal: Principal, project: str, role: str, *, client: str, path: str
    ) -> None:
        """Refuse (403) a caller whose role on ``project`` is below ``role``.

        A key's token holds one role, already checked; a person signed in
        through the provider may hold a high role on one project and a low one
        on another, and the route's project decides.
        """
        held = principal.role_on(project)
        if held is None or role_rank(held) >= role_rank(role):
            return
        error = ApiError(
            403,
            "permission_denied",
            f"this route needs the {role} role or higher on project {project}; "
            f"the token has {held} there",
        )
        error.reason = "role_too_low"
        raise self.refuse(error, client=client, path=path, key_id=principal.key_id)

    def authenticate(self, authorization: str | None, *, client: str, path: str) -> Principal:
        """The caller behind an ``Authorization`` header, whatever it may do.

        Checks that a bearer token is present, valid, unexpired and neither it
        nor its key is revoked; raises ``ApiError`` (401), counted and noted for
        the audit log, otherwise. It reads no body, so requests without a valid
        token are refused before their body is received.
        """
        if self.insecure:
            return DEV_PRINCIPAL
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise self.refuse(
                _unauthenticated(
                    "missing_token",
                    "this route needs a token: send 'Authorization: Bearer <token>' "
                    "(get one from POST /v1/auth/token)",
                ),
                client=client,
                path=path,
            )
        try:
            principal = self.identify(token.strip())
        except ApiError as exc:
            raise self.refuse(exc, client=client, path=path) from None
        if principal.key_id in self.revocations.keys:
            raise self.refuse(
                _unauthenticated("revoked", f"API key {principal.key_id} has been revoked"),
                client=client,
                path=path,
                key_id=principal.key_id,
            )
        if principal.token_id in self.revocations.tokens:
            raise self.refuse(
                _unauthenticated(
                    "revoked", "the token has been revoked (logged out); get a new one"
                ),
                client=client,
                path=path,
                key_id=principal.key_id,
            )
        return principal

    def identify(self, token: str) -> Principal:
        """The principal of an aims token or, with single sign-on on, of a provider's token."""
        oidc = self.oidc
        if oidc is not None and oidc.accepts(token):
            return oidc.authenticate(token)
        try:
            principal = self.issuer.verify(token)
        except ApiError as exc:
            issuer = unverified_issuer(token) if oidc is not None else None
            if oidc is None or exc.reason != "invalid_token" or issuer in (None, ISSUER):
                raise
            raise refused(
                "wrong_issuer",
                f"the token was issued by {issuer!r}; this server accepts its own tokens "
                f"and those of {oidc.settings.issuer}",
            ) from None
        if principal.key_id.startswith(OIDC_KEY_PREFIX):
            # A dashboard session opened through the provider: grants as stored now.
            if oidc is None:
                raise refused("invalid_token", "single sign-on is off; log in with an API key")
            return oidc.current(principal)
        return principal

    def check_project(
        self,
        principal: Principal,
        project: str,
        *,
        client: str,
        path: str,
        hidden_as: str | None = None,
    ) -> None:
        """Refuse a principal of another project.

        When the project is that of a model the caller named, give
        ``hidden_as``: the message of the 404 a model that does not exist
        gets, so that another project's models cannot be probed. Otherwise (a
        ``project`` parameter) the answer is 403.
        """
        if principal.may_access(project):
            return
        if hidden_as is not None:
            error = ApiError(404, "not_found", hidden_as)
        else:
            error = ApiError(
                403,
                "permission_denied",
                f"a token of project {principal.project!r} may not act on project {project!r}",
            )
        error.reason = "wrong_project"
        raise self.refuse(error, client=client, path=path, key_id=principal.key_id)


def model_of(path: str) -> str | None:
    """The model a ``/v1/models/{name}[/...]`` path names, else None.

    Examples
    --------
    >>> model_of("/v1/models/churn/predict"), model_of("/v1/models/churn"), model_of("/metrics")
    ('churn', 'churn', None)
    """
    parts = path.split("/")
    if len(parts) >= 4 and parts[1:3] == ["v1", "models"] and parts[3]:
        return parts[3]
    return None


_bearer = HTTPBearer(auto_error=False, description="A token from POST /v1/auth/token.")


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def require(role: str):  # -> a FastAPI dependency returning Principal
    """A dependency that admits callers holding ``role`` or a higher one.

    The project is checked too: against the model named in the path
    (``{name}``, when that model is served), and against a ``project`` query
    parameter when one is given. Routes whose project is in the body check it
    themselves with :meth:`Guard.check_project`.
    """
    role_rank(role)

    async def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
    ) -> Principal:
        # ``credentials`` puts the bearer scheme in the OpenAPI document; the
        # header itself is read by Guard.authorize, like on the fast path.
        state = request.app.state.aims
        guard: Guard = state.guard
        client, path = client_of(request), request.url.path
        project = None
        name = request.path_params.get("name")
        if name is not None:
            routes = state.deployments.table.get(name)
            project = routes.project if routes is not None else None
        check = functools.partial(
            guard.authorize,
            request.headers.get("authorization"),
            role=role,
            project=project,
            client=client,
            path=path,
        )
        # A provider's token may need its keys fetched and a sign-in written to
        # the store: off the event loop then, so other requests are not stalled.
        principal = check() if guard.oidc is None else await run_in_threadpool(check)
        query_project = request.query_params.get("project")
        if query_project is not None:
            guard.check_project(principal, query_project, client=client, path=path)
            guard.check_role_on(principal, query_project, role, client=client, path=path)
        # Read by the upload routes, which count each principal's uploads in flight.
        request.state.principal = principal
        return principal

    # Read back when the OpenAPI document names each route's role (server.app).
    dependency.aims_role = role  # type: ignore[attr-defined]  # a function attribute
    return dependency
