"""Access control over real HTTP: every route refuses what it must, keys, tokens, revocation, limits."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import httpx
import jwt
import pytest

from aims.errors import ConfigError
from aims.server.auth import TokenIssuer
from aims.server.config import ServerConfig, token_secret
from aims.services import keys, lifecycle
from aims.services.keys import ROLES
from tests.server.conftest import (
    ACTOR,
    LiveServer,
    bearer,
    mint,
    new_workspace,
    register_tiny,
    wait_until,
)

CONFIG = ServerConfig(poll_interval=0.2, auth_audit_interval=0.2, rate_limit=1e6, rate_burst=1e6)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, tiny_files):
    from aims.server.app import create_app
    from aims.workspace import Workspace

    root = tmp_path_factory.mktemp("auth") / "ws"
    base = new_workspace(root)
    ws = Workspace(dataclasses.replace(base.settings, project="alpha"))
    register_tiny(ws, tiny_files, "tiny", "model")
    lifecycle.promote(ws, "tiny@1", "production", actor=ACTOR)
    beta = Workspace(dataclasses.replace(base.settings, project="beta"))
    from aims.services import registry

    registry.register_model(
        beta,
        tiny_files["model"],
        "other",
        actor=ACTOR,
        datasets=["tiny@1"],
        owners={"deployment": "d@x.org", "monitoring": "m@x.org"},
        contract_path=tiny_files["contract"],
    )
    lifecycle.promote(beta, "other@1", "production", actor=ACTOR)
    _, api_key = keys.create_key(ws, project="alpha", role="predictor", actor=ACTOR)
    app = create_app(ws, config=CONFIG)
    with LiveServer(app) as server:
        yield {"ws": ws, "url": server.url, "app": app, "api_key": api_key}
    ws.close()


def _request_for(route: Any) -> tuple[str, str, dict[str, Any]]:
    """A request that the route would accept from an alpha token of high enough role."""
    method = sorted(route.methods - {"HEAD"})[0]
    path = route.path.replace("{name}", "tiny")
    kwargs: dict[str, Any] = {}
    if path.endswith("/predict"):
        kwargs["json"] = {"records": [{"x1": 0.1, "x2": 0.2}]}
    elif path == "/v1/labels":
        kwargs["json"] = {"model": "tiny", "labels": [{"prediction_id": "p", "label": 1}]}
    elif path == "/v1/traces":
        # An empty OTLP JSON export, for the project named as a token of every project must.
        kwargs["json"] = {"resourceSpans": []}
        kwargs["params"] = {"project": "alpha"}
    elif "{" not in route.path:
        kwargs["params"] = {"project": "alpha"}
    return method, path, kwargs


def test_every_route_refuses_missing_expired_foreign_and_low_role_tokens(secured) -> None:
    from aims.server.app import PUBLIC_PATHS
    from aims.server.route_roles import api_routes, route_role

    ws = secured["ws"]
    # The governance API's routes have their own test (test_governance_routes.py),
    # with requests each of them accepts.
    routes = [
        r
        for r in api_routes(secured["app"])
        if r.path not in PUBLIC_PATHS
        and not r.endpoint.__module__.startswith("aims.server.governance")
    ]
    assert {r.path for r in routes} >= {
        "/v1/models",
        "/v1/models/{name}",
        "/v1/models/{name}/predict",
        "/v1/labels",
        "/metrics",
    }
    expired = mint(ws, "alpha", "admin", now=time.time() - 3600)
    foreign = mint(ws, "beta", "admin")
    forged = jwt.encode(
        {"iss": "aims", "sub": "k1", "prj": "alpha", "role": "admin", "iat": 0, "exp": 2**40},
        b"not-the-server-secret-not-the-server-secret",
        algorithm="HS256",
    )
    with httpx.Client(base_url=secured["url"], timeout=30) as c:
        for route in routes:
            role = route_role(route)
            assert role in ROLES, f"{route.path} declares no role"
            method, path, kw = _request_for(route)
            where = f"{method} {route.path}"
            assert c.request(method, path, **kw).status_code == 401, where
            for token in (expired, forged, "not-a-token"):
                r = c.request(method, path, headers=bearer(token), **kw)
                assert r.status_code == 401, where
                assert r.headers["www-authenticate"] == "Bearer"
            r = c.request(method, path, headers=bearer(foreign), **kw)
            if "{name}" in route.path:
                # Another project's model answers exactly as one that is not served.
                unserved = c.request(
                    method, path.replace("tiny", "nope"), headers=bearer(foreign), **kw
                )
                assert r.status_code == unserved.status_code == 404, where
                assert r.json()["detail"] == unserved.json()["detail"].replace("nope", "tiny")
            elif path == "/v1/labels":
                assert r.status_code == 404, where
                assert r.json()["detail"] == "model 'tiny' is not registered"
            else:
                assert r.status_code == 403, where
                # /v1/traces answers as OTLP asks: a google.rpc.Status (7: PERMISSION_DENIED).
                assert r.json()["code"] == (7 if path == "/v1/traces" else "permission_denied")
            rank = ROLES.index(role)
            if rank > 0:
                low = mint(ws, "alpha", ROLES[rank - 1])
                r = c.request(method, path, headers=bearer(low), **kw)
                said = r.json().get("detail") or r.json().get("message", "")
                assert r.status_code == 403 and role in said, where
            ok = c.request(method, path, headers=bearer(mint(ws, "alpha", role)), **kw)
            assert ok.status_code == 200, f"{where}: {ok.text}"
            everything = c.request(method, path, headers=bearer(mint(ws, "*", "admin")), **kw)
            assert everything.status_code == 200, where


def test_public_routes_are_only_health_token_and_api_documents(secured) -> None:
    from aims.server.app import PUBLIC_PATHS
    from aims.server.route_roles import api_routes, route_role

    public = {r.path for r in api_routes(secured["app"]) if route_role(r) is None}
    assert public <= PUBLIC_PATHS
    assert {"/healthz", "/readyz", "/v1/auth/token"} <= public


def test_key_exchange_gives_a_token_with_project_and_role(secured) -> None:
    with httpx.Client(base_url=secured["url"], timeout=30) as c:
        r = c.post("/v1/auth/token", json={"api_key": secured["api_key"]})
        assert r.status_code == 200
        body = r.json()
        assert (body["project"], body["role"], body["expires_in"]) == ("alpha", "predictor", 900)
        claims = jwt.decode(body["access_token"], token_secret(secured["ws"]), algorithms=["HS256"])
        assert claims["prj"] == "alpha" and claims["exp"] - claims["iat"] == 900
        h = bearer(body["access_token"])
        assert c.get("/v1/models", headers=h).status_code == 200
        # Another project's model is hidden: 404, as for a model nobody serves.
        assert c.get("/v1/models/other", headers=h).status_code == 404
        wrong = secured["api_key"][:-3] + "abc"
        for bad in (wrong, "aims.kffffffffffff.secret", "garbage"):
            r = c.post("/v1/auth/token", json={"api_key": bad})
            assert r.status_code == 401 and r.json()["code"] == "unauthenticated"


def test_revoking_a_key_stops_its_issued_tokens(secured) -> None:
    ws = secured["ws"]
    info, api_key = keys.create_key(ws, project="alpha", role="viewer", actor=ACTOR)
    with httpx.Client(base_url=secured["url"], timeout=30) as c:
        token = c.post("/v1/auth/token", json={"api_key": api_key}).json()["access_token"]
        assert c.get("/v1/models", headers=bearer(token)).status_code == 200
        keys.revoke_key(ws, info["key_id"], actor=ACTOR, reason="leaked")
        revoked_at = time.monotonic()
        wait_until(lambda: c.get("/v1/models", headers=bearer(token)).status_code == 401, 5)
        assert time.monotonic() - revoked_at < 2.0
        assert "revoked" in c.get("/v1/models", headers=bearer(token)).json()["detail"]
        assert c.post("/v1/auth/token", json={"api_key": api_key}).status_code == 401


def test_rate_limit_per_key_answers_429_with_retry_after(secured) -> None:
    from aims.server.app import create_app

    app = create_app(secured["ws"], config=dataclasses.replace(CONFIG, rate_limit=1, rate_burst=3))
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        ws = secured["ws"]
        mine = bearer(mint(ws, "alpha", "viewer", key_id="k0000000000a1"))
        other = bearer(mint(ws, "alpha", "viewer", key_id="k0000000000b2"))
        codes = [c.get("/v1/models", headers=mine).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        limited = c.get("/v1/models", headers=mine)
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["code"] == "rate_limited"
        assert c.get("/v1/models", headers=other).status_code == 200  # per key


def test_token_issuer_checks_signature_expiry_and_claims() -> None:
    issuer = TokenIssuer(b"s" * 32, ttl_seconds=60)
    key = {"key_id": "kabc", "project": "p", "role": "operator"}
    token, lifetime = issuer.issue(key)
    assert lifetime == 60
    principal = issuer.verify(token)
    assert (principal.key_id, principal.project, principal.role) == ("kabc", "p", "operator")
    old, _ = issuer.issue(key, now=time.time() - 120)
    with pytest.raises(Exception) as info:
        issuer.verify(old)
    assert info.value.status == 401 and info.value.reason == "expired"  # type: ignore[attr-defined]
    other = TokenIssuer(b"t" * 32, ttl_seconds=60)
    with pytest.raises(Exception) as info:
        other.verify(token)
    assert info.value.reason == "invalid_token"  # type: ignore[attr-defined]
    bad_role = jwt.encode(
        {"iss": "aims", "sub": "k", "prj": "p", "role": "root", "iat": 0, "exp": 2**40},
        b"s" * 32,
        algorithm="HS256",
    )
    with pytest.raises(Exception) as info:
        issuer.verify(bad_role)
    assert info.value.reason == "invalid_token"  # type: ignore[attr-defined]


def test_token_never_outlives_its_key() -> None:
    from datetime import UTC, datetime, timedelta

    issuer = TokenIssuer(b"s" * 32, ttl_seconds=900)
    soon = datetime.now(UTC) + timedelta(seconds=30)
    _, lifetime = issuer.issue(
        {"key_id": "k", "project": "p", "role": "viewer", "expires_at": soon}
    )
    assert 25 <= lifetime <= 30


def test_server_refuses_to_start_without_keys_unless_insecure_dev(tmp_path, tiny_files) -> None:
    from aims.server.app import create_app

    ws = new_workspace(tmp_path / "ws")
    register_tiny(ws, tiny_files, "tiny", "model")
    lifecycle.promote(ws, "tiny@1", "production", actor=ACTOR)
    with pytest.raises(ConfigError, match="no active API key"):
        create_app(ws)
    app = create_app(ws, insecure_dev=True, config=CONFIG)
    with LiveServer(app) as server, httpx.Client(base_url=server.url) as c:
        r = c.post("/v1/models/tiny/predict", json={"records": [{"x1": 0.0, "x2": 1.0}]})
        assert r.status_code == 200 and r.headers["x-aims-auth"] == "disabled"
        assert c.get("/metrics").status_code == 200
    ws.close()
