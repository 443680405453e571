"""Tokens of the MCP endpoints: bound to one resource, scoped, short-lived (OAuth 2.1).

An MCP endpoint of aims is an OAuth 2.1 resource server. Its tokens differ
from the ordinary API tokens of :mod:`aims.server.auth` in three ways:

- they name the resource they are for in ``aud`` (RFC 8707 resource
  indicators): a token for ``https://host/mcp`` is refused anywhere else, an
  ordinary API token (no ``aud``) is refused at ``/mcp``, and an MCP token is
  refused by the rest of the API (the API's check refuses any ``aud``);
- they carry OAuth scopes in ``scope`` (:data:`SCOPES`), each bounded by the
  role of the key they were issued for, so an agent with viewer rights never
  holds ``aims:propose``;
- they live at most :data:`MAX_TTL_SECONDS`, whatever ``token_ttl_seconds`` says.

:func:`require_token` is the one check every MCP request goes through. Its
refusals follow RFC 6750 and the MCP authorization specification: 401 with
``WWW-Authenticate: Bearer resource_metadata="..."`` naming where the
protected resource metadata (RFC 9728) is, and 403 ``insufficient_scope``
naming the scopes the call needs. Each refusal is counted and audited like any
refused API call (:meth:`aims.server.auth.Guard.refuse`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import urlsplit

import jwt
from fastapi import Request

from aims.server.auth import ALGORITHM, DEV_PRINCIPAL, ISSUER, Guard, Principal, client_of
from aims.server.problems import ApiError
from aims.services.keys import ROLES, role_rank

__all__ = [
    "MAX_TTL_SECONDS",
    "MCP_PATH",
    "SCOPES",
    "McpTokens",
    "metadata_url",
    "require_token",
    "resource_of",
    "scopes_for_role",
]

SCOPES: dict[str, str] = {"aims:read": "viewer", "aims:propose": "scientist"}
"""Each scope an MCP token may carry, and the lowest role a key needs to be given it:
reading needs what the read routes of the API need (viewer), proposing what
opening an incident needs (scientist)."""

MAX_TTL_SECONDS = 900
"""The longest an MCP token lives (15 minutes), whatever the server's token lifetime."""

VERIFIED_TOKENS = 4096
"""How many verified tokens a server remembers before it forgets them all and starts again."""

MCP_PATH = "/mcp"
"""Where aims' own MCP server is mounted; its resource is the server's origin plus this path."""

WELL_KNOWN_RESOURCE = "/.well-known/oauth-protected-resource"
"""RFC 9728's well-known prefix of protected resource metadata."""


def resource_of(request: Request, path: str = MCP_PATH) -> str:
    """The canonical URI of the resource at ``path`` on this server, as the caller reached it.

    The origin is the scheme (as forwarded by a trusted proxy) and the ``Host``
    the request names, so a client that reached the server as
    ``https://aims.example.org`` is told, and must ask for, that resource.
    """
    base = str(request.base_url).rstrip("/")
    return base + path


def metadata_url(resource: str) -> str:
    """Where the protected resource metadata of ``resource`` is (RFC 9728, section 3.1).

    Examples
    --------
    >>> metadata_url("https://aims.example.org/mcp")
    'https://aims.example.org/.well-known/oauth-protected-resource/mcp'
    """
    parts = urlsplit(resource)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{WELL_KNOWN_RESOURCE}{path}"


def scopes_for_role(role: str) -> frozenset[str]:
    """The scopes a key with ``role`` may be given.

    Examples
    --------
    >>> sorted(scopes_for_role("viewer")), sorted(scopes_for_role("approver"))
    (['aims:read'], ['aims:propose', 'aims:read'])
    """
    rank = role_rank(role)
    return frozenset(s for s, low in SCOPES.items() if rank >= role_rank(low))


