"""An API key sent where a token belongs is told how to exchange it, over real HTTP."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from aims.server.auth import API_KEY_AS_TOKEN
from aims.server.config import ServerConfig
from aims.server.problems import PROBLEM_JSON
from aims.services import keys, lifecycle
from tests.server.conftest import ACTOR, LiveServer, bearer, new_workspace, register_tiny

CONFIG = ServerConfig(poll_interval=0.2, rate_limit=1e6, rate_burst=1e6)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, tiny_files):
    from aims.server.app import create_app
    from aims.workspace import Workspace

    base = new_workspace(tmp_path_factory.mktemp("keytoken") / "ws")
    ws = Workspace(dataclasses.replace(base.settings, project="alpha"))
    register_tiny(ws, tiny_files, "tiny", "model")
    lifecycle.promote(ws, "tiny@1", "production", actor=ACTOR)
    _, api_key = keys.create_key(ws, project="alpha", role="predictor", actor=ACTOR)
    with LiveServer(create_app(ws, config=CONFIG)) as server:
        yield {"url": server.url, "api_key": api_key}
    ws.close()


def test_an_api_key_as_bearer_token_is_told_to_exchange_it(served) -> None:
    with httpx.Client(base_url=served["url"], timeout=30) as c:
        for method, path, kw in (
            ("POST", "/v1/models/tiny/predict", {"json": {"records": [{"x1": 0.1, "x2": 0.2}]}}),
            ("GET", "/v1/models", {}),
        ):
            r = c.request(method, path, headers=bearer(served["api_key"]), **kw)
            assert r.status_code == 401
            assert r.headers["content-type"].startswith(PROBLEM_JSON)
            assert r.json()["detail"] == API_KEY_AS_TOKEN
            assert "POST /v1/auth/token" in r.json()["detail"]
        # Anything else that is not a token keeps the plain answer.
        r = c.get("/v1/models", headers=bearer("not.a.token"))
        assert r.status_code == 401 and r.json()["detail"] == "the token is not valid"
        # The exchange it names works with the same key.
        token = c.post("/v1/auth/token", json={"api_key": served["api_key"]}).json()
        assert c.get("/v1/models", headers=bearer(token["access_token"])).status_code == 200
