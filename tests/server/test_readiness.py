"""Readiness reports current health: a log that cannot be written makes the
server not ready, and the next successful flush makes it ready again, with
every prediction acknowledged meanwhile written to the log."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from aims.server.config import ServerConfig
from aims.storage.predlog import PredictionLogReader
from tests.server.conftest import LiveServer, bearer, wait_until
from tests.server.hostile import MODEL, api_keys, good_record, shop_workspace

CONFIG = ServerConfig(flush_interval=0.2, poll_interval=0.2)


def test_a_failed_flush_makes_the_server_not_ready_until_the_next_one_succeeds(
    tmp_path: Path,
) -> None:
    from aims.server.app import create_app

    ws = shop_workspace(tmp_path)
    keys = api_keys(ws)
    app = create_app(ws, config=CONFIG)
    log_root = Path(ws.settings.prediction_log_url.removeprefix("file://"))
    acknowledged: list[str] = []
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        token = client.post("/v1/auth/token", json={"api_key": keys["predictor"]}).json()
        client.headers.update(bearer(token["access_token"]))

        def predict(i: int) -> None:
            r = client.post(f"/v1/models/{MODEL}/predict", json={"records": [good_record(i)]})
            assert r.status_code == 200, r.text
            acknowledged.extend(p["prediction_id"] for p in r.json()["predictions"])

        predict(1)
        model_dir = log_root / f"model={MODEL}"
        wait_until(model_dir.exists)
        assert client.get("/readyz").status_code == 200

        # A file where the model's folder belongs: no write can succeed, even as root.
        shutil.move(model_dir, tmp_path / "moved-away")
        model_dir.write_text("not a folder")
        predict(2)
        down = wait_until(lambda: (r := client.get("/readyz")).status_code == 503 and r)
        assert "prediction log cannot be written" in down.json()["status"]

        model_dir.unlink()
        shutil.move(tmp_path / "moved-away", model_dir)
        predict(3)
        wait_until(lambda: client.get("/readyz").status_code == 200)

    logged = PredictionLogReader(ws.settings.prediction_log_url).scan(MODEL).collect()
    assert sorted(logged["prediction_id"].to_list()) == sorted(acknowledged)


def test_a_span_store_that_cannot_be_written_makes_the_server_not_ready(tmp_path: Path) -> None:
    from aims.server.app import create_app
    from aims.services.traces import trace_log_url
    from tests.server.trace_server import export_json, span_json

    ws = shop_workspace(tmp_path)
    keys = api_keys(ws)
    app = create_app(ws, config=CONFIG)
    store = Path(trace_log_url(ws).removeprefix("file://"))
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        token = client.post("/v1/auth/token", json={"api_key": keys["predictor"]}).json()
        client.headers.update(bearer(token["access_token"]))
        json_body = {"Content-Type": "application/json"}

        def send(i: int) -> None:
            r = client.post("/v1/traces", content=export_json([span_json(i)]), headers=json_body)
            assert r.status_code == 200, r.text

        send(1)
        app_dir = wait_until(lambda: next(store.glob("project=*/application=billing"), None))
        assert client.get("/readyz").status_code == 200

        # A file where the application's folder belongs: no write can succeed, even as root.
        shutil.move(app_dir, tmp_path / "spans-moved-away")
        app_dir.write_text("not a folder")
        send(2)
        down = wait_until(lambda: (r := client.get("/readyz")).status_code == 503 and r)
        assert "span store cannot be written" in down.json()["status"]

        app_dir.unlink()
        shutil.move(tmp_path / "spans-moved-away", app_dir)
        send(3)
        wait_until(lambda: client.get("/readyz").status_code == 200)
