"""``aims serve --monitor``: the monitoring loop in the server process, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from aims.server.assembly import build_server, stop_monitor
from aims.services import keys, lifecycle
from aims.storage.schema import MonitorWindow
from aims.workspace import Workspace
from tests.server.conftest import (
    ACTOR,
    LiveServer,
    bearer,
    mint,
    new_workspace,
    register_tiny,
    wait_until,
)

#: Short windows, so that one closes a few seconds after the predictions.
MONITOR = {"window": "5s", "grace": "1s", "interval": "1s"}


def _production_windows(ws: Workspace) -> list[MonitorWindow]:
    with ws.db.session() as s:
        return list(
            s.scalars(
                select(MonitorWindow)
                .where(MonitorWindow.role == "production", MonitorWindow.n_predictions > 0)
                .order_by(MonitorWindow.window_start)
            ).all()
        )


def test_the_monitor_in_the_server_stores_and_exports_closed_windows(tmp_path, tiny_files) -> None:
    root = tmp_path / "ws"
    new_workspace(root).close()
    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["monitor"] = MONITOR
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    ws = Workspace.open(root)
    register_tiny(ws, tiny_files, "tiny", "model")
    lifecycle.promote(ws, "tiny@1", "production", actor=ACTOR)
    project = ws.settings.project
    keys.create_key(ws, project=project, role="predictor", actor=ACTOR)
    x = np.random.default_rng(3).normal(size=(60, 2))
    records = [{"x1": float(a), "x2": float(b)} for a, b in x]
    app = build_server(ws, monitor=True)
    try:
        with (
            LiveServer(app) as server,
            httpx.Client(
                base_url=server.url, headers=bearer(mint(ws, project, "predictor")), timeout=30
            ) as client,
        ):
            sent_at = datetime.now(UTC)
            answer = client.post("/v1/models/tiny/predict", json={"records": records})
            answered_at = datetime.now(UTC)
            assert answer.status_code == 200, answer.text
            # flushed to the log (1 s), closed (5 s window + 1 s grace), then the next pass
            [window] = wait_until(lambda: _production_windows(ws), timeout=25)
            assert (window.version, window.n_predictions) == (1, 60)
            start = window.window_start.replace(tzinfo=UTC)
            assert window.window_seconds == 5
            assert start <= answered_at and sent_at < start + timedelta(seconds=5)
            results = window.results
            assert results["rows"] == 60 and results["drift"]["computed"] is True
            assert results["health"]["computed"] is True
            text = client.get("/metrics").text
    finally:
        stop_monitor(app)
    assert not app.state.monitor.thread.is_alive()
    labels = {"model": "tiny", "version": "1", "role": "production"}
    samples = {
        s.name: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.labels == labels
    }
    assert samples["aims_monitor_predictions"] == 60
    assert samples["aims_monitor_window_end_timestamp_seconds"] == start.timestamp() + 5
    assert "aims_monitor_invalid_output_share" in samples
    ws.close()
