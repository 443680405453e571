"""MCP tokens and tool arguments without a server: lifetime, audience, scopes, redaction."""

from __future__ import annotations

import datetime as dt
import time

import jwt
import pytest

from aims.server.auth import TokenIssuer
from aims.server.mcp.oauth import McpTokens, challenge, metadata_url, scopes_for_role
from aims.server.problems import ApiError

SECRET = b"s" * 32
RESOURCE = "https://aims.example.org/mcp"
KEY = {"key_id": "k0123456789ab", "project": "credit", "role": "scientist", "principal": "bot"}


def test_a_token_lives_at_most_fifteen_minutes_whatever_the_settings() -> None:
    tokens = McpTokens(SECRET, ttl_seconds=24 * 3600)
    token, lifetime = tokens.issue(KEY, resource=RESOURCE, scopes={"aims:read"}, now=1000.0)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert lifetime == 900 and claims["exp"] - claims["iat"] == 900
    # Never past the key's own expiry either.
    soon = {**KEY, "expires_at": dt.datetime.fromtimestamp(1060.0, dt.UTC)}
    _, lifetime = tokens.issue(soon, resource=RESOURCE, scopes={"aims:read"}, now=1000.0)
    assert lifetime == 60


def test_a_token_is_good_for_its_resource_only_and_never_for_the_api() -> None:
    tokens = McpTokens(SECRET, ttl_seconds=300)
    token, _ = tokens.issue(KEY, resource=RESOURCE, scopes={"aims:read", "aims:propose"})
    principal = tokens.verify(token, resource=RESOURCE)
    assert principal.name == "bot" and principal.audience == RESOURCE
    assert principal.scopes == {"aims:read", "aims:propose"}
    with pytest.raises(ApiError) as other:
        tokens.verify(token, resource="https://aims.example.org/gateway/mcp")
    assert other.value.status == 401 and other.value.reason == "wrong_audience"
    assert 'error="invalid_token"' in other.value.headers["WWW-Authenticate"]
    with pytest.raises(ApiError) as api:
        TokenIssuer(SECRET, 300).verify(token)
    assert api.value.status == 401
    # An ordinary API token has no audience: refused at the MCP resource.
    ordinary, _ = TokenIssuer(SECRET, 300).issue(KEY)
    with pytest.raises(ApiError) as plain:
        tokens.verify(ordinary, resource=RESOURCE)
    assert plain.value.reason == "wrong_audience"


def test_scopes_a_token_holds_are_bounded_by_its_role_when_checked() -> None:
    # A token signed with more scopes than its role allows (say, minted by hand)
    # still holds only what the role allows.
    now = int(time.time())
    claims = {**KEY, "role": "viewer", "iss": "aims", "sub": "k0123456789ab", "aud": RESOURCE}
    claims |= {"prj": "credit", "scope": "aims:read aims:propose", "iat": now, "exp": now + 60}
    token = jwt.encode(claims, SECRET, "HS256")
    assert McpTokens(SECRET, 300).verify(token, resource=RESOURCE).scopes == {"aims:read"}
    assert scopes_for_role("predictor") == {"aims:read"}
    assert scopes_for_role("operator") == {"aims:read", "aims:propose"}


def test_an_expired_token_is_refused_as_expired() -> None:
    tokens = McpTokens(SECRET, ttl_seconds=300)
    token, _ = tokens.issue(KEY, resource=RESOURCE, scopes={"aims:read"}, now=time.time() - 3600)
    with pytest.raises(ApiError) as caught:
        tokens.verify(token, resource=RESOURCE)
    assert caught.value.reason == "expired"


def test_challenges_name_the_metadata_and_never_break_their_quotes() -> None:
    text = challenge(
        RESOURCE, error="insufficient_scope", description='say "hi"', scope="aims:read"
    )
    assert text == (
        'Bearer error="insufficient_scope", error_description="say \'hi\'", '
        'scope="aims:read", resource_metadata="https://aims.example.org/.well-known/'
        'oauth-protected-resource/mcp"'
    )
    assert metadata_url("http://127.0.0.1:8000/gateway/mcp/") == (
        "http://127.0.0.1:8000/.well-known/oauth-protected-resource/gateway/mcp"
    )


def test_tool_arguments_are_strict_and_free_text_is_hashed_for_the_audit() -> None:
    from aims.errors import InvalidInput
    from aims.services.mcp_toolkit import parse_args, redacted
    from aims.services.mcp_tools import tools

    catalogue = tools()
    promote = catalogue["request_promotion"]
    good = {"model": "churn", "version": 2, "stage": "production", "reason": "ana@x.org said so"}
    assert parse_args(promote, good).version == 2  # type: ignore[attr-defined]
    for bad, field in (
        ({**good, "version": "2"}, "version"),
        ({**good, "stage": "canary"}, "stage"),
        ({**good, "approve": True}, "approve"),
        ({**good, "model": "../etc"}, "model"),
    ):
        with pytest.raises(InvalidInput, match=field):
            parse_args(promote, bad)
    audited = redacted(promote, good, "salt")
    assert audited["model"] == "churn" and audited["version"] == 2
    assert audited["reason"].startswith("hmac:") and "ana" not in audited["reason"]
    assert redacted(promote, good, "salt") == audited  # the same text, the same hash
    assert all(v.startswith("hmac:") for v in redacted(None, {"a": "x", "b": 1}, "salt").values())
