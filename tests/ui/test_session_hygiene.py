"""Dashboard sessions over real HTTP: CSRF tokens, revoking logout, Secure cookies, bad URLs."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from aims.server.assembly import build_server
from aims.services import keys, lifecycle, registry
from aims.workspace import Workspace
from tests.server.conftest import LiveServer
from tests.ui.test_access import csrf_of, login

ACTOR = "ops@x.org"
OWNERS = {"deployment": "d@x.org", "monitoring": "m@x.org"}


@pytest.fixture(scope="module")
def site(tmp_path_factory, cancer_files):
    """Model ``m`` in project alpha, an approver key of alpha, served with trusted proxy 127.0.0.1."""
    from tests.server.conftest import new_workspace

    base = new_workspace(tmp_path_factory.mktemp("hygiene") / "ws")
    alpha = Workspace(dataclasses.replace(base.settings, project="alpha"))
    registry.register_dataset(alpha, cancer_files["data"], "cancer", actor=ACTOR)
    registry.register_model(
        alpha, cancer_files["model"], "m", actor=ACTOR, datasets=["cancer@1"], owners=OWNERS
    )
    lifecycle.promote(alpha, "m@1", "staging", actor=ACTOR)
    _, approver = keys.create_key(base, project="alpha", role="approver", actor=ACTOR)
    (base.root / "aims.yaml").write_text(
        (base.root / "aims.yaml").read_text() + "\nserver:\n  trusted_proxies: [127.0.0.1]\n"
    )
    ws = Workspace.open(base.root)
    with LiveServer(build_server(ws)) as server:
        yield {"url": server.url, "approver": approver}
    ws.close()


def test_forms_without_the_csrf_token_are_refused(site) -> None:
    with httpx.Client(base_url=site["url"], timeout=30) as browser:
        # A login form posted without (or with another) token changes nothing.
        for token in ("", "x" * 43):
            r = browser.post("/ui/login", data={"api_key": site["approver"], "csrf": token})
            assert r.status_code == 403 and "reload the page" in r.text
            assert "aims_session" not in browser.cookies
        assert login(browser, site["approver"]).status_code == 303
        page = browser.get("/ui/models/m")
        assert 'name="csrf"' in page.text and 'data-testid="approve"' in page.text
        forged = browser.post("/ui/models/m/versions/1/approve", data={"note": "forged"})
        assert forged.status_code == 403
        assert "forged" not in browser.get("/ui/models/m").text
        ok = browser.post(
            "/ui/models/m/versions/1/approve",
            data={"note": "checked", "csrf": csrf_of(browser, "/ui/models/m")},
        )
        assert ok.status_code == 303


def test_logout_revokes_the_session_token_on_the_api_too(site) -> None:
    with httpx.Client(base_url=site["url"], timeout=30) as browser:
        assert login(browser, site["approver"]).status_code == 303
        token = browser.cookies["aims_session"]
        api = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{site['url']}/v1/models", headers=api).status_code == 200
        assert browser.get("/ui/logout").status_code == 405  # a link cannot log anyone out
        r = browser.post("/ui/logout", data={"csrf": csrf_of(browser, "/ui/")})
        assert r.status_code == 303 and r.headers["location"].endswith("/ui/login")
        refused = httpx.get(f"{site['url']}/v1/models", headers=api)
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
        # The old cookie no longer opens the dashboard either.
        again = httpx.get(f"{site['url']}/ui/", cookies={"aims_session": token})
        assert again.status_code == 303


def test_cookies_are_secure_over_https_per_the_trusted_proxy(site) -> None:
    for proto, secure in (("https", True), ("http", False)):
        with httpx.Client(base_url=site["url"], timeout=30) as browser:
            headers = {"X-Forwarded-Proto": proto}
            page = browser.get("/ui/login", headers=headers)
            assert ("secure" in page.headers["set-cookie"].lower()) is secure, proto
            csrf = page.headers["set-cookie"].split("aims_csrf=", 1)[1].split(";", 1)[0]
            # Sent by hand: a client over plain HTTP does not return a Secure cookie itself.
            r = httpx.post(
                f"{site['url']}/ui/login",
                data={"api_key": site["approver"], "csrf": csrf},
                headers={**headers, "Cookie": f"aims_csrf={csrf}"},
            )
            assert r.status_code == 303
            session = next(c for c in r.headers.get_list("set-cookie") if "aims_session" in c)
            assert ("secure" in session.lower()) is secure, session
            assert "httponly" in session.lower() and "samesite=strict" in session.lower()


def test_out_of_range_versions_in_dashboard_urls_answer_4xx(site) -> None:
    with httpx.Client(base_url=site["url"], timeout=30) as browser:
        assert login(browser, site["approver"]).status_code == 303
        for version in ("99999999999999999999999", "0", "-1", "2147483648", "abc"):
            r = browser.get(f"/ui/models/m/card/{version}")
            assert 400 <= r.status_code < 500, (version, r.status_code)
        csrf = csrf_of(browser, "/ui/models/m")
        r = browser.post(
            "/ui/models/m/versions/99999999999999999999999/approve", data={"csrf": csrf}
        )
        assert r.status_code == 404
        assert browser.get("/ui/models/m/card/1").status_code == 200
