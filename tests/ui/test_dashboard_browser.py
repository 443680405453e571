"""The dashboard in a real headless Chromium, against a server on the demo workspace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.plugins.browser import docs_screenshot as shot

pytestmark = [pytest.mark.slow]

UTC_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$")
# What a distribution chart holds and paints: its series, the sum of each
# series' shares, its axis labels, its caption, and how many canvas pixels
# have the window's blue stroke and the reference's grey fill.
CHART_FACTS = """el => {
  const canvas = el.querySelector("canvas");
  const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let blue = 0, grey = 0;
  for (let i = 0; i < px.length; i += 4) {
    const [r, g, b, a] = [px[i], px[i + 1], px[i + 2], px[i + 3]];
    if (a > 200 && b - r > 150) blue++;
    if (a > 90 && a < 200 && Math.abs(r - 152) < 16 && Math.abs(b - 179) < 16) grey++;
  }
  return {
    series: el.chart.series.slice(1).map((s) => s.label),
    sums: el.chart.data.slice(1).map((d) => d.reduce((t, v) => t + (v || 0), 0)),
    x: (el.dataset.xLabels || "").split("|"),
    y: (el.dataset.yLabels || "").split("|"),
    caption: el.querySelector(".caption").textContent,
    blue, grey,
  };
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    """The demo's workspace, served with the dashboard."""
    from rich.console import Console

    from aims.demo import run
    from aims.demo.traffic import start_server
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
    history = page.locator("#history td:first-child").all_inner_texts()
    assert history and all(UTC_TIME.match(t) for t in history), history
    shot(page, "model")

    page.goto(f"{site['url']}/ui/models/flight-delay/monitoring?role=production")
    page.wait_for_function("document.querySelector('#heatmap').dataset.painted")
    drifted = page.locator("#features tr.drifted")
    assert drifted.count() >= 1
    color = drifted.first.evaluate("el => getComputedStyle(el).color")
    assert color == "rgb(198, 40, 40)"  # the drifted feature is shown red
    # The volume chart draws after its own fetch: wait for it rather than count too early.
    page.wait_for_selector("#volume-chart .incident-marker")  # an incident on the time axis
    page.wait_for_selector("#dist-chart canvas")
    page.click("a.pick[data-feature='dep_delay']")  # numeric and long-tailed
    page.wait_for_function("document.querySelector('#dist-chart').dataset.column === 'dep_delay'")
    dist = page.locator("#dist-chart").evaluate(CHART_FACTS)
    assert dist["series"] == ["reference (training data)", "latest window"]
    assert all(0.9 < total <= 1.0 + 1e-9 for total in dist["sums"])  # every row is in a bar
    assert dist["blue"] > 50 and dist["grey"] > 50
    ticks = [float(label) for label in dist["x"]]  # bin edges, as numbers
    assert len(ticks) >= 3 and ticks == sorted(ticks)
    assert len(dist["y"]) >= 2 and all(label.endswith("%") for label in dist["y"])
    assert "folded into the outer bars" in dist["caption"]

    tests = page.locator("#output-tests tr[data-output]")
    assert tests.count() >= 3
    for row in tests.all():
        assert row.locator("td").last.inner_text() in ("drifted", "ok", "not tested")
    flagged = page.locator("#output-tests tr.drifted")
    if flagged.count():
        assert flagged.first.evaluate("el => getComputedStyle(el).color") == "rgb(198, 40, 40)"
    for column in ("prediction", "score", "confidence"):
        facts = page.locator(f"#output-{column}").evaluate(CHART_FACTS)
        assert facts["series"] == ["reference (training data)", "latest window"], column
        assert all(total > 0.9 for total in facts["sums"]), column
        assert facts["blue"] > 20 and facts["grey"] > 20, column
        assert facts["x"] != [""], column
    assert page.locator("#output-entropy canvas").count() == 1
    assert page.locator("pre").count() == 0  # no raw JSON dump

    opened = page.locator("#incident-list td.opened").all_inner_texts()
    assert opened and all(UTC_TIME.match(t) for t in opened), opened
    shot(page, "monitoring")

    page.goto(f"{site['url']}/ui/incidents")
    assert "seasonal_drift" in page.locator("#incidents").inner_text()
    times = page.locator("#incidents tr[data-incident] time").all_inner_texts()
    assert times and all(UTC_TIME.match(t) for t in times), times
    shot(page, "incidents")

    page.goto(f"{site['url']}/ui/audit")
    assert "Hash chain verified" in page.locator("#chain-status").inner_text()
    shot(page, "audit")

    page.goto(f"{site['url']}/ui/compliance")
    page.wait_for_selector("#evidence-summary")
    page.locator("details.group").first.evaluate("d => { d.open = true; }")
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


def test_two_people_and_an_agent_act_through_the_api(site) -> None:  # type: ignore[no-untyped-def]
    """The demo's team act: after the move to team mode, each act over HTTP is in the
    audit log under the principal of the key it came with, and the agent's approval
    is refused without being recorded as one."""
    from aims.services import audit, identity
    from aims.workspace import Workspace

    team = site["summary"]["team"]
    scientist, approver, agent = "ana@example.org", "bo@example.org", "retrain-agent"
    assert team["principals"] == {scientist: "human", approver: "human", agent: "agent"}
    ws = Workspace.open(Path(site["summary"]["workspace"]))
    try:
        kinds = {p["name"]: (p["kind"], p["owner"]) for p in identity.list_principals(ws)}
        assert kinds[agent] == ("agent", scientist)
        assert kinds[scientist] == kinds[approver] == ("human", None)
        events = audit.query(ws.db)
    finally:
        ws.close()
    switched = max(e["seq"] for e in events if e["action"] == "identity.team_enable")
    ref = f"model:flight-delay@{team['version']}"
    after = [(e["actor"], e["action"], e["subject"]) for e in events if e["seq"] > switched]
    assert (scientist, "model.register", ref) in after
    assert (agent, "model.evaluate", ref) in after
    assert (approver, "model.approve", ref) in after
    assert any(a == scientist and act == "dataset.register" for a, act, _ in after)
    # Over the API: the dataset is named after the upload that carried it.
    registered = next(
        e for e in events if e["seq"] > switched and e["action"] == "dataset.register"
    )
    assert "upload:flights_jun_aug.parquet" in str(registered["payload"]), registered
    # The agent's approval: a 403 the demo showed, never an approval in the log, and
    # the refused call written by the server under the agent's key.
    assert team["refused"]["status"] == 403
    assert "approver" in team["refused"]["detail"]
    assert (agent, "model.approve", ref) not in after
    approvals = [e for e in events if e["action"] == "model.approve" and e["subject"] == ref]
    assert [e["actor"] for e in approvals] == [approver]
    denied = [
        e
        for e in events
        if e["action"] == "server.access.denied" and e["subject"] == f"apikey:{team['keys'][agent]}"
    ]
    assert denied and any("approvals" in path for path in denied[0]["payload"]["paths"]), denied