class McpTokens:
    """Signs and checks MCP tokens (JWT, HS256, with ``aud`` and ``scope``)."""

    def __init__(self, secret: bytes, ttl_seconds: float) -> None:
        self.secret = secret
        self.ttl = min(float(ttl_seconds), MAX_TTL_SECONDS)
        # Tokens already verified, by (token, resource): an agent sends the same token with
        # every call for minutes, and decoding it again each time is a measurable share of a
        # gateway call. A hit is still refused once its expiry passes; revocation, rate limit
        # and scopes are checked on every request by require_token, cached or not.
        self._verified: dict[tuple[str, str], Principal] = {}

    def issue(
        self,
        key: dict[str, Any],
        *,
        resource: str,
        scopes: Collection[str],
        now: float | None = None,
    ) -> tuple[str, int]:
        """A token of key ``key`` for ``resource`` with ``scopes``; returns it and its lifetime.

        As an API token, it never outlives the key's expiry or the elevation
        its role comes from. The caller has checked ``scopes`` against the
        key's role (:func:`scopes_for_role`); :meth:`verify` checks again.
        """
        now = time.time() if now is None else now
        exp = now + self.ttl
        for end in ("expires_at", "elevated_until"):
            if key.get(end) is not None:
                exp = min(exp, key[end].timestamp())
        claims = {
            "iss": ISSUER,
            "sub": key["key_id"],
            "aud": resource,
            "scope": " ".join(sorted(scopes)),
            "prj": key["project"],
            "role": key["role"],
            "pal": key.get("principal"),
            "iat": int(now),
            "exp": int(exp),
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, self.secret, algorithm=ALGORITHM, headers={"typ": "at+jwt"})
        return token, max(0, int(exp - now))

    def verify(self, token: str, *, resource: str) -> Principal:
        """The principal of a valid token for ``resource``; ``ApiError(401)`` otherwise.

        The refusal's ``reason`` is ``expired``, ``wrong_audience`` or
        ``invalid_token``; its message says how to get a good token.
        """
        known = self._verified.get((token, resource))
        if known is not None and time.time() < known.expires_at:
            return known
        principal = self._decode(token, resource)
        if len(self._verified) >= VERIFIED_TOKENS:
            self._verified.clear()  # bounded; the live tokens come back at their next use
        self._verified[(token, resource)] = principal
        return principal

    def _decode(self, token: str, resource: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                audience=resource,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise _invalid("expired", "the token has expired; get a new one", resource) from None
        except (jwt.InvalidAudienceError, jwt.MissingRequiredClaimError):
            raise _invalid(
                "wrong_audience",
                f"the token is not for this resource; get one for {resource} from the "
                "token endpoint with resource=" + resource,
                resource,
            ) from None
        except jwt.PyJWTError:
            raise _invalid("invalid_token", "the token is not valid", resource) from None
        role, project, name = claims.get("role"), claims.get("prj"), claims.get("pal")
        scope = claims.get("scope")
        if role not in ROLES or not isinstance(project, str) or not isinstance(scope, str):
            raise _invalid("invalid_token", "the token is not valid", resource)
        # Bounded again here, so a token can never hold more than its role allows.
        scopes = frozenset(scope.split()) & scopes_for_role(role)
        return Principal(
            str(claims["sub"]),
            project,
            role,
            float(claims["exp"]),
            str(claims.get("jti", "")),
            name if isinstance(name, str) and name else None,
            audience=resource,
            scopes=scopes,
        )


def _quoted(text: str) -> str:
    # A quoted-string of RFC 7230 may not hold quotes or backslashes unescaped;
    # the texts here are ours, so dropping them is enough.
    return text.replace("\\", "").replace('"', "'")


def challenge(
    resource: str, *, error: str | None = None, description: str = "", scope: str = ""
) -> str:
    """A ``WWW-Authenticate`` value for ``resource`` (RFC 6750 section 3, RFC 9728 section 5.1)."""
    parts = []
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{_quoted(description)}"')
    if scope:
        parts.append(f'scope="{scope}"')
    parts.append(f'resource_metadata="{metadata_url(resource)}"')
    return "Bearer " + ", ".join(parts)


def _invalid(reason: str, message: str, resource: str) -> ApiError:
    error = ApiError(
        401,
        "unauthenticated",
        message,
        headers={
            "WWW-Authenticate": challenge(resource, error="invalid_token", description=message)
        },
    )
    error.reason = reason
    return error


def _guard(request: Request) -> Guard:
    guard: Guard = request.app.state.aims.guard
    return guard


def tokens_of(request: Request) -> McpTokens:
    """The server's MCP token signer (made once per app, from the API's token secret)."""
    return app_tokens(request.app)


def app_tokens(app: Any) -> McpTokens:
    """:func:`tokens_of` for the app itself (outside a request)."""
    state = app.state
    tokens: McpTokens | None = getattr(state, "mcp_tokens", None)
    if tokens is None:
        issuer = state.aims.guard.issuer
        tokens = McpTokens(issuer.secret, issuer.ttl)
        state.mcp_tokens = tokens
    return tokens


def require_token(request: Request, resource: str, scopes: set[str]) -> Principal:
    """The caller of ``request`` if it holds a valid token for ``resource`` with ``scopes``
    (:func:`check_token` on the request's ``Authorization`` header)."""
    return check_token(
        _guard(request),
        tokens_of(request),
        request.headers.get("authorization"),
        resource,
        scopes,
        client=lambda: client_of(request),
        path=lambda: request.url.path,
    )


def check_token(
    guard: Guard,
    tokens: McpTokens,
    authorization: str | None,
    resource: str,
    scopes: set[str],
    *,
    client: Callable[[], str],
    path: Callable[[], str],
) -> Principal:
    """The caller holding the bearer token in ``authorization``, if it is valid for
    ``resource`` with ``scopes``.

    Checks, in order: a bearer token is present (else 401 with the resource
    metadata's address and the scopes needed), it is valid, unexpired and for
    ``resource`` (else 401 ``invalid_token``), neither it nor its key is
    revoked (401), the key is within its rate limit (429), and the token holds
    every scope in ``scopes`` (else 403 ``insufficient_scope`` naming them).
    Raises ``ApiError`` with the ``WWW-Authenticate`` header set; each refusal
    is counted on ``/metrics`` and noted for the audit log, with the caller's
    address and the path (``client`` and ``path`` are asked only then).

    With ``--insecure-dev`` every caller is an admin of every project holding
    every scope, as on the rest of the API.
    """
    if guard.insecure:
        return Principal(
            DEV_PRINCIPAL.key_id,
            DEV_PRINCIPAL.project,
            DEV_PRINCIPAL.role,
            DEV_PRINCIPAL.expires_at,
            audience=resource,
            scopes=frozenset(SCOPES),
        )
    needed = " ".join(sorted(scopes))

    def refused(error: ApiError, key_id: str | None = None) -> ApiError:
        return guard.refuse(error, client=client(), path=path(), key_id=key_id)

    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        message = (
            "this resource needs a bearer token bound to it: see its metadata at "
            f"{metadata_url(resource)} and send 'Authorization: Bearer <token>'"
        )
        error = ApiError(
            401,
            "unauthenticated",
            message,
            headers={"WWW-Authenticate": challenge(resource, scope=needed)},
        )
        error.reason = "missing_token"
        raise refused(error)
    try:
        principal = tokens.verify(token.strip(), resource=resource)
    except ApiError as exc:
        raise refused(exc) from None
    key_id = principal.key_id
    if guard.token_revoked(principal):
        message = f"API key {key_id} or this token has been revoked"
        raise refused(_invalid("revoked", message, resource), key_id)
    wait = guard.limiter.wait_time(key_id)
    if wait:
        error = ApiError(
            429,
            "rate_limited",
            f"rate limit of {guard.limiter.rate:g} requests/s for key {key_id} exceeded; "
            f"retry after {wait:.2f} s",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
        error.reason = "rate_limited"
        raise refused(error, key_id)
    missing = set(scopes) - principal.scopes
    if missing:
        raise refused(insufficient_scope(resource, scopes, principal), key_id)
    return principal


def insufficient_scope(resource: str, scopes: Collection[str], principal: Principal) -> ApiError:
    """The 403 of a token without every scope in ``scopes`` (RFC 6750 section 3.1)."""
    needed = " ".join(sorted(scopes))
    held = " ".join(sorted(principal.scopes)) or "none"
    message = f"this needs the scope {needed}; the token holds {held}"
    if not set(scopes) <= scopes_for_role(principal.role):
        message += f" and its key's role ({principal.role}) cannot be given it"
    else:
        message += "; get a token with scope=" + needed.replace(" ", "+")
    error = ApiError(
        403,
        "permission_denied",
        message,
        headers={
            "WWW-Authenticate": challenge(
                resource, error="insufficient_scope", description=message, scope=needed
            )
        },
    )
    error.reason = "insufficient_scope"
    return error
