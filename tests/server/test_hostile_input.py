"""Hostile bodies against a real server: every one is a 4xx problem, none is acknowledged
unlogged, and the server stays ready.

Each test sends hostile requests and a good one on the same connection, then
checks that the prediction log holds exactly the predictions the server
acknowledged (over the whole module), so a refusal that still queued
something, or an acknowledgement that was never logged, fails.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from aims.server.config import ServerConfig
from aims.storage.predlog import PredictionLogReader
from tests.server.conftest import LiveServer, bearer, mint
from tests.server.hostile import MODEL, api_keys, good_record, shop_workspace

CONFIG = ServerConfig(
    max_body_bytes=1_000_000,
    max_label_body_bytes=1_000_000,
    max_records=1000,
    rate_limit=1e6,
    rate_burst=1e6,
    flush_interval=0.5,
    poll_interval=0.2,
)
SURROGATE = "\udc00"
PREDICT = f"/v1/models/{MODEL}/predict"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from aims.server.app import create_app

    folder = tmp_path_factory.mktemp("hostile")
    ws = shop_workspace(folder)
    keys = api_keys(ws)
    app = create_app(ws, config=CONFIG)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        token = client.post("/v1/auth/token", json={"api_key": keys["predictor"]}).json()
        client.headers.update(bearer(token["access_token"]))
        yield SimpleNamespace(app=app, ws=ws, client=client, acknowledged=[])


def send(server: Any, path: str, body: Any) -> httpx.Response:
    """POST ``body`` (raw bytes, or an object encoded with its surrogates as escapes)."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return server.client.post(path, content=content, headers={"Content-Type": "application/json"})


def predict_good(server: Any) -> None:
    r = send(server, PREDICT, {"records": [good_record(1), good_record(2)]})
    assert r.status_code == 200, r.text
    server.acknowledged += [p["prediction_id"] for p in r.json()["predictions"]]


def assert_problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers.get("connection") != "close"
    body = r.json()
    assert {"type", "title", "status", "detail", "instance"} <= set(body)
    assert body["status"] == status and body["type"] == f"urn:aims:problem:{body['code']}"
    return body


def assert_log_is_exactly_acknowledged(server: Any) -> None:
    server.app.state.aims.writer.flush()
    log = PredictionLogReader(server.ws.settings.prediction_log_url).scan(MODEL).collect()
    ids = log["prediction_id"].to_list()
    assert sorted(ids) == sorted(server.acknowledged)
    assert server.client.get("/readyz").status_code == 200


def with_record(**fields: Any) -> dict[str, Any]:
    return {"records": [good_record(), {**good_record(), **fields}]}


# -- item 1: text the log cannot store, in every string a request carries ----------


@pytest.mark.parametrize(
    ("body", "row", "field"),
    [
        (with_record(name="Ana" + SURROGATE), 1, "name"),
        (with_record(email=SURROGATE + "@example.org"), 1, "email"),  # hashed
        (with_record(customer="\ud800"), 1, "customer"),  # business key
        (with_record(extra="\udfff"), 1, "extra"),  # no rule at all
        (with_record(**{"x\udc00": 1}), 1, "x\\udc00"),  # a field name
        ({"records": [good_record()], "routing_key": SURROGATE}, None, "routing_key"),
        ({"columns": {"x1": [1.0], "x2": [2.0], "name": [SURROGATE]}}, 0, "name"),
    ],
    ids=["feature", "hashed", "key", "untyped", "field-name", "routing-key", "columns"],
)
def test_text_that_cannot_be_stored_is_refused_naming_the_field(server, body, row, field) -> None:
    problem = assert_problem(send(server, PREDICT, body), 422)
    assert [(e["row"], e["field"], e["rule"]) for e in problem["errors"]] == [
        (row, field, "encoding")
    ]
    predict_good(server)
    assert_log_is_exactly_acknowledged(server)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ([1, 2], "a list"),
        ({"a": 1}, "a dict"),
        (2**70, "64-bit"),
        ("x" * 70_000, "longer than"),
    ],
    ids=["list", "object", "huge-int", "long-text"],
)
def test_values_the_log_cannot_store_are_refused_before_the_answer(server, value, problem) -> None:
    """The untyped field passes the contract: the log writer's own check refuses it."""
    body = assert_problem(send(server, PREDICT, with_record(extra=value)), 422)
    assert [(e["row"], e["field"], e["rule"]) for e in body["errors"]] == [(1, "extra", "storable")]
    assert problem in body["errors"][0]["message"]
    predict_good(server)
    assert_log_is_exactly_acknowledged(server)


