"""POST /v1/labels over real HTTP: who sent each label, the batch audited, matches shown to log readers only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from aims.server.config import ServerConfig
from aims.services import audit, keys, labelling, lifecycle
from tests.server.conftest import LiveServer, bearer, mint, new_workspace, register_tiny

CONFIG = ServerConfig(rate_limit=1e6, rate_burst=1e6, flush_interval=0.2, poll_interval=0.2)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, tiny_files) -> Any:
    from aims.server.app import create_app

    ws = new_workspace(tmp_path_factory.mktemp("labels") / "ws")
    register_tiny(ws, tiny_files, "tiny", "model")
    lifecycle.promote(ws, "tiny@1", "production", actor="ana@x.org")
    keys.create_key(ws, project="default", role="predictor", actor="ana@x.org")
    with LiveServer(create_app(ws, config=CONFIG)) as server:
        yield ws, server.url


def _client(ws: Any, url: str, role: str, key_id: str) -> httpx.Client:
    token = mint(ws, "default", role, key_id=key_id)
    return httpx.Client(base_url=url, headers=bearer(token), timeout=30)


def test_a_predictor_key_is_attributed_audited_and_told_no_matches(served) -> None:
    ws, url = served
    with _client(ws, url, "predictor", "kpredictor0001") as c:
        records = [{"x1": 0.1, "x2": 0.2}, {"x1": 0.3, "x2": 0.4}]
        ids = [
            p["prediction_id"]
            for p in c.post("/v1/models/tiny/predict", json={"records": records}).json()[
                "predictions"
            ]
        ]
        labels = [
            {"prediction_id": ids[0], "label": 1},
            {"prediction_id": "never-made", "label": 0},
        ]
        answer = c.post("/v1/labels", json={"model": "tiny", "labels": labels})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["received"], body["accepted"]) == (2, 2)
    # Whether an id is in the log is not this key's to learn.
    assert [body[k] for k in ("matched", "unknown", "stored", "unknown_examples")] == [None] * 4
    event = audit.query(ws.db, audit.EventFilter(action="labels.ingested"))[-1]
    assert event["actor"] == "apikey:kpredictor0001"
    assert event["payload"]["batch"] == body["batch"] and event["payload"]["source"] == "api"
    assert event["payload"]["matched"] == 1  # the audit log knows
    history = labelling.label_history(ws, "tiny", [ids[0]], salt="unused")
    assert [(h["label"], h["labelled_by"], h["source"]) for h in history] == [
        ("1", "apikey:kpredictor0001", "api")
    ]


def test_a_scientist_sees_matches_and_an_overwrite_keeps_the_first_label(served) -> None:
    ws, url = served
    with _client(ws, url, "predictor", "kpredictor0002") as predictor:
        made = predictor.post("/v1/models/tiny/predict", json={"records": [{"x1": 1.0, "x2": 1.0}]})
        pid = made.json()["predictions"][0]["prediction_id"]
        predictor.post(
            "/v1/labels", json={"model": "tiny", "labels": [{"prediction_id": pid, "label": 0}]}
        )
    with _client(ws, url, "scientist", "kscientist001") as scientist:
        answer = scientist.post(
            "/v1/labels",
            json={
                "model": "tiny",
                "labels": [
                    {"prediction_id": pid, "label": 1},
                    {"prediction_id": "nope", "label": 1},
                ],
            },
        )
    body = answer.json()
    assert (body["matched"], body["unknown"], body["unknown_examples"]) == (1, 1, ["nope"])
    history = labelling.label_history(ws, "tiny", [pid], salt="unused")
    assert [(h["label"], h["labelled_by"]) for h in history] == [
        ("0", "apikey:kpredictor0002"),
        ("1", "apikey:kscientist001"),
    ]


@pytest.mark.parametrize(
    ("label", "field"),
    [([1, 2], "list"), ({"a": 1}, "object"), ("x" * 300, "300 characters")],
)
def test_labels_that_are_not_short_scalars_get_a_4xx(served, label: Any, field: str) -> None:
    ws, url = served
    before = len(audit.query(ws.db, audit.EventFilter(action="labels.ingested")))
    with _client(ws, url, "predictor", "kpredictor0003") as c:
        answer = c.post(
            "/v1/labels",
            json={"model": "tiny", "labels": [{"prediction_id": "p1", "label": label}]},
        )
    assert 400 <= answer.status_code < 500, answer.text
    assert len(audit.query(ws.db, audit.EventFilter(action="labels.ingested"))) == before
