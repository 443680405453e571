"""Single sign-on on the API, against a real OpenID Connect provider process over HTTP.

The provider (``oidc-provider-mock``) signs ID tokens with RS256 and takes any
client id; a token's audience is the client id it was asked for. A second
provider issues tokens that expired two minutes before they were issued.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.oidc_provider import Provider
from tests.server.conftest import (
    ACTOR,
    LiveServer,
    bearer,
    new_workspace,
    register_tiny,
    wait_until,
)

GROUPS = {
    "credit-sci": {"default": "scientist"},
    "risk": {"default": "approver"},
    "split": {"default": "viewer", "fraud": "operator"},
    "admins": {"*": "admin"},
    "everyone": {"*": "viewer"},
    "default-admins": {"default": "admin"},
}
HISTORY = "/v1/models/tiny/history"
APPROVE = "/v1/models/tiny/versions/1/approvals"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with Provider() as p:
        yield p


@pytest.fixture(scope="module")
def stale_provider() -> Iterator[Provider]:
    """A provider whose tokens expire 120 s before they are issued."""
    with Provider(token_max_age=-120) as p:
        yield p


def sso_server(root: Path, files: dict[str, Path], issuer: str, **oidc: Any) -> LiveServer:
    """A team-mode server on a workspace with model ``tiny`` (project ``default``)."""
    from aims.server.app import create_app
    from aims.services import lifecycle
    from aims.workspace import Workspace

    ws = new_workspace(root)
    register_tiny(ws, files, "tiny", "model")
    lifecycle.promote(ws, "tiny@1", "production", actor=ACTOR)
    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["identity"] = "team"
    config["server"] = {
        "poll_interval": 0.1,
        "oidc": {"issuer": issuer, "audience": "aims", "groups": GROUPS, **oidc},
    }
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    ws = Workspace.open(root)
    app = create_app(ws)
    server = LiveServer(app)
    server.ws, server.app = ws, app  # type: ignore[attr-defined]
    server.http = httpx.Client(base_url=server.url, timeout=30)  # type: ignore[attr-defined]
    return server


@pytest.fixture
def server(tmp_path: Path, tiny_files: dict[str, Path], provider: Provider) -> Iterator[Any]:
    with sso_server(tmp_path / "ws", tiny_files, provider.url) as live:
        yield live
    live.http.close()


def call(live: Any, method: str, path: str, token: str, **kw: Any) -> Any:
    # One client per server (sso_server): creating one per call costs more than the call.
    return live.http.request(method, path, headers=bearer(token), **kw)


def events(ws: Any, action: str) -> list[dict[str, Any]]:
    from aims.services import audit

    return [e for e in audit.query(ws.db, audit.EventFilter(limit=5000)) if e["action"] == action]


def test_a_providers_token_works_on_a_governance_route(server: Any, provider: Provider) -> None:
    from aims.services.identity import list_principals

    provider.set_user("ana", email="ana@x.org", groups=["credit-sci"])
    answer = call(server, "GET", HISTORY, provider.id_token("ana"))
    assert answer.status_code == 200, answer.text
    (ana,) = [p for p in list_principals(server.ws) if p["name"] == "ana@x.org"]
    assert ana["kind"] == "human" and ana["grants"] == {"default": "scientist"}
    (added,) = [
        e for e in events(server.ws, "principal.add") if e["subject"] == "principal:ana@x.org"
    ]
    assert added["actor"] == "aims-server"
    assert "first sign-in through " + provider.url in added["payload"]["note"]


def test_the_groups_give_the_role_per_project(server: Any, provider: Provider) -> None:
    # ana registered the model; the approver is raj, whose group gives approver.
    provider.set_user("sci", email="sci@x.org", groups=["credit-sci"])
    refused = call(server, "POST", APPROVE, provider.id_token("sci"), json={"note": "ok"})
    assert refused.status_code == 403, refused.text
    assert "needs the approver role" in refused.json()["detail"]
    provider.set_user("raj", email="raj@x.org", groups=["risk"])
    approved = call(server, "POST", APPROVE, provider.id_token("raj"), json={"note": "ok"})
    assert approved.status_code == 200, approved.text
    (approval,) = events(server.ws, "model.approve")
    assert approval["actor"] == "raj@x.org"


def test_roles_on_several_projects_are_kept_apart(server: Any, provider: Provider) -> None:
    provider.set_user("mo", email="mo@x.org", groups=["split"])
    token = provider.id_token("mo")
    # operator on fraud, viewer on default: reading default works, approving there does not
    assert call(server, "GET", HISTORY, token).status_code == 200
    refused = call(server, "POST", APPROVE, token, json={"note": "ok"})
    assert refused.status_code == 403
    assert "the token has viewer" in refused.json()["detail"]
    # Routes that only name a model check the role on its project too (not the highest held).
    predict = call(
        server, "POST", "/v1/models/tiny/predict", token, json={"records": [{"x1": 0.1, "x2": 0.2}]}
    )
    assert predict.status_code == 403, predict.text
    assert "predictor role or higher on project default" in predict.json()["detail"]
    provider.set_user("pat", email="pat@x.org", groups=["credit-sci"])
    served = call(
        server,
        "POST",
        "/v1/models/tiny/predict",
        provider.id_token("pat"),
        json={"records": [{"x1": 0.1, "x2": 0.2}]},
    )
    assert served.status_code == 200, served.text


def test_a_high_role_on_one_project_is_not_a_role_on_every_project(
    server: Any, provider: Provider
) -> None:
    provider.set_user("vic", email="vic@x.org", groups=["everyone", "default-admins"])
    token = provider.id_token("vic")
    assert call(server, "GET", HISTORY, token).status_code == 200
    # admin of default, viewer everywhere: acts that span every project are refused
    for method, path in (("GET", "/v1/principals"), ("POST", "/v1/audit/verify")):
        answer = call(server, method, path, token, json={} if method == "POST" else None)
        assert answer.status_code == 403, (path, answer.text)
        assert "on every project" in answer.json()["detail"]
    provider.set_user("ada", email="ada@x.org", groups=["admins"])
    assert call(server, "GET", "/v1/principals", provider.id_token("ada")).status_code == 200


def test_a_changed_group_changes_the_grants_at_the_next_sign_in(
    server: Any, provider: Provider
) -> None:
    from aims.services.identity import list_principals

    provider.set_user("lea", email="lea@x.org", groups=["credit-sci"])
    first = provider.id_token("lea")
    assert call(server, "POST", APPROVE, first, json={}).status_code == 403
    provider.set_user("lea", email="lea@x.org", groups=["risk", "unmapped"])
    answer = call(server, "POST", APPROVE, provider.id_token("lea"), json={"note": "fine"})
    assert answer.status_code == 200, answer.text
    (lea,) = [p for p in list_principals(server.ws) if p["name"] == "lea@x.org"]
    assert lea["grants"] == {"default": "approver"}
    synced = [e for e in events(server.ws, "principal.grants_synced") if "lea" in e["subject"]]
    assert [e["payload"]["changes"] for e in synced] == [
        [{"project": "default", "role": "scientist", "previous": None}],
        [{"project": "default", "role": "approver", "previous": "scientist"}],
    ]
    # The same groups again change nothing, and write nothing.
    assert call(server, "GET", HISTORY, provider.id_token("lea")).status_code == 200
    again = [e for e in events(server.ws, "principal.grants_synced") if "lea" in e["subject"]]
    assert len(again) == 2


def test_a_person_without_a_mapped_group_is_refused(server: Any, provider: Provider) -> None:
    provider.set_user("zed", email="zed@x.org", groups=["unmapped"])
    answer = call(server, "GET", HISTORY, provider.id_token("zed"))
    assert answer.status_code == 403
    assert "server.oidc.groups" in answer.json()["detail"]


def test_a_disabled_principals_tokens_are_refused(server: Any, provider: Provider) -> None:
    from aims.services.identity import disable_principal

    provider.set_user("bo", email="bo@x.org", groups=["credit-sci"])
    token = provider.id_token("bo")
    assert call(server, "GET", HISTORY, token).status_code == 200
    disable_principal(server.ws, "bo@x.org", actor="admin@x.org", reason="left")
    answer = wait_until(
        lambda: (a := call(server, "GET", HISTORY, token)).status_code == 401 and a, timeout=5
    )
    assert "disabled" in answer.json()["detail"]
    # A new token from the provider does not re-enable it either.
    again = call(server, "GET", HISTORY, provider.id_token("bo"))
    assert again.status_code == 401 and "disabled" in again.json()["detail"]


# Refusals: each a 401 whose detail names the reason.


@pytest.fixture(scope="module")
def stale_server(
    tmp_path_factory: pytest.TempPathFactory, tiny_files: dict[str, Path], stale_provider: Provider
) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("stale") / "ws"
    settings = {"leeway_seconds": 5, "refetch_seconds": 0}
    with sso_server(root, tiny_files, stale_provider.url, **settings) as live:
        yield live
    live.http.close()


def refusal(live: Any, token: str) -> str:
    answer = call(live, "GET", HISTORY, token)
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return str(answer.json()["detail"])


def test_an_expired_token_is_refused(stale_server: Any, stale_provider: Provider) -> None:
    stale_provider.set_user("old", email="old@x.org", groups=["admins"])
    assert "has expired" in refusal(stale_server, stale_provider.id_token("old"))


def test_the_leeway_admits_a_token_expired_within_it(
    tmp_path: Path, tiny_files: dict[str, Path], stale_provider: Provider
) -> None:
    stale_provider.set_user("late", email="late@x.org", groups=["credit-sci"])
    token = stale_provider.id_token("late")  # expired 120 s before it was issued
    with sso_server(tmp_path / "ws", tiny_files, stale_provider.url, leeway_seconds=300) as live:
        answer = call(live, "GET", HISTORY, token)
        live.http.close()
    assert answer.status_code == 200, answer.text


def test_a_token_for_another_audience_is_refused(server: Any, provider: Provider) -> None:
    provider.set_user("aud", email="aud@x.org", groups=["admins"])
    token = provider.id_token("aud", client_id="another-app")
    assert "audience is not 'aims'" in refusal(server, token)


def test_a_token_of_another_issuer_is_refused(
    server: Any, stale_server: Any, provider: Provider, stale_provider: Provider
) -> None:
    provider.set_user("iss", email="iss@x.org", groups=["admins"])
    detail = refusal(stale_server, provider.id_token("iss"))
    assert f"issued by '{provider.url}'" in detail and stale_provider.url in detail


def forged(claims: dict[str, Any], header: dict[str, Any], sign: Any) -> str:
    def part(data: dict[str, Any]) -> str:
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    head = f"{part(header)}.{part(claims)}"
    return f"{head}.{base64.urlsafe_b64encode(sign(head.encode())).rstrip(b'=').decode()}"


def good_claims(issuer: str) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": issuer,
        "sub": "mallory",
        "aud": "aims",
        "email": "mallory@x.org",
        "groups": ["admins"],
        "iat": now,
        "exp": now + 600,
    }


def test_an_unknown_key_id_is_refused_and_cannot_hammer_the_provider(
    server: Any, provider: Provider
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = good_claims(provider.url)
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "not-a-key"})
    assert "key id 'not-a-key'" in refusal(server, token)
    before = provider.jwks_fetches
    for n in range(40):
        bogus = jwt.encode(claims, key, algorithm="RS256", headers={"kid": f"bogus-{n}"})
        assert "which the provider does not publish" in refusal(server, bogus)
    # Within refetch_seconds (10 s) no made-up key id causes another fetch.
    assert server.app.state.aims.guard.oidc.verifier.keys.fetches == 1
    # The provider's log is read on a thread: the first fetch's line may come late.
    assert provider.jwks_fetches - before <= 1


def test_an_unknown_key_id_makes_the_keys_be_fetched_again(
    stale_server: Any, stale_provider: Provider
) -> None:
    # This server may refetch at once (refetch_seconds: 0): the provider may have
    # rotated its keys, so each unknown key id asks it again.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = good_claims(stale_provider.url)
    forge = lambda kid: jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})  # noqa: E731
    refusal(stale_server, forge("warm-up"))
    keys = stale_server.app.state.aims.guard.oidc.verifier.keys
    before, seen = keys.fetches, stale_provider.jwks_fetches
    for n in range(3):
        assert "which the provider does not publish" in refusal(stale_server, forge(f"new-{n}"))
    assert keys.fetches - before == 3
    # The provider's count comes from its log, read on a thread: on a loaded machine the
    # line can arrive seconds after the answer, so the wait is generous (it ends at once
    # when the count is right). The warm-up's own line may also land after ``seen`` was
    # read, so the provider is asked for at least the three fetches; that there were
    # exactly three is the server's count above.
    wait_until(lambda: stale_provider.jwks_fetches - seen >= 3, timeout=60)


def test_alg_none_and_hmac_with_the_public_key_are_refused(server: Any, provider: Provider) -> None:
    claims = good_claims(provider.url)
    unsigned = forged(claims, {"alg": "none", "typ": "JWT"}, lambda _: b"")
    assert "signed with 'none'" in refusal(server, unsigned)
    public = json.dumps(provider_jwks(provider)).encode()
    hs = forged(
        claims,
        {"alg": "HS256", "typ": "JWT"},
        lambda data: hmac.new(public, data, hashlib.sha256).digest(),
    )
    assert "signed with 'HS256'" in refusal(server, hs)


def test_a_tampered_token_is_refused(server: Any, provider: Provider) -> None:
    provider.set_user("eve", email="eve@x.org", groups=["credit-sci"])
    head, body, sig = provider.id_token("eve").split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["groups"] = ["admins"]
    raw = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert "signature does not verify" in refusal(server, f"{head}.{raw}.{sig}")


def provider_jwks(provider: Provider) -> dict[str, Any]:
    return dict(provider.http.get(provider.url + "/jwks").json())


def test_the_refusals_are_counted_and_audited_with_their_reason(
    server: Any, provider: Provider
) -> None:
    token = provider.id_token("aud2", client_id="another-app")
    for _ in range(3):
        refusal(server, token)
    provider.set_user("adm", email="adm@x.org", groups=["admins"])
    metrics_token = provider.id_token("adm")
    text = call(server, "GET", "/metrics", metrics_token).text
    assert 'aims_auth_failures_total{reason="wrong_audience"} 3.0' in text


def test_settings_are_checked(tmp_path: Path) -> None:
    from aims.errors import ConfigError
    from aims.server.config import ServerConfig

    base = {"issuer": "https://id.example.org", "audience": "aims"}
    settings = ServerConfig.from_mapping({"oidc": base}).oidc
    assert settings is not None and settings.client_id == "aims"
    assert settings.algorithms == ("RS256", "ES256") and settings.label == "id.example.org"
    for bad, words in [
        ({**base, "algorithms": ["none"]}, "'none' is not accepted"),
        ({**base, "algorithms": ["HS256"]}, "'HS256' is not accepted"),
        ({"audience": "aims"}, "issuer is required"),
        ({**base, "issuer": "http://id.example.org"}, "must be an https URL"),
        ({**base, "groups": {"g": {"default": "boss"}}}, "role 'boss' is unknown"),
        ({**base, "groups": {"g": {"Bad Project": "viewer"}}}, "is not a project name"),
        ({**base, "leeway_seconds": -1}, "must be a number of seconds"),
        ({**base, "audiences": "x"}, "unknown key(s) audiences"),
    ]:
        with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(")", r"\)")):
            ServerConfig.from_mapping({"oidc": bad})


def test_the_provider_is_needed_no_api_key(server: Any) -> None:
    from aims.services import keys

    # The server started although no API key exists: people sign in through the provider.
    assert keys.active_key_count(server.ws) == 0
