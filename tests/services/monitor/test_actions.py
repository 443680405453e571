"""Actions of a fired trigger, for real: an HTTP server receives webhooks, a command and a
Python entry point retrain, the store rolls back."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from aims.services import audit, registry
from aims.services.monitor import list_incidents, resolve_incident, run_once, show_incident
from aims.services.monitor.actions import export_window_data, post_webhook
from aims.services.monitor.triggers import WebhookSpec
from tests.services.monitor.conftest import FEATURES, HOUR, T0, Traffic, configure, generate


class Hook:
    """A local HTTP endpoint that answers with the given status codes in turn."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.bodies: list[Any] = []
        self.headers: list[dict[str, str]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                hook.bodies.append(json.loads(self.rfile.read(length)))
                hook.headers.append(dict(self.headers))
                status = hook.statuses.pop(0) if len(hook.statuses) > 1 else hook.statuses[0]
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook([200])
    yield h
    h.close()


def test_webhook_retries_server_errors_then_succeeds() -> None:
    h = Hook([503, 500, 200])
    try:
        out = post_webhook(WebhookSpec(url=h.url, retries=3, backoff=0.01), {"x": 1})
        assert out == {"status": "done", "http_status": 200, "attempts": 3}
        assert h.bodies == [{"x": 1}] * 3
    finally:
        h.close()


def test_webhook_gives_up_after_its_retries_and_not_on_client_errors() -> None:
    h = Hook([500])
    try:
        out = post_webhook(WebhookSpec(url=h.url, retries=2, backoff=0.01), {})
        assert out["status"] == "failed" and out["attempts"] == 3 and out["error"] == "HTTP 500"
        h.statuses = [404]
        out = post_webhook(WebhookSpec(url=h.url, retries=5, backoff=0.01), {})
        assert out["attempts"] == 1 and out["error"] == "HTTP 404"
    finally:
        h.close()
    # nothing listens any more: a network error, retried, then reported
    out = post_webhook(WebhookSpec(url=h.url, retries=1, backoff=0.01, timeout=1), {})
    assert out["status"] == "failed" and out["attempts"] == 2


def _nan_window(ws, synthetic, start=T0) -> None:
    """One window whose model emits NaN scores for a few rows (fires output_sanity)."""
    import numpy as np

    def predict(inputs: pl.DataFrame) -> Any:
        p = synthetic.model.predict_proba(inputs.to_pandas())
        p[:3] = np.nan
        return p

    traffic = Traffic(ws, synthetic.model, seed=11)
    traffic.window(start, 200, predict=predict)
    traffic.close()


def test_incident_notifies_every_webhook_in_both_formats(served, synthetic, hook) -> None:
    slack = Hook([200])
    try:
        ws = configure(
            served,
            {
                "webhooks": {
                    "oncall": {"url": hook.url, "headers": {"X-Token": "t1"}},
                    "chat": {"url": slack.url, "format": "slack"},
                },
                "triggers": [
                    {
                        "name": "output_sanity",
                        "when": "invalid_output_share > 0",
                        "severity": "critical",
                        "actions": ["incident", "webhook"],
                    }
                ],
            },
        )
        _nan_window(ws, synthetic)
        summary = run_once(ws, now=T0 + 2 * HOUR)
        [incident_id] = summary.incidents_opened
        assert sorted((a["target"], a["status"]) for a in summary.actions) == [
            ("chat", "done"),
            ("oncall", "done"),
        ]
        [body] = hook.bodies
        assert body["event"] == "aims.incident"
        assert body["incident"]["id"] == incident_id
        assert body["incident"]["severity"] == "critical"
        assert body["incident"]["owner"] == "oncall@example.org"
        assert body["incident"]["observed"]["invalid_output_share"] == pytest.approx(3 / 200)
        assert hook.headers[0]["X-Token"] == "t1"
        [text] = slack.bodies
        assert set(text) == {"text"} and f"#{incident_id}" in text["text"]
        assert "oncall@example.org" in text["text"]
        shown = show_incident(ws, incident_id)
        assert [a["status"] for a in shown["actions"]] == ["done", "done"]
        events = audit.query(ws.db, audit.EventFilter(action="monitor.action.webhook"))
        assert len(events) == 2 and all(e["actor"] == "aims-monitor" for e in events)
        ws.close()
    finally:
        slack.close()


RETRAIN_MODULE = """
from pathlib import Path
import polars as pl
from aims.services import registry

CALLS = []

def run(ws, incident_id, data):
    rows = pl.read_parquet(data)
    CALLS.append((incident_id, rows.height, sorted(rows.columns)))
    source = Path(ws.root) / "model.skops"
    return registry.register_model(ws, source, "syn", actor="retrainer", datasets=["syn@1"])
"""


def test_retrain_entry_point_gets_the_incident_and_its_window_data(
    served, synthetic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "retrain_hook.py").write_text(RETRAIN_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    (served.root / "model.skops").write_bytes(synthetic.model_path.read_bytes())
    ws = configure(
        served,
        {
            "retrain": {"entry_point": "retrain_hook:run"},
            "triggers": [
                {
                    "name": "output_sanity",
                    "when": "invalid_output_share > 0",
                    "actions": ["retrain"],
                }
            ],
        },
    )
    _nan_window(ws, synthetic)
    summary = run_once(ws, now=T0 + 2 * HOUR)
    [incident_id] = summary.incidents_opened
    [action] = summary.actions
    assert action["status"] == "done", action
    assert action["new_version"] == {"name": "syn", "version": 2, "stage": "registered"}
    calls = sys.modules["retrain_hook"].CALLS
    assert calls[0][0] == incident_id and calls[0][1] == 200
    assert {"prediction", "label", "x0", "region"} <= set(calls[0][2])
    assert registry.describe(ws, "syn")["versions"][-1]["created_by"] == "retrainer"

    # two monitors exporting the same incident's data at once both get the whole file
    inc = show_incident(ws, incident_id)
    with ThreadPoolExecutor(2) as pool:
        paths = list(pool.map(lambda _: export_window_data(ws, inc), range(2)))
    assert paths[0] == paths[1]
    assert pl.read_parquet(paths[0]).height == 200
    assert [p.name for p in paths[0].parent.iterdir()] == ["data.parquet"]
    ws.close()


def test_retrain_command_with_placeholders_and_failures_recorded(served, synthetic) -> None:
    ws = configure(
        served,
        {
            "retrain": {"command": "echo {incident} {model} > out.txt && test -f {data}"},
            "triggers": [
                {
                    "name": "output_sanity",
                    "when": "invalid_output_share > 0",
                    "actions": ["retrain"],
                }
            ],
        },
    )
    _nan_window(ws, synthetic)
    summary = run_once(ws, now=T0 + 2 * HOUR)
    [action] = summary.actions
    assert action["status"] == "done" and action["exit_code"] == 0
    assert (ws.root / "out.txt").read_text().split() == [str(summary.incidents_opened[0]), "syn"]
    # While that incident is open, the next firing joins it and runs nothing again.
    _nan_window(ws, synthetic, start=T0 + 2 * HOUR)
    again = run_once(ws, now=T0 + 4 * HOUR)
    assert again.incidents_updated == summary.incidents_opened and again.actions == []
    resolve_incident(ws, summary.incidents_opened[0], actor="ana@example.org", note="fixed")
    ws = configure(
        ws,
        {
            "retrain": {"command": "echo broken >&2; exit 3"},
            "triggers": [
                {
                    "name": "output_sanity",
                    "when": "invalid_output_share > 0",
                    "actions": ["retrain"],
                }
            ],
        },
    )
    _nan_window(ws, synthetic, start=T0 + 5 * HOUR)
    summary = run_once(ws, now=T0 + 7 * HOUR)
    [action] = summary.actions
    assert action["status"] == "failed" and action["exit_code"] == 3
    assert action["stderr"].strip() == "broken"
    ws.close()


def _collapse(ws, synthetic) -> None:
    """v2 is promoted and its predictions turn out inverted: labels show it."""
    registry.register_model(
        ws,
        synthetic.model_path,
        "syn",
        actor="ana@example.org",
        datasets=["syn@1"],
        metrics={"accuracy": synthetic.accuracy},
    )
    from aims.services import lifecycle

    lifecycle.promote(ws, "syn@2", "production", actor="ops@example.org")
    traffic = Traffic(ws, synthetic.model, seed=12)

    def inverted(inputs: pl.DataFrame) -> Any:
        return synthetic.model.predict_proba(inputs.to_pandas())[:, ::-1]

    for w in range(2):
        traffic.window(T0 + w * HOUR, 250, version=2, predict=inverted)
    traffic.close()
    traffic.send_labels()


ROLLBACK_POLICY = {
    "tiers": {"minimal": {"auto_rollback": True}},
    "triggers": [
        {
            "name": "accuracy_drop",
            "when": "accuracy_drop > 0.1 with >= 200 labels",
            "severity": "critical",
            "task": "classification",
            "actions": ["rollback"],
        }
    ],
}


def test_performance_collapse_is_rolled_back_by_policy(served, synthetic) -> None:
    ws = configure(served, ROLLBACK_POLICY)
    _collapse(ws, synthetic)
    summary = run_once(ws, now=T0 + 3 * HOUR)
    [incident_id] = summary.incidents_opened
    [action] = summary.actions
    assert action == {
        **action,
        "type": "rollback",
        "status": "done",
        "from": 2,
        "to": 1,
        "tier": "minimal",
    }
    stages = {v["version"]: v["stage"] for v in registry.describe(ws, "syn")["versions"]}
    assert stages == {1: "production", 2: "archived"}
    [event] = audit.query(ws.db, audit.EventFilter(action="model.rollback"))
    assert (
        event["actor"] == "aims-monitor"
        and f"incident #{incident_id}" in event["payload"]["reason"]
    )
    assert (
        audit.query(ws.db, audit.EventFilter(action="monitor.action.rollback"))[0]["payload"][
            "status"
        ]
        == "done"
    )
    incident = show_incident(ws, incident_id)
    assert incident["kind"] == "performance" and incident["window_count"] == 2
    assert audit.verify(ws.db).ok
    ws.close()


def test_rollback_is_skipped_where_the_tier_does_not_allow_it(served, synthetic) -> None:
    policy = {**ROLLBACK_POLICY, "tiers": {"high": {"auto_rollback": True}}}
    ws = configure(served, policy)
    _collapse(ws, synthetic)
    summary = run_once(ws, now=T0 + 3 * HOUR)
    [action] = summary.actions
    assert action["status"] == "skipped" and action["tier"] == "minimal"
    assert "tiers.minimal.auto_rollback" in action["reason"]
    stages = {v["version"]: v["stage"] for v in registry.describe(ws, "syn")["versions"]}
    assert stages[2] == "production"
    assert [i["kind"] for i in list_incidents(ws)] == ["performance"]
    ws.close()


def _inverted_model(synthetic, folder: Path) -> Path:
    """A pipeline fitted to the opposite labels: it looks fine until labels come back."""
    from sklearn.base import clone
    from skops.io import dump

    train = pl.read_parquet(synthetic.data)
    model = clone(synthetic.model).fit(
        train.select(FEATURES).to_pandas(), 1 - train["y"].to_numpy()
    )
    dump(model, folder / "inverted.skops")
    return folder / "inverted.skops"


def test_a_collapsed_version_is_rolled_back_and_the_server_serves_the_previous_one(
    served, synthetic, tmp_path
) -> None:
    import httpx

    from aims.server.app import create_app
    from aims.services import keys, lifecycle
    from aims.services.monitor.windows import window_start
    from aims.storage.predlog import PredictionLogReader
    from tests.server.conftest import LiveServer, bearer, mint, wait_until

    ws = configure(served, ROLLBACK_POLICY)
    registry.register_model(
        ws,
        _inverted_model(synthetic, tmp_path),
        "syn",
        actor="ana@example.org",
        datasets=["syn@1"],
        metrics={"accuracy": synthetic.accuracy},
    )
    project = ws.settings.project
    keys.create_key(ws, project=project, role="predictor", actor="ops@example.org")
    data = generate(np.random.default_rng(13), 500)
    records = data.select(FEATURES).to_dicts()
    app = create_app(ws)  # the default poll interval: the 2 s promise is for it
    with (
        LiveServer(app) as server,
        httpx.Client(
            base_url=server.url, headers=bearer(mint(ws, project, "predictor")), timeout=30
        ) as client,
    ):

        def production() -> int:
            served = client.get("/v1/models/syn").json()["versions"]
            return next(v["version"] for v in served if v["role"] == "production")

        lifecycle.promote(ws, "syn@2", "production", actor="ops@example.org")
        wait_until(lambda: production() == 2)
        ids = []
        for i in range(0, 500, 100):
            answer = client.post("/v1/models/syn/predict", json={"records": records[i : i + 100]})
            assert answer.json()["version"] == 2
            ids += [p["prediction_id"] for p in answer.json()["predictions"]]
        # labels attach only to predictions already in the log
        reader = PredictionLogReader(ws.settings.prediction_log_url)
        wait_until(lambda: reader.scan("syn", version=2).collect().height >= 500)
        labels = [
            {"prediction_id": i, "label": int(y)} for i, y in zip(ids, data["y"], strict=True)
        ]
        answer = client.post("/v1/labels", json={"model": "syn", "labels": labels})
        # a predictor key learns how many labels were accepted, not which matched
        assert answer.json()["accepted"] == 500, answer.text
        newest = reader.scan("syn", version=2).collect()["ts"].max()
        closed = window_start(newest, 3600) + HOUR + timedelta(minutes=5)

        # callers keep predicting while the monitor runs and rolls back
        seen: list[tuple[float, int | None]] = []
        stop = threading.Event()

        def stream() -> None:
            with httpx.Client(base_url=server.url, headers=client.headers, timeout=30) as own:
                while not stop.is_set():
                    r = own.post("/v1/models/syn/predict", json={"records": records[:1]})
                    seen.append((time.time(), r.json().get("version") if r.is_success else None))

        thread = threading.Thread(target=stream)
        thread.start()
        try:
            summary = run_once(ws, now=closed)
            wait_until(lambda: any(v == 1 for _, v in seen))
        finally:
            stop.set()
            thread.join()
    [action] = [a for a in summary.actions if a["type"] == "rollback"]
    assert (action["status"], action["from"], action["to"]) == ("done", 2, 1)
    [event] = audit.query(ws.db, audit.EventFilter(action="model.rollback"))
    rolled_at = datetime.fromisoformat(event["ts"]).timestamp()
    assert all(v is not None for _, v in seen), "a request failed during the rollback"
    assert {v for t, v in seen if t < rolled_at} == {2}
    first_v1 = min(t for t, v in seen if v == 1)
    assert first_v1 - rolled_at < 2.0
    assert {v for t, v in seen if t > first_v1} == {1}
    ws.close()