def test_personal_data_values_are_never_echoed(server) -> None:
    secret = "someone.private@example.org" + "x" * 60
    body = assert_problem(send(server, PREDICT, with_record(email=secret, x1="not a number")), 422)
    text = json.dumps(body)
    assert "someone.private" not in text and "not a number" in text
    assert {(e["field"], e["rule"]) for e in body["errors"]} == {
        ("email", "length"),
        ("x1", "type"),
    }


# -- item 2: malformed bodies are 4xx problems on every JSON route -------------------

MALFORMED = {
    "huge-int": (b'{"records": [{"x1": ' + b"9" * 5000 + b"}]}", 400),
    "deep": (b"[" * 200_000, 400),
    "deep-object": (b'{"a":' * 100_000, 400),
    "not-utf8": (b'{"records": [{"name": "\xff"}]}', 400),
    "truncated": (b'{"records": [', 400),
    "not-an-object": (b"[1, 2]", 422),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
@pytest.mark.parametrize("path", [PREDICT, "/v1/labels"])
def test_malformed_bodies_are_problems_and_keep_the_connection(server, path, case) -> None:
    raw, status = MALFORMED[case]
    assert_problem(send(server, path, raw), status)
    predict_good(server)  # the same keep-alive connection still answers
    assert_log_is_exactly_acknowledged(server)


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"prediction_id": "p", "label": [1, 2]}, "labels.0.label"),
        ({"prediction_id": "p", "label": {"a": 1}}, "labels.0.label"),
        ({"prediction_id": "p", "label": SURROGATE}, "labels.0.label"),
        ({"prediction_id": "p", "label": float("nan")}, "labels.0.label"),
        ({"prediction_id": "p", "label": 10**30}, "labels.0.label"),
        ({"prediction_id": SURROGATE, "label": 1}, "labels.0.prediction_id"),
        ({"key": "a" + SURROGATE, "label": 1}, "labels.0.key"),
    ],
    ids=["list", "object", "surrogate", "nan", "huge-int", "surrogate-id", "surrogate-key"],
)
def test_labels_that_cannot_be_stored_are_refused_naming_the_field(server, item, field) -> None:
    by = "key" if "key" in item else "prediction_id"
    body = {"model": MODEL, "by": by, "labels": [item]}
    problem = assert_problem(send(server, "/v1/labels", body), 422)
    # Pydantic refuses lone surrogates in text fields itself (string_unicode).
    assert [e["field"] for e in problem["errors"]] == [field]
    assert problem["errors"][0]["rule"] in ("value_error", "string_unicode")


@pytest.mark.parametrize(
    "body",
    [
        {"model": SURROGATE, "labels": [{"prediction_id": "p", "label": 1}]},
        {"model": [MODEL], "labels": [{"prediction_id": "p", "label": 1}]},
        {"model": MODEL, "labels": []},
    ],
    ids=["surrogate-model", "list-model", "no-labels"],
)
def test_bad_label_batches_are_refused(server, body) -> None:
    assert_problem(send(server, "/v1/labels", body), 422)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"api_key": SURROGATE}, 422),
        ({"api_key": ["aims.k.x"]}, 422),
        (b"[" * 30_000, 400),
        (b'{"api_key": ' + b"1" * 5000 + b"}", 400),
    ],
    ids=["surrogate", "list", "deep", "huge-int"],
)
def test_token_exchange_refuses_malformed_bodies(server, body, status) -> None:
    r = httpx.post(
        str(server.client.base_url) + "/v1/auth/token",
        content=body if isinstance(body, bytes) else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert_problem(r, status)


def test_a_refused_row_is_never_queued_and_readiness_and_metrics_stay_clean(server) -> None:
    for value in ([1], SURROGATE, 2**64):
        send(server, PREDICT, with_record(extra=value))
    predict_good(server)
    assert_log_is_exactly_acknowledged(server)
    # Server-wide series are shown to a token of every project.
    everyone = bearer(mint(server.ws, "*", "viewer"))
    metrics = server.client.get("/metrics", headers=everyone).text
    assert "aims_prediction_log_dropped_rows_total 0.0" in metrics
    assert 'aims_rejected_inputs_total{model="shop",rule="storable"}' in metrics


def test_unknown_routes_and_methods_are_problems(server) -> None:
    assert_problem(server.client.get("/v1/nothing-here"), 404)
    assert_problem(server.client.put("/v1/labels", json={}), 405)
