"""The dashboard in headless Chromium on a workspace of a real team's shape.

60 models over five projects, one of them with 300 features and 30 monitor
windows (a third of the features drift at the end), and 3,000 audit events
in a valid chain: enough to search, filter, sort and page, and to draw a
heatmap of 300 features. The benchmark (``benchmarks/dashboard.py``) uses the
same builder at full size.
"""

from __future__ import annotations

import re

import httpx
import pytest
from benchmarks.dashboard_workspace import WIDE, build

pytestmark = [pytest.mark.slow]

FEATURES = 300
WINDOWS = 30
EVENTS = 3000


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    """The workspace, served with the dashboard, and a viewer key of every project."""
    from aims.demo.traffic import start_server
    from aims.services import keys
    from aims.workspace import Workspace

    root = tmp_path_factory.mktemp("at-size") / "ws"
    built = build(root, models=60, features=FEATURES, windows=WINDOWS, events=EVENTS)
    ws = Workspace.open(root)
    _, viewer = keys.create_key(ws, project="*", role="viewer", actor="ops@example.org")
    _, risk_viewer = keys.create_key(ws, project="risk", role="viewer", actor="ops@example.org")
    server = start_server(ws)
    yield {"url": server.url, "key": viewer, "risk_key": risk_viewer, "built": built}
    server.stop()
    ws.close()


def login(page, site, key: str | None = None) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{site['url']}/ui/login")
    page.fill("input[name=api_key]", key or site["key"])
    page.click("input[type=submit]")
    page.wait_for_load_state()
    page.wait_for_url(f"{site['url']}/ui/")


