"""The dashboard's LLM pages over real HTTP, on the workspace the demo's LLM chapter leaves.

One server for the module: the chapter registers the support assistant, gates
its versions, sends its traces through the OpenTelemetry exporter and opens a
cost incident; the tests read what the pages make of it, as a viewer of the
project, as a viewer of another project, and in a real Chromium.
"""

from __future__ import annotations

import html
import re
import shutil
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from tests.plugins.browser import docs_screenshot as _shot

pytestmark = [pytest.mark.slow]

APP = "support-assistant"
TRACE_LINK = re.compile(r'href="/ui/traces/([0-9a-f]{32})\?app=[^&"]*&amp;at=([^"]+)"')


@pytest.fixture(scope="module")
def site(llm_demo: dict[str, Any], tmp_path_factory: pytest.TempPathFactory):
    """A copy of the LLM chapter's workspace (run once for the test run, see
    ``tests/plugins/llm_demo.py``), served with the dashboard, and keys to read it."""
    from aims.demo.traffic import start_server
    from aims.services import keys
    from aims.workspace import Workspace

    folder = tmp_path_factory.mktemp("llm") / "ws"
    shutil.copytree(llm_demo["folder"], folder)
    summary = llm_demo["summary"]
    ws = Workspace.open(folder)
    _, other = keys.create_key(ws, project="other", role="viewer", actor="t@x.org", name="other")
    server = start_server(ws)
    yield {"url": server.url, "keys": {**summary["keys"], "other": other}, "summary": summary}
    server.stop()
    ws.close()


def _client(site: dict[str, Any], who: str) -> httpx.Client:
    c = httpx.Client(base_url=f"{site['url']}/ui", follow_redirects=True, timeout=30)
    c.get("/login")
    r = c.post("/login", data={"api_key": site["keys"][who], "csrf": c.cookies["aims_csrf"]})
    assert r.status_code == 200 and str(r.url).endswith("/ui/"), r.text
    return c


@pytest.fixture(scope="module")
def viewer(site):
    c = _client(site, "viewer")
    yield c
    c.close()


def test_the_inventory_shows_the_application_with_its_kind_and_filters_on_it(viewer) -> None:
    page = viewer.get("/").text
    row = re.search(rf'<tr data-model="{APP}" data-kind="([^"]+)">(.*?)</tr>', page, re.S)
    assert row and row.group(1) == "llm-application"
    assert f'href="/ui/applications/{APP}"' in row.group(2) and "LLM application" in row.group(2)
    assert f'data-model="{APP}"' in viewer.get("/?kind=llm-application").text
    only_models = viewer.get("/?kind=model").text
    assert f'data-model="{APP}"' not in only_models and "No model matches" in only_models
    wrong = viewer.get("/?kind=agent")
    assert wrong.status_code == 400 and "kind must be one of model, llm-application" in wrong.text


def test_the_application_page_has_versions_gates_charts_and_costs(viewer, site) -> None:
    r = viewer.get(f"/applications/{APP}")
    assert r.status_code == 200
    page = r.text
    v2 = re.search(r'<tr class="version" data-version="2">(.*?)</tr>', page, re.S)
    assert v2 and "3 unmet" in v2.group(1)
    for rule in site["summary"]["refused_rules"]:
        assert rule in html.unescape(v2.group(1))
    v1 = re.search(r'<tr class="version" data-version="1">(.*?)</tr>', page, re.S)
    assert v1 and "production" in v1.group(1) and "all met" in v1.group(1)
    for chart in ("requests", "errors", "latency", "tokens", "cost", "refusals", "drift"):
        assert f'id="chart-{chart}"' in page, chart
    assert "p50" in page and "p95" in page and "p99" in page
    assert "1 is the alarm threshold" in page  # the drift score's unit is named
    # The cost spike's window is marked on the cost chart, and its incident listed with its owner.
    cost = re.search(r'id="chart-cost" data-top="([^"]+)">(.*?)</div>\s*</div>', page, re.S)
    assert cost and float(cost.group(1)) > 0 and 'class="fired"' in cost.group(2)
    incident = site["summary"]["incident"]
    assert f'data-incident="{incident["id"]}"' in page and "ml-oncall@example.org" in page
    users = re.search(r'<table id="cost-by-user">(.*?)</table>', page, re.S)
    agents = re.search(r'<table id="cost-by-agent">(.*?)</table>', page, re.S)
    assert users and users.group(1).count("<tr>") == 5  # five customers, ids hashed
    assert "customer-1" not in users.group(1)
    assert agents and APP in agents.group(1)


