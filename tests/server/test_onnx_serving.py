"""``server.runtime: {NAME: onnx}``: a scikit-learn model served through its ONNX form.

One live server for the module serves the same fitted model twice, once as
itself and once through onnxruntime; over real HTTP both answer the training
rows alike.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import polars as pl
import pytest

from aims.flavours.onnx_conversion import DEFAULT_ATOL
from aims.server.config import ServerConfig
from aims.services import keys, lifecycle, registry
from tests.server.conftest import ACTOR, OWNERS, LiveServer, bearer, new_workspace

CONFIG = ServerConfig(
    rate_limit=1e6, rate_burst=1e6, poll_interval=0.2, runtime=(("converted", "onnx"),)
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, tiny_files):
    from aims.server.app import create_app

    folder: Path = tmp_path_factory.mktemp("onnx")
    ws = new_workspace(folder / "ws")
    registry.register_dataset(ws, tiny_files["data"], "tiny", actor=ACTOR)
    for name in ("native", "converted"):
        registry.register_model(
            ws,
            tiny_files["model"],
            name,
            actor=ACTOR,
            datasets=["tiny@1"],
            owners=OWNERS,
            contract_path=tiny_files["contract"],
        )
        lifecycle.promote(ws, f"{name}@1", "production", actor=ACTOR)
    _, api_key = keys.create_key(ws, project=ws.settings.project, role="predictor", actor=ACTOR)
    app = create_app(ws, config=CONFIG)
    with LiveServer(app) as server:
        token = httpx.post(f"{server.url}/v1/auth/token", json={"api_key": api_key}).json()
        yield {"url": server.url, "app": app, "auth": bearer(token["access_token"])}
    ws.close()


def test_the_onnx_form_answers_the_training_rows_as_the_model_does(served, tiny_files) -> None:
    from aims.flavours.onnx_flavour import OnnxModel
    from aims.flavours.sklearn_model import SklearnModel

    table = served["app"].state.aims.deployments.table
    assert isinstance(table.get("converted").production.loaded, OnnxModel)
    assert isinstance(table.get("native").production.loaded, SklearnModel)
    rows = pl.read_parquet(tiny_files["data"]).select("x1", "x2")
    body = {"columns": {c: rows[c].to_list() for c in rows.columns}}
    answers = {}
    with httpx.Client(base_url=served["url"], headers=served["auth"], timeout=60) as c:
        for name in ("native", "converted"):
            r = c.post(f"/v1/models/{name}/predict", json=body)
            assert r.status_code == 200, r.text
            answers[name] = r.json()
    native, converted = answers["native"]["predictions"], answers["converted"]["predictions"]
    assert len(native) == len(converted) == rows.height
    assert [p["prediction"] for p in converted] == [p["prediction"] for p in native]
    gap = np.abs(
        np.array([p["probabilities"] for p in converted])
        - np.array([p["probabilities"] for p in native])
    )
    assert gap.max() <= DEFAULT_ATOL
    assert answers["converted"]["classes"] == answers["native"]["classes"]


def test_the_onnx_form_refuses_what_the_contract_refuses(served) -> None:
    with httpx.Client(base_url=served["url"], headers=served["auth"], timeout=60) as c:
        r = c.post("/v1/models/converted/predict", json={"records": [{"x1": "a", "x2": 0.1}]})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "x1"


def test_an_unknown_runtime_is_refused_when_read() -> None:
    from aims.errors import ConfigError

    with pytest.raises(ConfigError, match="native or onnx"):
        ServerConfig.from_mapping({"runtime": {"churn": "tensorrt"}})
    config = ServerConfig.from_mapping({"runtime": {"churn": "onnx"}})
    assert (config.runtime_of("churn"), config.runtime_of("other")) == ("onnx", "native")