def shown_models(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator("#inventory tr[data-model]").evaluate_all(
        "rows => rows.map(r => r.dataset.model)"
    )


def test_search_filters_sorting_and_paging_of_the_inventory(page, site) -> None:  # type: ignore[no-untyped-def]
    login(page, site)
    assert "1–50 of 60 models" in page.locator("#shown").inner_text()
    assert page.locator("#inventory tr[data-model]").count() == 50
    summary = page.locator("#summary").inner_text()
    assert "Health" in summary and "Open incidents by severity" in summary

    # search by name, by owner and by tag
    page.fill("input[name=q]", "wide")
    page.click("#inventory-filters button[type=submit]")
    page.wait_for_load_state()
    assert shown_models(page) == [WIDE]
    page.fill("input[name=q]", "team:credit")
    page.click("#inventory-filters button[type=submit]")
    page.wait_for_load_state()
    assert shown_models(page) == [WIDE]
    page.fill("input[name=q]", "gus@example.org")
    page.click("#inventory-filters button[type=submit]")
    page.wait_for_load_state()
    owned = shown_models(page)
    assert owned and WIDE not in owned
    assert all(
        "gus@example.org" in t for t in page.locator("#inventory tr[data-model]").all_inner_texts()
    )

    # a filter narrows the list: the summary's count of red models is what the filter shows
    page.goto(f"{site['url']}/ui/")
    red = int(page.locator("#summary a[data-health=red] strong").inner_text())
    assert 0 < red < 60
    page.select_option("select[name=health]", "red")
    page.click("#inventory-filters button[type=submit]")
    page.wait_for_load_state()
    healths = page.locator("#inventory .health").evaluate_all("els => els.map(e => e.title)")
    assert len(healths) == red and set(healths) == {"red"}
    page.select_option("select[name=tier]", "high")
    page.click("#inventory-filters button[type=submit]")
    page.wait_for_load_state()
    narrower = shown_models(page)
    assert len(narrower) < red
    assert all(
        "high" in t
        for t in page.locator("#inventory tr[data-model] td:nth-child(6)").all_inner_texts()
    )

    # sorting: by name both ways, then by open incidents
    page.goto(f"{site['url']}/ui/?size=100")
    page.click("#inventory th a[data-sort=name]")
    page.wait_for_load_state()
    names = shown_models(page)
    assert names == sorted(names) and len(names) == 60
    page.click("#inventory th a[data-sort=name]")
    page.wait_for_load_state()
    assert shown_models(page) == sorted(names, reverse=True)
    page.click("#inventory th a[data-sort=incidents]")
    page.wait_for_load_state()
    counts = [
        int(t.split()[0])
        for t in page.locator("#inventory tr[data-model] td:nth-child(8)").all_inner_texts()
    ]
    assert counts == sorted(counts, reverse=True) and counts[0] > 0

    # paging: the second page holds the rest, in the same order
    page.goto(f"{site['url']}/ui/?sort=name")
    first = shown_models(page)
    page.click("#pager a[rel=next]")
    page.wait_for_load_state()
    second = shown_models(page)
    assert len(first) == 50 and len(second) == 10 and first[-1] < second[0]
    assert page.console_errors == []


def test_the_heatmap_of_300_features(page, site) -> None:  # type: ignore[no-untyped-def]
    login(page, site)
    page.goto(f"{site['url']}/ui/models/{WIDE}/monitoring")
    page.wait_for_function("document.querySelector('#heatmap').dataset.painted")
    heatmap = page.locator("#heatmap")
    assert heatmap.get_attribute("data-features") == str(FEATURES)
    assert heatmap.get_attribute("data-painted") == str(FEATURES * WINDOWS)
    # One canvas, no element per cell, with the table of features as its text alternative.
    assert heatmap.locator("canvas").count() == 1
    assert "table of features" in heatmap.locator("canvas").get_attribute("aria-label")
    # Rows are sorted by the newest window's drift: the top row is drifted (red
    # at the right edge), the bottom row is not (blue-grey).
    top, bottom = page.evaluate(
        """() => {
          const c = document.querySelector('#heatmap canvas');
          const g = c.getContext('2d');
          const px = (x, y) => Array.from(g.getImageData(x, y, 1, 1).data);
          return [px(c.width - 2, 1), px(c.width - 2, c.height - 2)];
        }"""
    )
    assert top[0] > 140 and top[0] - top[2] > 60, top  # orange to dark red
    assert bottom[2] >= bottom[0], bottom  # blue-grey: below the threshold
    rows = page.locator("#features tr[data-feature]")
    assert rows.count() == FEATURES
    latest = [
        float(t)
        for t in page.locator("#features tr[data-feature] td:nth-child(2)").all_inner_texts()
    ]
    assert latest == sorted(latest, reverse=True)
    assert page.locator("#features tr.drifted").count() == int(
        page.locator("#drift-summary strong").inner_text()
    )
    # the scale and the unit of every score are on the page
    legend = page.locator("#drift-legend").inner_text()
    assert "threshold" in legend and "no unit" in legend
    assert "Kolmogorov-Smirnov" in legend  # the test behind this model's scores
    assert page.locator("#top-drifted .multiple canvas").count() == 12
    # importance beside drift, and sorting by it
    assert "permutation importance" in page.locator("#drift-summary").inner_text()
    page.click("a[data-sort=importance]")
    page.wait_for_load_state()
    page.wait_for_function("document.querySelector('#heatmap').dataset.painted")
    weights = [
        float(t)
        for t in page.locator("#features tr[data-feature] td:nth-child(5)").all_inner_texts()[:20]
    ]
    assert weights == sorted(weights, reverse=True) and weights[0] > 0
    assert page.console_errors == []


def test_a_features_page_from_the_heatmap(page, site) -> None:  # type: ignore[no-untyped-def]
    login(page, site)
    page.goto(f"{site['url']}/ui/models/{WIDE}/monitoring")
    page.wait_for_function("document.querySelector('#heatmap').dataset.painted")
    top = page.locator("#features tr[data-feature]").first.get_attribute("data-feature")
    box = page.locator("#heatmap canvas").bounding_box()
    # Hovering a cell names its feature, window and score; clicking opens the feature.
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + 1)  # newest window, top row
    tip = page.locator("#heatmap .tip")
    assert tip.is_visible() and tip.inner_text().startswith(f"{top} · ")
    assert "× threshold" in tip.inner_text()
    page.mouse.click(box["x"] + box["width"] - 2, box["y"] + 1)
    page.wait_for_url(re.compile(rf".*/features/{top}\?role=production$"))
    page.wait_for_selector("#feature-score canvas")
    page.wait_for_selector("#dist-chart canvas")
    facts = page.locator("#feature-facts").inner_text()
    assert "drifted" in facts and "Kolmogorov-Smirnov" in facts
    assert "rank" in page.locator("#feature-importance").inner_text()
    assert page.console_errors == []


