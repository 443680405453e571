"""How an MCP client finds out what token to get, and gets it.

=============================================================  ===========================================
route                                                          what
=============================================================  ===========================================
``GET /.well-known/oauth-protected-resource[/<path>]``          protected resource metadata (RFC 9728)
``GET /.well-known/oauth-authorization-server``                authorization server metadata (RFC 8414)
``POST /oauth/token``                                          the token endpoint (client credentials)
``GET /oauth/authorize``                                       refuses: there is no interactive grant
=============================================================  ===========================================

aims is its own authorization server for its keys. A client (an agent)
authenticates with its API key as the client secret (HTTP Basic, or
``client_secret`` in the form), names the resource it wants a token for
(``resource``, RFC 8707; required) and the scopes (``scope``; default: every
scope its key's role allows). Scopes beyond the key's role are left out of the
token, and the answer's ``scope`` says what was granted (RFC 6749 section 3.3);
a request of nothing but such scopes is refused with ``invalid_scope``. The token is bound to that resource and lives at most 15
minutes (:mod:`aims.server.mcp.oauth`).

Errors of the token endpoint are those of RFC 6749 section 5.2
(``{"error": ..., "error_description": ...}``), which OAuth clients parse.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from aims.server.auth import client_of
from aims.server.mcp.oauth import (
    SCOPES,
    WELL_KNOWN_RESOURCE,
    resource_of,
    scopes_for_role,
    tokens_of,
)
from aims.server.problems import ApiError

__all__ = ["TOKEN_PATH", "register_resource", "router"]

TOKEN_PATH = "/oauth/token"
AUTHORIZE_PATH = "/oauth/authorize"
AUTHORIZATION_SERVER = "/.well-known/oauth-authorization-server"

router = APIRouter(tags=["oauth"])


def register_resource(app: Any, path: str) -> None:
    """Make the MCP resource at ``path`` (e.g. ``/mcp``) known to the token endpoint, and
    publish its metadata at ``/.well-known/oauth-protected-resource<path>`` (RFC 9728 3.1).

    The first resource registered on ``app`` adds the routes of this module too.
    """
    paths: set[str] = getattr(app.state, "mcp_resources", set())
    if path in paths:
        return
    if not paths:  # the first resource brings the token endpoint and the server metadata
        app.include_router(router)
    paths.add(path)
    app.state.mcp_resources = paths

    async def metadata(request: Request) -> Any:
        return _resource_document(request, path)

    app.add_api_route(
        WELL_KNOWN_RESOURCE + path,
        metadata,
        methods=["GET"],
        tags=["oauth"],
        summary=f"Protected resource metadata of {path} (RFC 9728)",
    )


def _resources(request: Request) -> set[str]:
    paths: set[str] = getattr(request.app.state, "mcp_resources", set())
    return paths


def _origin(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _resource_document(request: Request, path: str) -> dict[str, Any]:
    return {
        "resource": resource_of(request, path),
        "authorization_servers": [_origin(request)],
        "scopes_supported": list(SCOPES),
        "bearer_methods_supported": ["header"],
        "resource_name": "aims",
    }


def _not_found(what: str) -> JSONResponse:
    return JSONResponse({"error": "not_found", "error_description": what}, status_code=404)


@router.get(WELL_KNOWN_RESOURCE, summary="Protected resource metadata (RFC 9728)")
async def resource_metadata(request: Request) -> Any:
    """The metadata of this server's MCP resource (``/mcp``)."""
    resources = _resources(request)
    if not resources:
        return _not_found("this server serves no MCP resource (install the mcp extra)")
    return _resource_document(request, "/mcp" if "/mcp" in resources else min(resources))


@router.get(AUTHORIZATION_SERVER, summary="Authorization server metadata (RFC 8414)")
async def authorization_server(request: Request) -> Any:
    """How to get a token: the client credentials grant at the token endpoint."""
    origin = _origin(request)
    return {
        "issuer": origin,
        # Required by RFC 8414 only for grants that use it, but clients expect it: it exists
        # and refuses every request, naming the grant that works.
        "authorization_endpoint": origin + AUTHORIZE_PATH,
        "token_endpoint": origin + TOKEN_PATH,
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": list(SCOPES),
        "response_types_supported": [],
    }


@router.get(AUTHORIZE_PATH, summary="Authorization endpoint (refuses: client credentials only)")
async def authorize() -> Any:
    """No interactive grant: every request is refused, naming the grant aims supports."""
    return OAuthError(
        "unsupported_response_type",
        f"aims issues tokens by the client_credentials grant only: POST {TOKEN_PATH} with "
        "your API key as client secret",
    ).response()


