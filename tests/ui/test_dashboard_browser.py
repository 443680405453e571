"""The dashboard in a real headless Chromium, against a server on the demo workspace."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.plugins.browser import screenshot

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo-dashboard")]

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    """The demo's workspace, served with the dashboard."""
    from rich.console import Console

    from aims.demo import run
    from aims.demo_traffic import start_server
    from aims.workspace import Workspace

    folder = tmp_path_factory.mktemp("demo") / "ws"
    summary = run(folder, Console(quiet=True))
    ws = Workspace.open(folder)
    server = start_server(ws)
    yield {"url": server.url, "keys": summary["keys"], "summary": summary}
    server.stop()
    ws.close()


def login(page, site, who: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{site['url']}/ui/login")
    page.fill("input[name=api_key]", site["keys"][who])
    page.click("input[type=submit]")
    page.wait_for_url(f"{site['url']}/ui/")


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    path = screenshot(page, name)
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, DOCS_SCREENSHOTS / path.name)


def test_every_page_for_an_approver(page, site) -> None:  # type: ignore[no-untyped-def]
    login(page, site, "approver")
    row = page.locator("#inventory tr[data-model='flight-delay']")
    assert row.count() == 1
    assert row.locator(".health").get_attribute("title") in ("green", "amber", "red")
    shot(page, "inventory")

    page.goto(f"{site['url']}/ui/models/flight-delay")
    assert page.locator(".version").count() >= 3
    assert page.locator("[data-testid=approve]").count() >= 1
    assert "tier high" in page.locator("#risk").inner_text()
    shot(page, "model")

    page.goto(f"{site['url']}/ui/models/flight-delay/monitoring?role=production")
    page.wait_for_selector("#drift-chart .u-over")
    drifted = page.locator("#features tr.drifted")
    assert drifted.count() >= 1
    color = drifted.first.evaluate("el => getComputedStyle(el).color")
    assert color == "rgb(198, 40, 40)"  # the drifted feature is shown red
    assert page.locator("#drift-chart .incident-marker").count() >= 1  # on the time axis
    page.wait_for_selector("#dist-chart .bar-current", state="attached")
    heights = page.eval_on_selector_all(
        "#dist-chart .bar-reference, #dist-chart .bar-current",
        "bars => bars.map(b => b.getBoundingClientRect().height)",
    )
    assert len(heights) >= 2 and max(heights) > 10  # reference and current distributions drawn
    shot(page, "monitoring")

    page.goto(f"{site['url']}/ui/incidents")
    assert "seasonal_drift" in page.locator("#incidents").inner_text()
    shot(page, "incidents")

    page.goto(f"{site['url']}/ui/audit")
    assert "Hash chain verified" in page.locator("#chain-status").inner_text()
    shot(page, "audit")

    page.goto(f"{site['url']}/ui/compliance")
    assert "A.6" in page.locator("#report").inner_text()
    shot(page, "compliance")
    assert page.console_errors == []


def test_a_viewer_sees_no_write_actions(page, site) -> None:  # type: ignore[no-untyped-def]
    login(page, site, "viewer")
    page.goto(f"{site['url']}/ui/models/flight-delay")
    assert page.locator(".version").count() >= 3
    assert page.locator("[data-testid=approve]").count() == 0
    assert page.console_errors == []


def test_pages_need_a_session(page, site) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{site['url']}/ui/models/flight-delay")
    assert page.url.endswith("/ui/login")
    page.fill("input[name=api_key]", "aims.kdeadbeef0000.not-a-key")
    page.click("input[type=submit]")
    assert "not valid" in page.locator("#login-error").inner_text()