def test_paging_through_the_audit_log_reaches_the_first_event(page, site) -> None:  # type: ignore[no-untyped-def]
    login(page, site)
    page.goto(f"{site['url']}/ui/audit?size=200")
    page.wait_for_function("document.querySelector('#chain-status').dataset.state === 'done'")
    assert "Hash chain verified" in page.locator("#chain-status").inner_text()
    seen: list[int] = []
    for _ in range(100):
        seqs = page.locator("#audit tr[data-seq]").evaluate_all("rs => rs.map(r => +r.dataset.seq)")
        assert seqs == sorted(seqs, reverse=True)
        assert not seen or seqs[0] < seen[-1]  # older and older, nothing twice
        seen += seqs
        if page.locator("#page-older").count() == 0:
            break
        page.click("#page-older")
        page.wait_for_load_state()
    assert seen[-1] == 1 and len(seen) == len(set(seen)) > EVENTS
    assert seen == list(range(seen[0], 0, -1))  # every event, none skipped
    # and back: the newer link of the oldest page leads to the 200 events above it
    top = seqs[0]
    page.click("#page-newer")
    page.wait_for_load_state()
    newer = page.locator("#audit tr[data-seq]").evaluate_all("rs => rs.map(r => +r.dataset.seq)")
    assert newer == list(range(top + 200, top, -1))
    assert page.console_errors == []


def test_audit_filters_and_their_export(page, site) -> None:  # type: ignore[no-untyped-def]
    login(page, site)
    page.goto(f"{site['url']}/ui/audit")
    page.fill("input[name=actor]", "ana@example.org")
    page.fill("input[name=action]", "model.*")
    page.click("#audit-filters button[type=submit]")
    page.wait_for_load_state()
    rows = page.locator("#audit tr[data-seq]")
    assert rows.count() > 0
    for text in rows.all_inner_texts()[:50]:
        cells = text.split("\t")
        assert cells[2] == "ana@example.org" and cells[3].startswith("model."), cells
    csv_href = page.locator("#export-csv").get_attribute("href")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    with httpx.Client(base_url=site["url"], cookies=cookies, timeout=30) as client:
        csv = client.get(csv_href)
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        lines = csv.text.strip().splitlines()
        assert lines[0] == "seq,ts,actor,action,subject,payload,hash"
        assert len(lines) > 50 and all(",ana@example.org,model." in line for line in lines[1:])
        data = client.get(csv_href.replace("export.csv", "export.json")).json()
        assert len(data) == len(lines) - 1
        bad = client.get("/ui/audit?since=yesterday")
        assert bad.status_code == 400 and "since must be a date" in bad.text
    assert page.console_errors == []


def test_a_project_viewer_sees_its_own_models_events_and_incidents(page, site) -> None:  # type: ignore[no-untyped-def]
    login(page, site, site["risk_key"])
    own = set(shown_models(page))
    projects = page.locator("#inventory tr[data-model] td:nth-child(2) .muted").all_inner_texts()
    assert own and set(projects) == {"risk"}
    page.goto(f"{site['url']}/ui/audit")
    subjects = page.locator("#audit tr[data-seq] td:nth-child(5)").all_inner_texts()
    assert len(subjects) == 50
    assert {s.removeprefix("model:").split("@")[0] for s in subjects} <= own
    page.goto(f"{site['url']}/ui/incidents")
    models = page.locator("#incidents tr[data-incident] td:nth-child(2) a").all_inner_texts()
    assert models and set(models) <= own
    other = next(m for m in site["built"].models if m not in own)
    assert page.goto(f"{site['url']}/ui/audit?model={other}").status == 404
    assert page.console_errors == [] or all("404" in e for e in page.console_errors)


def test_the_evidence_page_summary_first_groups_folded(page, site) -> None:  # type: ignore[no-untyped-def]
    login(page, site)
    # The first view waits up to ui.compliance.WAIT_SECONDS for the report before it
    # answers that one is being built: the navigation may take that long.
    page.goto(f"{site['url']}/ui/compliance", timeout=60_000)
    # The report is built behind the page, which shows it once it is ready.
    page.wait_for_selector("#evidence-summary", timeout=120_000)
    assert page.locator("#building").count() == 0
    # The chain's walk the report rests on is named: when, and up to which event.
    walk = page.locator("#chain-walk").inner_text()
    assert re.search(r"last verified \d{4}-\d\d-\d\d \d\d:\d\d UTC up to event #\d+", walk), walk
    summary = page.locator("#evidence-summary")
    assert summary.locator("tr[data-group]").count() >= 3
    groups = page.locator("details.group")
    assert groups.count() >= 3
    assert groups.evaluate_all("ds => ds.every(d => !d.open)")  # folded
    page.select_option("#status-filter select[name=status]", "missing")
    page.click("#status-filter button[type=submit]")
    page.wait_for_load_state()
    statuses = page.locator("section.control").evaluate_all("ss => ss.map(s => s.dataset.status)")
    assert statuses and set(statuses) == {"missing"}
    assert page.console_errors == []
