"""Warn rules and per-row results over real HTTP: counted, logged, and only acknowledged rows logged."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
import polars as pl
import pytest

from aims.server.config import ServerConfig
from aims.services import lifecycle, registry
from aims.storage.predlog import PredictionLogReader
from tests.server.conftest import ACTOR, OWNERS, LiveServer, bearer, mint, new_workspace

CONFIG = ServerConfig(poll_interval=0.2, rate_limit=1e6, rate_burst=1e6, flush_interval=0.2)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, tiny_files):
    from aims.core.contract import infer_contract, write_contract
    from aims.server.app import create_app
    from aims.workspace import Workspace

    folder = tmp_path_factory.mktemp("warn")
    contract = infer_contract(
        tiny_files["data"], name="tiny", margin=0.0, range_severity="warn"
    ).restrict(["x1", "x2"])
    write_contract(contract, folder / "warn.odcs.yaml")
    base = new_workspace(folder / "ws")
    ws = Workspace(dataclasses.replace(base.settings, project="alpha"))
    registry.register_dataset(ws, tiny_files["data"], "tiny", actor=ACTOR)
    registry.register_model(
        ws,
        tiny_files["model"],
        "tiny",
        actor=ACTOR,
        datasets=["tiny@1"],
        owners=OWNERS,
        contract_path=Path(folder / "warn.odcs.yaml"),
    )
    lifecycle.promote(ws, "tiny@1", "production", actor=ACTOR)
    from aims.services import keys

    keys.create_key(ws, project="alpha", role="predictor", actor=ACTOR)
    app = create_app(ws, config=CONFIG)
    with LiveServer(app) as server:
        c = httpx.Client(
            base_url=server.url, timeout=30, headers=bearer(mint(ws, "alpha", "admin"))
        )
        yield {"ws": ws, "client": c, "app": app}
        c.close()
    ws.close()


def _logged(ws, request_ids: list[str]) -> pl.DataFrame:
    ws_log = PredictionLogReader(ws.settings.prediction_log_url).scan("tiny").collect()
    return ws_log.filter(pl.col("request_id").is_in(request_ids))


def _metric(c: httpx.Client, prefix: str) -> float:
    text = c.get("/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)
    )


def test_values_breaking_a_warn_rule_are_predicted_counted_and_logged(served) -> None:
    c = served["client"]
    r = c.post(
        "/v1/models/tiny/predict",
        json={"records": [{"x1": 0.1, "x2": 0.2}, {"x1": 1e6, "x2": 0.2}, {"x1": 1e6, "x2": -1e6}]},
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["predictions"]) == 3 and "rejected" not in r.json()
    assert _metric(c, 'aims_contract_warnings_total{field="x1",model="tiny",rule="range"}') == 2
    assert _metric(c, 'aims_contract_warnings_total{field="x2",model="tiny",rule="range"}') == 1
    served["app"].state.aims.writer.flush()
    rows = _logged(served["ws"], [r.json()["request_id"]])
    flags = dict(zip(rows["prediction_id"], rows["contract_warnings"], strict=True))
    ids = [p["prediction_id"] for p in r.json()["predictions"]]
    assert [flags[i] for i in ids] == [None, "x1:range", "x1:range,x2:range"]


def test_per_row_results_predict_valid_rows_and_report_the_others(served) -> None:
    c = served["client"]
    records = [
        {"x1": 0.1, "x2": 0.2},
        {"x1": "secret-ish text", "x2": 0.2},
        {"x2": 0.3},
        {"x1": 0.5, "x2": 1e6},
    ]
    # All-or-nothing stays the default: one bad row refuses the request.
    assert c.post("/v1/models/tiny/predict", json={"records": records}).status_code == 422
    r = c.post("/v1/models/tiny/predict", params={"errors": "per_row"}, json={"records": records})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [p["row"] for p in body["predictions"]] == [0, 3]
    assert sorted((e["row"], e["field"], e["rule"]) for e in body["rejected"]) == [
        (1, "x1", "type"),
        (2, "x1", "missing"),
    ]
    served["app"].state.aims.writer.flush()
    logged = _logged(served["ws"], [body["request_id"]])
    assert sorted(logged["prediction_id"].to_list()) == sorted(
        p["prediction_id"] for p in body["predictions"]
    )
    flags = dict(zip(logged["prediction_id"], logged["contract_warnings"], strict=True))
    assert [flags[p["prediction_id"]] for p in body["predictions"]] == [None, "x2:range"]


def test_per_row_with_no_valid_row_is_refused_and_nothing_logged(served) -> None:
    c = served["client"]
    before = _metric(c, "aims_prediction_log_rows_total")
    r = c.post(
        "/v1/models/tiny/predict?errors=per_row",
        json={"records": [{"x1": "a", "x2": 0.1}, {"x2": 0.2}]},
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "no row is valid" in r.json()["detail"]
    assert {e["row"] for e in r.json()["errors"]} == {0, 1}
    served["app"].state.aims.writer.flush()
    assert _metric(c, "aims_prediction_log_rows_total") == before
    bad = c.post("/v1/models/tiny/predict?errors=some", json={"records": [{"x1": 0, "x2": 0}]})
    assert bad.status_code == 422 and "all or per_row" in bad.json()["detail"]


def test_the_openapi_document_describes_per_row_results(served) -> None:
    doc = served["client"].get("/openapi.json").json()
    op = doc["paths"]["/v1/models/{name}/predict"]["post"]
    (param,) = [p for p in op["parameters"] if p["name"] == "errors"]
    assert "per_row" in param["description"]
    assert "rejected" in doc["components"]["schemas"]["PredictResponse"]["properties"]


def test_the_monitor_counts_the_warned_rows_of_a_window(served) -> None:
    from sqlalchemy import select

    from aims.services.monitor import run_once
    from aims.storage.schema import MonitorWindow

    c = served["client"]
    r = c.post("/v1/models/tiny/predict", json={"records": [{"x1": 1e6, "x2": 0.0}] * 3})
    assert r.status_code == 200
    served["app"].state.aims.writer.flush()
    ws = served["ws"]
    run_once(ws, provisional=True)
    log = PredictionLogReader(ws.settings.prediction_log_url).scan("tiny").collect()
    with ws.db.session() as s:
        windows = s.execute(
            select(MonitorWindow).where(MonitorWindow.role == "production")
        ).scalars()
        counted = {w.window_start: w.results["health"]["contract_warning_rows"] for w in windows}
    flagged = log.filter(
        pl.col("contract_warnings").is_not_null() & (pl.col("role") == "production")
    )
    # Every window together counts each logged row that broke a warn rule once.
    assert sum(counted.values()) == flagged.height >= 3
