"""The dashboard over real HTTP: logins are checked like token exchanges, projects stay apart."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from aims.server.app import TOKEN_RATE
from aims.server.assembly import build_server
from aims.services import keys, lifecycle, registry
from aims.workspace import Workspace
from tests.server.conftest import LiveServer

ACTOR = "ops@x.org"
OWNERS = {"deployment": "d@x.org", "monitoring": "m@x.org"}


@pytest.fixture
def site(workspace, cancer_files):
    """Model ``alpha-model`` in project alpha, ``beta-model`` in beta, both in production."""
    alpha = Workspace(dataclasses.replace(workspace.settings, project="alpha"))
    beta = Workspace(dataclasses.replace(workspace.settings, project="beta"))
    registry.register_dataset(alpha, cancer_files["data"], "cancer", actor=ACTOR)
    for ws, name in ((alpha, "alpha-model"), (beta, "beta-model")):
        registry.register_model(
            ws, cancer_files["model"], name, actor=ACTOR, datasets=["cancer@1"], owners=OWNERS
        )
        lifecycle.promote(ws, f"{name}@1", "production", actor=ACTOR)
    _, viewer = keys.create_key(workspace, project="alpha", role="viewer", actor=ACTOR)
    _, operator = keys.create_key(
        workspace, project=keys.ALL_PROJECTS, role="operator", actor=ACTOR
    )
    with LiveServer(build_server(workspace)) as server:
        yield {"url": server.url, "viewer": viewer, "operator": operator}


def csrf_of(browser: httpx.Client, path: str = "/ui/login") -> str:
    """The CSRF token of a dashboard form (its cookie is kept by ``browser``)."""
    page = browser.get(path)
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, page.text[:500]
    return match.group(1)


def login(browser: httpx.Client, api_key: str) -> httpx.Response:
    return browser.post("/ui/login", data={"api_key": api_key, "csrf": csrf_of(browser)})


def test_a_viewer_sees_only_its_own_projects_models(site) -> None:
    with httpx.Client(base_url=site["url"], timeout=30) as browser:
        r = login(browser, site["viewer"])
        assert r.status_code == 303
        for path in ("/ui/", "/ui/incidents", "/ui/audit", "/ui/compliance"):
            page = browser.get(path)
            assert page.status_code == 200, path
            assert "beta-model" not in page.text, path
        for standard in ("iso42001", "nist-ai-rmf", "eu-ai-act"):
            page = browser.get("/ui/compliance", params={"standard": standard})
            assert "alpha-model" in page.text and "beta-model" not in page.text, standard
        assert browser.get("/ui/models/beta-model").status_code == 404


def test_dashboard_logins_are_rate_limited_and_counted(site) -> None:
    with httpx.Client(base_url=site["url"], timeout=30) as browser:
        # A token for reading the server-wide series of /metrics (an operator of
        # every project), taken before the address runs out of budget.
        token = browser.post("/v1/auth/token", json={"api_key": site["operator"]}).json()
        csrf = csrf_of(browser)
        # Each wrong key costs an argon2 check; 24 at once overrun the budget of
        # 10 at once and 2 per second. Every caller connects first and all send
        # together, so the flood is as tight as the machine allows; the budget
        # refills while it is answered, by 2 per second of its measured length.
        # On a machine so busy that one flood trickles in slower than the refill,
        # another flood follows (at most four): the budget must run out at last.
        started: list[float] = []

        def flood() -> list[httpx.Response]:
            barrier = threading.Barrier(24, action=lambda: started.append(time.monotonic()))

            def attempt(_: int) -> httpx.Response:
                with httpx.Client(base_url=site["url"], timeout=60) as own:
                    assert own.get("/healthz").status_code == 200
                    barrier.wait(timeout=60)
                    return own.post(
                        "/ui/login",
                        data={"api_key": "aims.k0123456789ab.wrong", "csrf": csrf},
                        cookies={"aims_csrf": csrf},
                    )

            with ThreadPoolExecutor(24) as pool:
                return list(pool.map(attempt, range(24)))

        answers: list[httpx.Response] = []
        for _ in range(4):
            answers += flood()
            if any(a.status_code == 429 for a in answers):
                break
        rate, burst = TOKEN_RATE
        admissible = burst + rate * (time.monotonic() - started[0])
        statuses = [a.status_code for a in answers]
        assert set(statuses) == {401, 429}
        # The operator's token above took one from the budget, which may not be back yet.
        assert burst - 1 <= statuses.count(401) <= admissible, (statuses, admissible)
        for refused in (a for a in answers if a.status_code == 429):
            assert int(refused.headers["Retry-After"]) >= 1
            assert "Too many attempts" in refused.text
        assert all("not valid" in a.text for a in answers if a.status_code == 401)
        text = browser.get(
            "/metrics", headers={"Authorization": f"Bearer {token['access_token']}"}
        ).text
    samples = {
        s.labels["reason"]: s.value
        for family in text_string_to_metric_families(text)
        if family.name == "aims_auth_failures"
        for s in family.samples
        if s.name.endswith("_total")
    }
    assert samples["invalid_key"] == statuses.count(401)
    assert samples["token_rate_limited"] == statuses.count(429)
