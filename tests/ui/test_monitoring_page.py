"""The monitoring page over real HTTP marks a window that is still open."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from aims.server.assembly import build_server
from aims.services import keys
from aims.services.monitor import run_once
from aims.storage.schema import MonitorWindow
from tests.server.conftest import LiveServer
from tests.services.monitor.conftest import HOUR, T0, Synthetic, Traffic, make_synthetic, serve
from tests.ui.test_access import login

LABEL = "provisional: the window is still open"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Synthetic:
    return make_synthetic(tmp_path_factory.mktemp("synthetic"))


def window_drift_folder(ws) -> Path:  # type: ignore[no-untyped-def]
    return Path(ws.settings.state_dir) / "dashboard" / "drift"


def _page(ws) -> str:  # type: ignore[no-untyped-def]
    _, viewer = keys.create_key(ws, project=ws.settings.project, role="viewer", actor="ops@x.org")
    with (
        LiveServer(build_server(ws)) as server,
        httpx.Client(base_url=server.url, timeout=30) as browser,
    ):
        assert login(browser, viewer).status_code == 303
        page = browser.get("/ui/models/syn/monitoring")
        assert page.status_code == 200
        return page.text


def test_an_open_window_is_labelled_provisional_and_a_closed_one_is_not(
    workspace, synthetic: Synthetic
) -> None:
    ws = serve(workspace, synthetic)
    traffic = Traffic(ws, synthetic.model, seed=41)
    traffic.window(T0, 200)
    traffic.close()
    run_once(ws, now=T0 + HOUR / 2, provisional=True)
    open_ = _page(ws)
    assert LABEL in open_ and "· 1 windows ·" in open_
    run_once(ws, now=T0 + HOUR + HOUR / 10)
    # The monitor wrote the page's drift cache as it stored the window, before any view.
    with ws.db.session() as s:
        ids = s.scalars(select(MonitorWindow.id)).all()
    cached = {p.name.split("-")[0] for p in window_drift_folder(ws).glob("*.msgpack")}
    assert ids and {str(i) for i in ids} <= cached
    closed = _page(ws)
    assert "· 1 windows ·" in closed  # the final window replaced the provisional one
    assert LABEL not in closed
