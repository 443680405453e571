"""The prediction server over real HTTP: one server on a loopback port for the module.

Each test uses models of its own, so tests do not disturb one another's
stages, counts or logs.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import polars as pl
import pytest
from prometheus_client.parser import text_string_to_metric_families

from aims.server.config import ServerConfig
from aims.server.routing import BUCKETS, bucket
from aims.services import keys, lifecycle, registry
from aims.storage.predlog import PredictionLogReader
from tests.server.conftest import (
    ACTOR,
    OWNERS,
    LiveServer,
    bearer,
    mint,
    new_workspace,
    register_exploding,
    register_tiny,
    wait_until,
)

CONFIG = ServerConfig(
    max_body_bytes=200_000,
    max_records=1000,
    rate_limit=1e6,
    rate_burst=1e6,
    flush_interval=0.5,
    poll_interval=0.2,
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, cancer_files, cancer_frame, tiny_files):
    """A workspace with several served models (project alpha, one in beta) and a live server."""
    from aims.core.contract import infer_contract, write_contract
    from aims.server.app import create_app
    from aims.workspace import Workspace

    folder = tmp_path_factory.mktemp("app")
    ws = new_workspace(folder / "ws")
    ws = Workspace(dataclasses.replace(ws.settings, project="alpha"))
    # A reviewed contract: its ranges refuse (inferred ones only warn).
    reviewed = write_contract(
        infer_contract(cancer_files["data"], name="cancer", range_severity="error"),
        folder / "cancer.odcs.yaml",
    )
    registry.register_dataset(
        ws, cancer_files["data"], "cancer", actor=ACTOR, contract_path=reviewed
    )
    registry.register_model(
        ws, cancer_files["model"], "cancer", actor=ACTOR, datasets=["cancer@1"], owners=OWNERS
    )
    lifecycle.promote(ws, "cancer@1", "production", actor=ACTOR)

    # A model whose contract names a business key that is personal data.
    keyed = cancer_frame.with_columns(
        pl.format("patient-{}", pl.int_range(pl.len())).alias("patient_id")
    )
    keyed.write_parquet(folder / "keyed.parquet")
    features = [c for c in cancer_frame.columns if c != "target"]
    contract = infer_contract(folder / "keyed.parquet", name="keyed").restrict(
        ["patient_id", *features]
    )
    key_col = contract.column("patient_id")
    key_col.primary_key, key_col.pii = True, "hash"
    key_col.pattern = key_col.min_length = key_col.max_length = None
    key_col.allowed_values = None
    write_contract(contract, folder / "keyed.odcs.yaml")
    registry.register_model(
        ws,
        cancer_files["model"],
        "keyed",
        actor=ACTOR,
        datasets=["cancer@1"],
        owners=OWNERS,
        contract_path=folder / "keyed.odcs.yaml",
    )
    lifecycle.promote(ws, "keyed@1", "production", actor=ACTOR)

    register_tiny(ws, tiny_files, "tiny", "model", "model2")
    lifecycle.promote(ws, "tiny@1", "production", actor=ACTOR)
    for name in ("rolled", "mirrored", "logged"):
        for key in ("model", "model2"):
            registry.register_model(
                ws,
                tiny_files[key],
                name,
                actor=ACTOR,
                datasets=["tiny@1"],
                owners=OWNERS,
                contract_path=tiny_files["contract"],
            )
        lifecycle.promote(ws, f"{name}@1", "production", actor=ACTOR)
    lifecycle.promote(ws, "rolled@2", "production", actor=ACTOR)
    lifecycle.promote(ws, "mirrored@2", "shadow", actor=ACTOR)
    registry.register_model(
        ws,
        tiny_files["model"],
        "shadowed",
        actor=ACTOR,
        datasets=["tiny@1"],
        owners=OWNERS,
        contract_path=tiny_files["contract"],
    )
    lifecycle.promote(ws, "shadowed@1", "production", actor=ACTOR)
    v = register_exploding(
        ws, folder, "shadowed", "tiny@1", ["x1", "x2"], contract=tiny_files["contract"]
    )
    lifecycle.promote(ws, f"shadowed@{v}", "shadow", actor=ACTOR)

    beta = Workspace(dataclasses.replace(ws.settings, project="beta"))
    registry.register_model(
        beta,
        tiny_files["model"],
        "other",
        actor=ACTOR,
        datasets=["tiny@1"],
        owners=OWNERS,
        contract_path=tiny_files["contract"],
    )
    lifecycle.promote(beta, "other@1", "production", actor=ACTOR)

    _, api_key = keys.create_key(ws, project="alpha", role="predictor", actor=ACTOR)
    app = create_app(ws, config=CONFIG)
    with LiveServer(app) as server:
        client = httpx.Client(base_url=server.url, timeout=30)
        token = client.post("/v1/auth/token", json={"api_key": api_key}).json()["access_token"]
        client.headers.update(bearer(token))
        yield {
            "ws": ws,
            "url": server.url,
            "client": client,
            "folder": folder,
            "api_key": api_key,
            "app": app,
        }
        client.close()
    ws.close()


def tiny_records(n: int, seed: int = 0) -> list[dict[str, float]]:
    x = np.random.default_rng(seed).normal(size=(n, 2))
    return [{"x1": float(a), "x2": float(b)} for a, b in x]


def log_of(ws: Any, model: str, **filters: Any) -> pl.DataFrame:
    return PredictionLogReader(ws.settings.prediction_log_url).scan(model, **filters).collect()


def flush(stack: dict[str, Any]) -> None:
    stack["app"].state.aims.writer.flush()


# -- predictions -------------------------------------------------------------


def test_predictions_equal_the_models_own_output(stack, cancer_files, cancer_frame) -> None:
    from skops.io import get_untrusted_types, load

    path = cancer_files["model"]
    model = load(path, trusted=get_untrusted_types(file=path))
    frame = cancer_frame.drop("target").slice(100, 60)
    expected = model.predict(frame.to_pandas())
    expected_proba = model.predict_proba(frame.to_pandas())

    r = stack["client"].post("/v1/models/cancer/predict", json={"records": frame.to_dicts()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["model"], body["version"], body["role"]) == ("cancer", 1, "production")
    assert body["classes"] == [0, 1]
    assert [p["prediction"] for p in body["predictions"]] == expected.tolist()
    np.testing.assert_allclose(
        [p["probabilities"] for p in body["predictions"]], expected_proba, rtol=1e-12
    )
    ids = [p["prediction_id"] for p in body["predictions"]]
    assert len(set(ids)) == 60 and r.headers["x-request-id"] == body["request_id"]

    by_columns = stack["client"].post(
        "/v1/models/cancer/predict", json={"columns": frame.to_dict(as_series=False)}
    )
    assert [p["prediction"] for p in by_columns.json()["predictions"]] == expected.tolist()


def test_models_are_described_and_listed_per_project(stack) -> None:
    c = stack["client"]
    listed = c.get("/v1/models").json()["models"]
    names = {m["name"] for m in listed}
    assert {"cancer", "tiny", "shadowed"} <= names and "other" not in names
    shadowed = c.get("/v1/models/shadowed").json()
    assert {(v["role"], v["version"]) for v in shadowed["versions"]} == {
        ("production", 1),
        ("shadow", 2),
    }
    fields = {f["name"]: f for f in shadowed["versions"][0]["input_contract"]}
    assert set(fields) == {"x1", "x2"} and fields["x1"]["type"] == "number"
    # Another project's model answers as a model that is not served: nothing to probe.
    hidden, missing = c.get("/v1/models/other"), c.get("/v1/models/nope")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"] == "model 'other' is not served"
    assert missing.json()["detail"] == "model 'nope' is not served"


# -- input validation ----------------------------------------------------------


def _error(r: httpx.Response) -> tuple[int, str, set[tuple[str | None, str]]]:
    assert r.headers["content-type"] == "application/problem+json"
    err = r.json()
    return r.status_code, err["code"], {(d["field"], d["rule"]) for d in err["errors"]}


def test_bad_bodies_get_a_4xx_naming_field_and_rule(stack, cancer_frame) -> None:
    c = stack["client"]
    url = "/v1/models/cancer/predict"
    good = cancer_frame.drop("target").row(0, named=True)

    def post(**kw: Any) -> httpx.Response:
        return c.post(url, **kw)

    missing = {k: v for k, v in good.items() if k != "mean_area"}
    assert _error(post(json={"records": [missing]})) == (
        422,
        "contract_violation",
        {("mean_area", "missing")},
    )
    assert _error(post(json={"records": [{**good, "mean_radius": "12.5"}]}))[2] == {
        ("mean_radius", "type")
    }
    assert _error(post(json={"records": [{**good, "mean_area": -5.0}]}))[2] == {
        ("mean_area", "range")
    }
    nan = json.dumps({"records": [{**good, "mean_texture": float("nan")}]})
    assert _error(post(content=nan))[2] == {("mean_texture", "required")}
    inf = json.dumps({"records": [{**good, "mean_texture": float("inf")}]})
    assert _error(post(content=inf))[2] == {("mean_texture", "finite")}
    assert _error(post(content=b'{"records": [{"mean_radius": 1,'))[:2] == (400, "malformed_json")
    assert _error(post(content=b"\xff\xfe"))[:2] == (400, "malformed_json")
    assert _error(post(json=[good]))[2] == {(None, "shape")}
    assert _error(post(json={"record": [good]}))[2] == {("record", "shape")}
    assert _error(post(json={"records": []}))[2] == {("records", "shape")}
    assert _error(post(json={"columns": {"a": [1, 2], "b": [1]}}))[2] == {("columns", "shape")}

    big = json.dumps({"records": [good] * 400}).encode()
    assert len(big) > CONFIG.max_body_bytes
    assert _error(post(content=big))[:3] == (413, "payload_too_large", {(None, "max_body_bytes")})

    def chunks():  # no Content-Length: the limit holds while the body streams
        for i in range(0, len(big), 8192):
            yield big[i : i + 8192]

    assert post(content=chunks()).status_code == 413
    many = {"records": [{"x1": 0.0, "x2": 0.0}] * (CONFIG.max_records + 1)}
    assert _error(c.post("/v1/models/tiny/predict", json=many))[2] == {(None, "max_records")}

    # The server keeps serving, and nothing refused was logged as a prediction.
    ok = post(json={"records": [good]})
    assert ok.status_code == 200
    flush(stack)
    assert log_of(stack["ws"], "cancer").filter(pl.col("mean_radius") == good["mean_radius"])[
        "prediction_id"
    ].to_list() == [ok.json()["predictions"][0]["prediction_id"]]


# -- rollout -------------------------------------------------------------------


@pytest.mark.slow
def test_canary_gets_its_share_and_keys_stick(stack) -> None:
    ws, c = stack["ws"], stack["client"]
    promoted = time.monotonic()
    lifecycle.promote(ws, "tiny@2", "canary", actor=ACTOR, traffic=20)
    wait_until(
        lambda: any(v["role"] == "canary" for v in c.get("/v1/models/tiny").json()["versions"]),
        timeout=2.0,
    )
    assert time.monotonic() - promoted < 2.0
    body = {"records": [{"x1": 0.1, "x2": -0.2}]}
    n = 5000
    versions: dict[str, int] = {}

    def send(part: range) -> None:
        with httpx.Client(base_url=stack["url"], headers=c.headers, timeout=30) as own:
            for i in part:
                r = own.post("/v1/models/tiny/predict", json={**body, "routing_key": f"u{i}"})
                versions[f"u{i}"] = r.json()["version"]

    threads = [threading.Thread(target=send, args=(range(k, n, 4),)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    share = sum(v == 2 for v in versions.values()) / n
    assert 0.17 <= share <= 0.23
    # The stable hash decides, so the split is exactly the one computed here.
    assert all((bucket("tiny", k) < 0.2 * BUCKETS) == (v == 2) for k, v in versions.items())
    for i in range(0, n, 50):  # the same key lands on the same version, by body or header
        r = c.post("/v1/models/tiny/predict", json=body, headers={"X-Routing-Key": f"u{i}"})
        assert r.json()["version"] == versions[f"u{i}"]
        assert r.json()["role"] == ("canary" if versions[f"u{i}"] == 2 else "production")


def test_shadow_that_always_fails_leaves_callers_unaffected(stack) -> None:
    c = stack["client"]
    for rec in tiny_records(40, seed=3):
        r = c.post("/v1/models/shadowed/predict", json={"records": [rec]})
        assert r.status_code == 200 and r.json()["version"] == 1
        assert r.json()["role"] == "production"

    def shadow_errors() -> float:
        text = c.get("/metrics").text
        return sum(
            s.value
            for fam in text_string_to_metric_families(text)
            if fam.name == "aims_shadow_errors"
            for s in fam.samples
            if s.labels.get("model") == "shadowed" and s.name.endswith("_total")
        )

    assert wait_until(lambda: shadow_errors() == 40, timeout=5)
    flush(stack)
    logged = log_of(stack["ws"], "shadowed")
    assert logged["role"].to_list() == ["production"] * 40


def test_shadow_outputs_are_logged_never_returned(stack) -> None:
    c = stack["client"]
    ids = []
    for rec in tiny_records(10, seed=4):
        body = c.post("/v1/models/mirrored/predict", json={"records": [rec]}).json()
        assert body["version"] == 1
        ids.append(body["predictions"][0]["prediction_id"])

    def logged() -> list[pl.DataFrame]:
        flush(stack)
        frame = log_of(stack["ws"], "mirrored")
        return [frame] if frame.height == 20 else []

    (frame,) = wait_until(logged, timeout=5)
    shadow = frame.filter(pl.col("role") == "shadow")
    assert shadow["version"].unique().to_list() == [2] and shadow.height == 10
    assert set(frame.filter(pl.col("role") == "production")["prediction_id"]) == set(ids)
    assert not set(shadow["prediction_id"]) & set(ids)
    # Both rows of a request share its request id.
    assert set(shadow["request_id"]) == set(
        frame.filter(pl.col("role") == "production")["request_id"]
    )


def test_rollback_during_a_stream_fails_no_request(stack) -> None:
    ws, c = stack["ws"], stack["client"]
    assert c.get("/v1/models/rolled").json()["versions"][0]["version"] == 2
    # (sent, answered, status, version) per stream; each waits on what the
    # streams have seen, never on the clock alone, so a slow machine changes
    # how long the test takes, not what it sees.
    results: list[list[tuple[float, float, int, int | None]]] = [[], [], []]
    stop = threading.Event()

    def stream(seed: int) -> None:
        recs = tiny_records(200, seed)
        with httpx.Client(base_url=stack["url"], headers=c.headers, timeout=30) as own:
            i = 0
            while not stop.is_set():
                sent = time.monotonic()
                r = own.post("/v1/models/rolled/predict", json={"records": [recs[i % 200]]})
                version = r.json().get("version") if r.status_code == 200 else None
                results[seed].append((sent, time.monotonic(), r.status_code, version))
                i += 1

    def answers() -> list[tuple[float, float, int, int | None]]:
        return [a for own in results for a in list(own)]

    threads = [threading.Thread(target=stream, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: all(len(own) >= 3 for own in results), timeout=60)
        rolling = time.monotonic()
        lifecycle.rollback(ws, "rolled", actor=ACTOR, reason="test")
        # The server picks the rollback up at a poll of the store (every 0.2 s).
        switched = wait_until(
            lambda: min((done for _, done, _, v in answers() if v == 1), default=None),
            timeout=30,
        )
        wait_until(
            lambda: all(sum(sent > switched for sent, *_ in own) >= 5 for own in results),
            timeout=60,
        )
    finally:
        stop.set()
        for t in threads:
            t.join()
    every = answers()
    assert [a for a in every if a[2] != 200] == []
    before = {v for _, done, _, v in every if done < rolling}
    after = {v for sent, _, _, v in every if sent > switched}
    assert before == {2} and after == {1}


# -- prediction log, labels ------------------------------------------------------


def test_clean_shutdown_leaves_exactly_the_acknowledged_predictions(stack) -> None:
    from aims.server.app import create_app

    ws = stack["ws"]
    app = create_app(ws, config=dataclasses.replace(CONFIG, flush_interval=30.0))
    acked: list[str] = []
    with LiveServer(app) as server:
        token = mint(ws, "alpha", "predictor")
        with httpx.Client(base_url=server.url, headers=bearer(token), timeout=30) as own:
            for i in range(30):
                recs = tiny_records(1 + i % 4, seed=100 + i)
                r = own.post("/v1/models/logged/predict", json={"records": recs})
                acked += [p["prediction_id"] for p in r.json()["predictions"]]
        # A 30 s flush window: nothing is written before the shutdown flush.
        assert log_of(ws, "logged").height == 0
    logged = log_of(ws, "logged")
    assert sorted(logged["prediction_id"].to_list()) == sorted(acked)
    assert logged["prediction_id"].n_unique() == logged.height
    assert set(logged.columns) >= {"x1", "x2", "latency_ms", "proba", "score", "ts", "version"}


def test_labels_attach_by_prediction_id_and_by_hashed_business_key(stack, cancer_frame) -> None:
    c = stack["client"]
    records = (
        cancer_frame.drop("target")
        .head(5)
        .with_columns(pl.format("patient-{}", pl.int_range(pl.len())).alias("patient_id"))
        .to_dicts()
    )
    body = c.post("/v1/models/keyed/predict", json={"records": records}).json()
    ids = [p["prediction_id"] for p in body["predictions"]]
    # Match counts are shown to callers who may read the log (scientist and up).
    scientist = bearer(mint(stack["ws"], "alpha", "scientist"))
    by_id = c.post(
        "/v1/labels",
        headers=scientist,
        json={
            "model": "keyed",
            "labels": [
                {"prediction_id": ids[0], "label": 1},
                {"prediction_id": "not-a-prediction", "label": 0},
            ],
        },
    )
    assert by_id.status_code == 200, by_id.text
    assert (by_id.json()["matched"], by_id.json()["unknown"]) == (1, 1)
    assert by_id.json()["unknown_examples"] == ["not-a-prediction"]
    by_key = c.post(
        "/v1/labels",
        headers=scientist,
        json={"model": "keyed", "by": "key", "labels": [{"key": "patient-3", "label": 0}]},
    )
    assert by_key.json()["matched"] == 1, by_key.text

    from aims.storage.predlog import LabelStore

    ws = stack["ws"]
    joined = LabelStore(ws.settings.prediction_log_url).scan_labelled("keyed").collect()
    labels = dict(zip(joined["prediction_id"], joined["label"], strict=True))
    assert labels[ids[0]] == "1" and labels[ids[3]] == "0" and labels[ids[1]] is None
    # The business key is personal data: only its keyed hash is in the log.
    assert "patient-3" not in joined["key"].to_list()
    assert "patient-3" not in joined["patient_id"].to_list()
    assert joined.filter(pl.col("prediction_id") == ids[3])["key"].str.len_chars().item() == 32
    missing = c.post("/v1/labels", json={"model": "keyed", "labels": [{"label": 1}]})
    assert _error(missing)[2] == {("prediction_id", "missing")}


# -- metrics -------------------------------------------------------------------


def test_metrics_parse_and_count_what_happened(stack) -> None:
    c = stack["client"]
    recs = tiny_records(7, seed=9)
    c.post("/v1/models/tiny/predict", json={"records": recs, "routing_key": "metrics-probe"})
    c.post("/v1/models/tiny/predict", json={"records": [{"x1": "a", "x2": 0.0}]})
    c.post("/v1/models/tiny/predict", json={"records": [{"x1": 1e9, "x2": 0.0}]})
    text = c.get("/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name in (
        "aims_requests",
        "aims_request_latency_seconds",
        "aims_prediction_score",
        "aims_predicted_class",
        "aims_rejected_inputs",
        "aims_served_version_info",
    ):
        assert name in families, name

    def samples(name: str, suffix: str = "", **labels: str) -> list[Any]:
        return [
            s
            for s in families[name].samples
            if s.name == name + suffix and all(s.labels.get(k) == v for k, v in labels.items())
        ]

    ok = sum(s.value for s in samples("aims_requests", "_total", model="tiny", status="200"))
    latency_count = sum(
        s.value for s in samples("aims_request_latency_seconds", "_count", model="tiny")
    )
    assert ok == latency_count and ok >= 1
    scores = sum(s.value for s in samples("aims_prediction_score", "_count", model="tiny"))
    classes = sum(s.value for s in samples("aims_predicted_class", "_total", model="tiny"))
    assert scores == classes >= 7
    assert samples("aims_rejected_inputs", "_total", model="tiny", rule="range")
    assert samples("aims_rejected_inputs", "_total", model="tiny", rule="type")
    served = {
        (s.labels["model"], s.labels["version"], s.labels["role"])
        for s in samples("aims_served_version_info")
    }
    assert {("shadowed", "1", "production"), ("shadowed", "2", "shadow")} <= served
    assert not any(m == "other" for m, _, _ in served)  # another project's model is hidden


def test_openapi_documents_every_route_with_its_role(stack) -> None:
    from aims.server.app import PUBLIC_PATHS
    from aims.server.route_roles import api_routes, route_role
    from aims.server.schemas import PredictResponse

    doc = stack["client"].get("/openapi.json").json()
    predict = doc["paths"]["/v1/models/{name}/predict"]["post"]
    schema = predict["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == {"records", "columns", "routing_key"}
    assert {"200", "400", "401", "403", "404", "413", "422", "429"} <= set(predict["responses"])
    assert predict["x-aims-role"] == "predictor"
    checked = 0
    for route in api_routes(stack["app"]):
        if route.path in PUBLIC_PATHS:
            continue
        checked += 1
        for method in route.methods:
            assert doc["paths"][route.path][method.lower()]["x-aims-role"] == route_role(route)
    # The prediction API's five routes at least; the governance API's are checked too.
    assert checked >= 5
    real = stack["client"].post("/v1/models/tiny/predict", json={"records": tiny_records(2)})
    PredictResponse.model_validate(real.json())


def test_health_routes_need_no_token(stack) -> None:
    with httpx.Client(base_url=stack["url"]) as anonymous:
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        assert anonymous.get("/readyz").json() == {"status": "ready"}
        assert anonymous.get("/v1/models").status_code == 401


def test_prediction_log_files_live_under_the_workspace(stack, cancer_frame) -> None:
    rows = cancer_frame.drop("target").head(3).to_dicts()
    assert stack["client"].post("/v1/models/cancer/predict", json={"records": rows}).is_success
    flush(stack)
    root = Path(stack["ws"].settings.prediction_log_url)
    assert root.is_relative_to(stack["ws"].root)
    assert any(root.glob("model=cancer/version=1/hour=*/part-*.parquet"))


def test_the_server_collects_garbage_less_often_while_it_runs_and_restores_the_thresholds(
    tmp_path: Path,
) -> None:
    import gc

    from aims.server.app import create_app
    from aims.server.collector import GC_THRESHOLD

    original = gc.get_threshold()  # another server of this module may be running
    mine = (1234, 11, 12)
    gc.set_threshold(*mine)
    try:
        ws = new_workspace(tmp_path / "ws")
        keys.create_key(ws, project="alpha", role="predictor", actor=ACTOR)
        with LiveServer(create_app(ws, config=CONFIG)) as server:
            assert httpx.get(f"{server.url}/healthz", timeout=30).status_code == 200
            running = gc.get_threshold()
        ws.close()
        after = gc.get_threshold()
    finally:
        gc.set_threshold(*original)
    assert running == GC_THRESHOLD
    assert after == mine
