"""The dashboard's sign-in through a real OpenID Connect provider process, over HTTP.

The browser is an httpx client keeping cookies and following each step by
hand: the dashboard's redirect to the provider, the provider's form (the mock
signs in whoever is named), the provider's redirect back, and the page that
moves on to the dashboard.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from aims.server.assembly import build_server
from aims.services import audit, identity, registry
from aims.workspace import Workspace
from tests.oidc_provider import Provider
from tests.server.conftest import LiveServer

ACTOR = "ops@x.org"
OWNERS = {"deployment": "d@x.org", "monitoring": "m@x.org"}
GROUPS = {"alpha-risk": {"alpha": "approver"}, "beta-viewers": {"beta": "viewer"}}


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with Provider() as p:
        yield p


@pytest.fixture
def site(
    workspace: Workspace, cancer_files: Any, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict]:
    """``alpha-model`` in project alpha and ``beta-model`` in beta, behind single sign-on.

    The dashboard is a confidential client (the provider takes any secret, but wants one).
    """
    yield from serve(workspace, cancer_files, provider.url, monkeypatch)


def serve(
    workspace: Workspace, cancer_files: Any, issuer: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict]:
    monkeypatch.setenv("AIMS_OIDC_CLIENT_SECRET", "dashboard-secret")
    root = workspace.root
    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["server"] = {
        "poll_interval": 0.1,
        "oidc": {
            "issuer": issuer,
            "audience": "aims-api",
            "client_id": "aims-dashboard",
            "name": "Example ID",
            "groups": GROUPS,
        },
    }
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    ws = Workspace.open(root)
    alpha = Workspace(dataclasses.replace(ws.settings, project="alpha"))
    beta = Workspace(dataclasses.replace(ws.settings, project="beta"))
    registry.register_dataset(alpha, cancer_files["data"], "cancer", actor=ACTOR)
    for one, name in ((alpha, "alpha-model"), (beta, "beta-model")):
        registry.register_model(
            one, cancer_files["model"], name, actor=ACTOR, datasets=["cancer@1"], owners=OWNERS
        )
    with LiveServer(build_server(ws)) as server:
        yield {"url": server.url, "ws": ws}
    ws.close()


def start(browser: httpx.Client) -> str:
    """Press "Sign in with ..."; the provider's authorization URL the dashboard sends us to."""
    page = browser.get("/ui/login")
    assert page.status_code == 200
    assert re.search(r'id="sso-login" href="/ui/login/sso">Sign in with Example ID<', page.text)
    answer = browser.get("/ui/login/sso")
    assert answer.status_code == 303
    return answer.headers["location"]


def sign_in(browser: httpx.Client, provider: Provider, sub: str) -> httpx.Response:
    callback = provider.authorize(start(browser), sub)
    return browser.get(callback)


def test_a_person_signs_in_through_the_provider_and_acts_under_their_name(
    site: dict, provider: Provider
) -> None:
    provider.set_user("ines", email="ines@x.org", groups=["alpha-risk"])
    with httpx.Client(base_url=site["url"], timeout=30) as browser:
        location = start(browser)
        query = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)
        assert location.startswith(provider.url + "/oauth2/authorize?")
        assert query["client_id"] == ["aims-dashboard"]
        assert query["code_challenge_method"] == ["S256"]
        assert len(query["code_challenge"][0]) == 43 and query["state"] and query["nonce"]
        assert query["redirect_uri"] == [site["url"] + "/ui/login/sso/callback"]
        callback = provider.authorize(location, "ines")
        landed = browser.get(callback)
        assert landed.status_code == 200, landed.text
        assert 'http-equiv="refresh" content="0; url=/ui/"' in landed.text
        home = browser.get("/ui/")
        assert home.status_code == 200
        assert "alpha-model" in home.text and "beta-model" not in home.text
        assert "project alpha · role approver" in home.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', home.text).group(1)  # type: ignore[union-attr]
        approved = browser.post(
            "/ui/models/alpha-model/versions/1/approve", data={"note": "ok", "csrf": csrf}
        )
        assert approved.status_code == 303, approved.text
        # Logging out ends the session as for a key's session.
        assert browser.post("/ui/logout", data={"csrf": csrf}).status_code == 303
        assert browser.get("/ui/").status_code == 303
    approvals = [
        e
        for e in audit.query(site["ws"].db, audit.EventFilter(limit=500))
        if e["action"] == "model.approve"
    ]
    assert [e["actor"] for e in approvals] == ["ines@x.org"]


