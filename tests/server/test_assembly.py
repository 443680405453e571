"""``aims serve`` as assembled: API, dashboard and monitor metrics in one app, over real HTTP."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

from aims.server.assembly import build_server
from aims.services import keys


@pytest.fixture
def served(workspace):
    keys.create_key(workspace, project="default", role="viewer", actor="ops@x.org")
    app = build_server(workspace, insecure_dev=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(timeout=20)


def test_dashboard_and_monitor_metrics_are_served(served) -> None:
    page = httpx.get(f"{served}/ui/", timeout=10)
    assert page.status_code == 200 and "Models" in page.text
    css = httpx.get(f"{served}/ui/static/vendor/uPlot.min.css", timeout=10)
    assert css.status_code == 200
    text = httpx.get(f"{served}/metrics", timeout=10).text
    names = {f.name for f in text_string_to_metric_families(text)}
    assert any(n.startswith("aims_monitor_") for n in names), sorted(names)[:20]