class OAuthError(Exception):
    """A refusal of the token endpoint, answered as RFC 6749 section 5.2 says."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status,
            headers={"Cache-Control": "no-store", "Pragma": "no-cache", **(headers or {})},
        )


def _basic(header: str | None) -> tuple[str, str] | None:
    """(client_id, client_secret) of an HTTP Basic header (form-urlencoded, RFC 6749 2.3.1)."""
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError(
            "invalid_client", "the Basic credentials are not base64 of id:secret", 401
        ) from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "the Basic credentials are not base64 of id:secret", 401)
    return unquote_plus(client_id), unquote_plus(secret)


def _credentials(form: Any, header: str | None) -> tuple[str | None, str]:
    basic = _basic(header)
    in_form = form.get("client_secret")
    if basic is not None and in_form:
        raise OAuthError(
            "invalid_request", "send the client secret once: in Basic or in the form, not both"
        )
    if basic is not None:
        return basic[0] or None, basic[1]
    if not in_form:
        raise OAuthError(
            "invalid_client",
            "authenticate with your API key as client secret (HTTP Basic, or client_secret)",
            401,
        )
    return form.get("client_id") or None, str(in_form)


def _requested_scopes(text: str | None, role: str) -> frozenset[str]:
    allowed = scopes_for_role(role)
    if text is None or not text.strip():
        return allowed
    asked = frozenset(text.split())
    unknown = sorted(asked - set(SCOPES))
    if unknown:
        raise OAuthError(
            "invalid_scope", f"unknown scope {' '.join(unknown)}; the scopes are {' '.join(SCOPES)}"
        )
    granted = asked & allowed
    if not granted:
        raise OAuthError(
            "invalid_scope",
            f"a key with the {role} role cannot be given {' '.join(sorted(asked))} "
            f"(it may have: {' '.join(sorted(allowed)) or 'none'})",
        )
    # RFC 6749 section 3.3: the server may issue fewer scopes than asked, and says which in
    # the answer's "scope". MCP clients ask for every scope the resource lists by default.
    return granted


@router.post(TOKEN_PATH, summary="Token endpoint (OAuth 2.1 client credentials)")
async def token(request: Request) -> Any:
    """A token for one MCP resource, in exchange for an API key (see the module doc)."""
    try:
        return await _token(request)
    except OAuthError as exc:
        basic = (request.headers.get("authorization") or "").lower().startswith("basic")
        challenge = (
            {"WWW-Authenticate": 'Basic realm="aims"'} if exc.status == 401 and basic else None
        )
        return exc.response(challenge)


async def _token(request: Request) -> Any:
    from aims.server.app import exchange_key

    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError(
            "invalid_request", "send the request as application/x-www-form-urlencoded (RFC 6749)"
        )
    form = await request.form()
    grant = form.get("grant_type")
    if grant != "client_credentials":
        raise OAuthError(
            "unsupported_grant_type",
            f"grant_type {grant!r} is not supported; use client_credentials",
        )
    resources = form.getlist("resource")
    if len(resources) != 1:
        raise OAuthError(
            "invalid_target" if resources else "invalid_request",
            f"name exactly one resource, e.g. resource={resource_of(request)} (RFC 8707)",
        )
    resource = str(resources[0])
    known = {resource_of(request, p) for p in _resources(request)}
    if resource not in known:
        raise OAuthError(
            "invalid_target",
            f"{resource!r} is not a resource of this server; it serves {', '.join(sorted(known)) or 'none'}",
        )
    client_id, secret = _credentials(form, request.headers.get("authorization"))
    if len(secret) > 512 or (client_id is not None and len(client_id) > 200):
        # As POST /v1/auth/token: a key is far shorter, and each exchange costs an argon2 hash.
        raise OAuthError("invalid_client", "the client credentials are not valid", 401)
    state = request.app.state.aims
    try:
        key = await run_in_threadpool(
            exchange_key, state, secret, client=client_of(request), path=request.url.path
        )
    except ApiError as exc:
        if exc.status == 429:
            refusal = OAuthError("temporarily_unavailable", exc.message, 429)
            return refusal.response(dict(exc.headers))
        raise OAuthError("invalid_client", exc.message, 401) from None
    if client_id is not None and client_id not in (key["key_id"], key.get("principal")):
        raise OAuthError(
            "invalid_client", "client_id does not match the key's id or principal", 401
        )
    scopes = _requested_scopes(form.get("scope"), key["role"])  # type: ignore[arg-type]
    if not scopes:
        raise OAuthError("invalid_scope", f"a key with the {key['role']} role may hold no scope")
    access, lifetime = tokens_of(request).issue(key, resource=resource, scopes=scopes)
    state.guard.events.note("server.token.issued", f"apikey:{key['key_id']}", "mcp", resource)
    return JSONResponse(
        {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": " ".join(sorted(scopes)),
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