def test_the_trace_list_filters_and_pages_with_a_cursor(viewer) -> None:
    first = viewer.get("/traces", params={"application": APP}).text
    ids = [m.group(1) for m in TRACE_LINK.finditer(first)]
    assert len(ids) == 50  # a page; the chapter sent 180 traces
    older = re.search(r'href="(\?[^"]*before=[^"]+)" rel="next"', first)
    assert older
    second = viewer.get("/traces" + older.group(1).replace("&amp;", "&")).text
    more = [m.group(1) for m in TRACE_LINK.finditer(second)]
    assert len(more) == 50 and not set(ids) & set(more)
    starts = re.findall(r'<time datetime="([^"]+)"', first + second)
    assert starts == sorted(starts, reverse=True)  # newest first across both pages

    errors = viewer.get("/traces", params={"status": "error"}).text
    assert len(TRACE_LINK.findall(errors)) == 1  # the one tool call that timed out
    assert len(TRACE_LINK.findall(viewer.get("/traces", params={"version": "2"}).text)) == 0
    tools = viewer.get("/traces", params={"operation": "execute_tool", "since": "2000-01-01T00:00"})
    assert len(TRACE_LINK.findall(tools.text)) == 50
    bad = viewer.get("/traces", params={"since": "yesterday"})
    assert bad.status_code == 400 and "since must be a time" in bad.text
    bad = viewer.get("/traces", params={"before": "nonsense"})
    assert bad.status_code == 400 and "cursor" in bad.text


def test_one_trace_is_a_span_tree_with_timings_tokens_and_cost(viewer) -> None:
    listing = viewer.get("/traces", params={"status": "error"}).text
    trace_id, quoted = TRACE_LINK.search(listing).groups()
    at = unquote(quoted)
    page = viewer.get(f"/traces/{trace_id}", params={"app": APP, "at": at}).text
    rows = re.findall(r'<tr class="span op-(\w+)( error)?" data-span="\w+" data-depth="(\d)"', page)
    assert [(op, depth) for op, _, depth in rows] == [
        ("invoke_agent", "0"),
        ("chat", "1"),
        ("execute_tool", "1"),
        ("chat", "1"),
    ]
    assert [bool(e) for _, e, _ in rows] == [False, False, True, False]
    assert "(timeout)" in page and "$0.0" in page and re.search(r"\d+ / \d+", page)
    lefts = [float(x) for x in re.findall(r'class="span-bar" style="left:([\d.]+)%', page)]
    assert lefts[0] == 0.0 and lefts == sorted(lefts)  # the waterfall steps right
    missing = viewer.get(f"/traces/{'0' * 32}", params={"app": APP, "at": at})
    assert missing.status_code == 404
    assert viewer.get("/traces/not-a-trace").status_code == 400


def test_another_projects_viewer_sees_neither_the_application_nor_its_traces(site, viewer) -> None:
    trace_id = TRACE_LINK.search(viewer.get("/traces").text).group(1)
    other = _client(site, "other")
    try:
        assert other.get(f"/applications/{APP}").status_code == 404
        assert TRACE_LINK.search(other.get("/traces").text) is None
        assert other.get(f"/traces/{trace_id}").status_code == 404
    finally:
        other.close()


def test_the_pages_in_a_browser(page, site) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{site['url']}/ui/login")
    page.fill("input[name=api_key]", site["keys"]["approver"])
    page.click("input[type=submit]")
    page.wait_for_url(f"{site['url']}/ui/")
    page.goto(f"{site['url']}/ui/applications/{APP}")
    assert page.locator(".llm-chart").count() == 7
    assert page.locator("#chart-cost line.fired").count() >= 1
    _shot(page, "llm-application")
    page.goto(f"{site['url']}/ui/traces?application={APP}")
    assert page.locator("#traces tr[data-trace]").count() == 50
    _shot(page, "llm-traces")
    page.goto(f"{site['url']}/ui/traces?status=error")
    page.locator("#traces tr[data-trace] a").first.click()
    page.wait_for_selector("#waterfall")
    names = page.locator("#waterfall tr.span").evaluate_all(
        "rows => rows.map(r => [r.dataset.name, r.dataset.depth])"
    )
    assert names == [
        [f"invoke_agent {APP}", "0"],
        ["chat gpt-4o-mini", "1"],
        ["execute_tool lookup_order", "1"],
        ["chat gpt-4o-mini", "1"],
    ]
    widths = page.locator("#waterfall .span-bar").evaluate_all(
        "bars => bars.map(b => b.getBoundingClientRect().width)"
    )
    assert all(w > 0 for w in widths) and widths[0] == max(widths)  # the root spans them all
    _shot(page, "llm-trace")
    assert page.console_errors == []
