"""The demo's production phase: serve, replay later flights as traffic, monitor, act.

Windows are short (``WINDOW_SECONDS``) so that a month of 2013 traffic passes
in one window of real time; everything else — the HTTP server with its keys,
the prediction log, late labels, the monitor, its triggers and the retrain
action — is what a deployment runs.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import polars as pl

from aims.demo import data as demo_data

WINDOW_SECONDS = 10
GRACE_SECONDS = 1
ROWS_PER_WINDOW = 1000
MODEL = "flight-delay"


@dataclass
class RunningServer:
    """A server started in this process, on a free loopback port."""

    url: str
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def start_server(ws: Any, port: int | None = None) -> RunningServer:
    """``aims serve`` with the dashboard, in a background thread."""
    import uvicorn

    from aims.server.assembly import build_server

    app = build_server(ws)
    if port is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="aims-demo-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    return RunningServer(url, server, thread)


def token(url: str, api_key: str) -> str:
    r = httpx.post(f"{url}/v1/auth/token", json={"api_key": api_key}, timeout=10)
    r.raise_for_status()
    return r.json()["access_token"]


@dataclass
class Window:
    """What one replayed month did."""

    month: int
    rows: int
    start: float
    prediction_ids: list[str] = field(default_factory=list)
    labels: list[Any] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def next_window_start() -> float:
    """The start of the next monitoring window (epoch seconds)."""
    return float((int(time.time()) // WINDOW_SECONDS + 1) * WINDOW_SECONDS)


def sleep_until(t: float) -> None:
    time.sleep(max(0.0, t - time.time()))


def send_month(
    client: httpx.Client, data: pl.DataFrame, month: int, seed: int, start: float
) -> Window:
    """Send a sample of one month's flights, in the window starting at ``start``."""
    rows = demo_data.months(data, month, month)
    rows = rows.sample(min(ROWS_PER_WINDOW, rows.height), seed=seed)
    sleep_until(start + 0.05)
    window = Window(month, rows.height, start)
    for start in range(0, rows.height, 100):
        batch = rows.slice(start, 100)
        r = client.post(
            f"/v1/models/{MODEL}/predict",
            json={"records": batch.select(demo_data.FEATURES).to_dicts()},
        )
        r.raise_for_status()
        window.prediction_ids += [p["prediction_id"] for p in r.json()["predictions"]]
        window.labels += batch[demo_data.LABEL].to_list()
    return window


def send_labels(client: httpx.Client, window: Window) -> dict[str, Any]:
    """Ground truth for a window's predictions (the demo sends it one window late)."""
    r = client.post(
        "/v1/labels",
        json={
            "model": MODEL,
            "labels": [
                {"prediction_id": pid, "label": int(y)}
                for pid, y in zip(window.prediction_ids, window.labels, strict=True)
            ],
        },
    )
    r.raise_for_status()
    return r.json()


def window_row(ws: Any, start: float, role: str = "production") -> dict[str, Any] | None:
    """The stored results of the window starting at ``start`` (epoch seconds)."""
    from datetime import UTC, datetime

    from aims.services.monitor.window_store import window_at
    from aims.services.registry import get_model

    with ws.db.session() as s:
        model = get_model(s, MODEL)
        row = window_at(s, model.id, role, datetime.fromtimestamp(start, UTC), WINDOW_SECONDS)
        if row is None:
            return None
        return {
            "version": row.version,
            "results": row.results,
            "n": row.n_predictions,
            "labelled": row.n_labelled,
        }


def labelled_inputs(log: pl.DataFrame) -> pl.DataFrame:
    """Logged inputs under their feature names, with the label, for labelled rows only."""
    from aims.storage.predlog import feature_column

    return log.filter(pl.col("label").is_not_null()).select(
        *[pl.col(feature_column(f)).alias(f) for f in demo_data.FEATURES],
        pl.col("label").cast(pl.Float64).cast(pl.Int8).alias(demo_data.LABEL),
    )


def retrain(ws: Any, incident_id: int, data_path: str) -> dict[str, Any]:
    """Retrain entry point named in the demo policy: recent labelled traffic + the training data.

    Called by the monitor's retrain action with the incident's window data.
    """
    from skops.io import dump

    from aims.services import registry

    recent = pl.read_parquet(data_path)
    recent = labelled_inputs(recent)
    with ws.db.session() as s:
        base = registry.get_dataset_version(s, registry.parse_ref("flights@2"))
        base_source = base.source
    train = pl.concat(
        [pl.read_parquet(base_source).select(*demo_data.FEATURES, demo_data.LABEL), recent],
        how="vertical_relaxed",
    )
    folder = Path(ws.root) / "data"
    path = folder / f"flights_retrain_incident{incident_id}.parquet"
    train.write_parquet(path)
    ds, _ = registry.register_dataset(ws, path, "flights-retrain", actor="aims-monitor")
    model_path = Path(ws.root) / "models" / f"delay_incident{incident_id}.skops"
    dump(demo_data.train(train, seed=3), model_path)
    return registry.register_model(
        ws,
        model_path,
        MODEL,
        actor="aims-monitor",
        datasets=[f"flights-retrain@{ds['version']}"],
        tags={"retrained_from": "1", "incident": str(incident_id)},
    )