def test_an_answer_that_is_replayed_forged_or_from_another_browser_is_refused(
    site: dict, provider: Provider
) -> None:
    provider.set_user("jo", email="jo@x.org", groups=["alpha-risk"])
    with httpx.Client(base_url=site["url"], timeout=30) as browser:
        callback = provider.authorize(start(browser), "jo")
        # Another browser (no flow cookie) cannot use this browser's answer.
        with httpx.Client(base_url=site["url"], timeout=30) as other:
            stolen = other.get(callback)
            assert stolen.status_code == 401
            assert "not started in this browser" in stolen.text
        assert browser.get(callback).status_code == 200
        # The same answer again finds no flow: it was used once.
        replayed = browser.get(callback)
        assert replayed.status_code == 401 and "start it again" in replayed.text
        # A state that is not the flow's is refused.
        forged = provider.authorize(start(browser), "jo")
        forged = re.sub(r"state=[^&]+", "state=forged", forged)
        answer = browser.get(forged)
        assert answer.status_code == 401 and "does not match this sign-in" in answer.text


def test_the_provider_refusing_or_a_person_without_grants_gets_no_session(
    site: dict, provider: Provider
) -> None:
    provider.set_user("nobody", email="nobody@x.org", groups=["unmapped"])
    with httpx.Client(base_url=site["url"], timeout=30) as browser:
        answer = sign_in(browser, provider, "nobody")
        assert answer.status_code == 403
        assert "server.oidc.groups" in answer.text
        assert browser.get("/ui/").status_code == 303  # back to the login page
        denied = httpx.post(start(browser), data={"action": "deny"}, timeout=30)
        answer = browser.get(denied.headers["location"])
        assert answer.status_code == 401 and "access_denied" in answer.text


def test_a_disabled_persons_session_ends(site: dict, provider: Provider) -> None:
    provider.set_user("kim", email="kim@x.org", groups=["beta-viewers"])
    with httpx.Client(base_url=site["url"], timeout=30) as browser:
        assert sign_in(browser, provider, "kim").status_code == 200
        home = browser.get("/ui/")
        assert home.status_code == 200 and "beta-model" in home.text
        identity.disable_principal(site["ws"], "kim@x.org", actor=ACTOR, reason="left")

        def ended() -> bool:
            return browser.get("/ui/").status_code == 303

        from tests.server.conftest import wait_until

        wait_until(ended, timeout=5)
        again = sign_in(browser, provider, "kim")
        assert again.status_code == 401 and "disabled" in again.text


@pytest.fixture
def cross_site(
    workspace: Workspace, cancer_files: Any, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict]:
    """As ``site``, with the provider named ``localhost``: another site than the
    dashboard's ``127.0.0.1`` for the browser, as a real provider is."""
    issuer = provider.url.replace("127.0.0.1", "localhost")
    yield from serve(workspace, cancer_files, issuer, monkeypatch)


@pytest.mark.slow
def test_the_round_trip_in_a_real_browser(page: Any, cross_site: dict, provider: Provider) -> None:
    provider.set_user("uma", email="uma@x.org", groups=["alpha-risk"])
    page.goto(f"{cross_site['url']}/ui/login")
    page.click("#sso-login")
    page.wait_for_url(re.compile(r"^http://localhost:\d+/oauth2/authorize"))
    page.fill("input[name=sub]", "uma")
    page.console_errors.clear()  # the provider's own page loads styles from a CDN
    page.click("button:has-text('Authorize')")
    # Back on the dashboard: the Strict session cookie set by the callback (reached
    # from the provider's site) goes with the page's own move to the inventory.
    page.wait_for_url(f"{cross_site['url']}/ui/")
    assert page.locator("header .who").inner_text().startswith("project alpha · role approver")
    assert page.locator("text=alpha-model").count() >= 1
    assert page.locator("text=beta-model").count() == 0
    assert page.console_errors == []
