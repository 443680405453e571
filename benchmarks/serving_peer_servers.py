#!/usr/bin/env python
"""The peers of ``benchmarks/serving_peers.py``, each run with its own environment's Python.

    venv-serving-<tool>/bin/python serving_peer_servers.py --tool TOOL --port N --folder F

Every peer serves the same model as aims: a StandardScaler + LogisticRegression
pipeline fitted on the breast-cancer data with the same settings (the fit
is deterministic, so each environment fits its own rather than unpickling
one from another scikit-learn). Each runs in its documented configuration
for throughput, with its adaptive batching on, and answers ``predict`` and
``predict_proba`` for the rows sent, as aims does. The process pins itself
(and so its worker processes) to CPU 0, like the aims servers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

MAX_BATCH = 32
MAX_WAIT_MS = 5


def fit():
    """The benchmark's pipeline, fitted as ``benchmarks/serving.py`` fits it."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = load_breast_cancer(return_X_y=True)
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y)


def mlserver(port: int, folder: Path) -> None:
    """MLServer's scikit-learn runtime with adaptive batching (max_batch_size/max_batch_time)."""
    import joblib

    model_dir = folder / "cancer"
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(fit(), model_dir / "model.joblib")
    (model_dir / "model-settings.json").write_text(
        json.dumps(
            {
                "name": "cancer",
                "implementation": "mlserver_sklearn.SKLearnModel",
                "max_batch_size": MAX_BATCH,
                "max_batch_time": MAX_WAIT_MS / 1000,
                "parameters": {"uri": "./model.joblib"},
            }
        )
    )
    (folder / "settings.json").write_text(
        json.dumps(
            {
                "http_port": port,
                "grpc_port": port + 1,
                "metrics_port": port + 2,
                "metrics_endpoint": None,
                # Inference in the server process: it is pinned to one core anyway
                # (and MLServer 1.7's worker pool fails to start on this Python).
                "parallel_workers": 0,
                "debug": False,
            }
        )
    )
    exe = Path(sys.executable).parent / "mlserver"
    os.execv(str(exe), [str(exe), "start", str(folder)])


BENTO_SERVICE = """
import bentoml
import numpy as np

import serving_peer_servers as peers


@bentoml.service(workers=1)
class Cancer:
    def __init__(self) -> None:
        self.model = peers.fit()

    @bentoml.api(batchable=True, max_batch_size=peers.MAX_BATCH, max_latency_ms=1000)
    def predict(self, x: np.ndarray) -> np.ndarray:
        proba = self.model.predict_proba(x)
        return np.column_stack([proba.argmax(axis=1), proba])
"""


def bentoml(port: int, folder: Path) -> None:
    """BentoML 1.x service with an adaptive-batching (``batchable``) API."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "service.py").write_text(BENTO_SERVICE)
    env = dict(os.environ, PYTHONPATH=f"{Path(__file__).parent}{os.pathsep}{folder}")
    exe = Path(sys.executable).parent / "bentoml"
    os.execve(
        str(exe),
        [str(exe), "serve", "service:Cancer", "--port", str(port), "--working-dir", str(folder)],
        env,
    )


try:  # only in the LitServe environment; its workers unpickle this module-level class
    import litserve as _ls
except ImportError:
    _ls = None

if _ls is not None:
    import numpy as np

    class CancerLit(_ls.LitAPI):
        """The pipeline behind LitServe's API, batching rows of concurrent requests."""

        def setup(self, device: str) -> None:
            self.model = fit()

        def decode_request(self, request: dict) -> np.ndarray:
            return np.asarray(request["x"], dtype=float)

        def batch(self, inputs: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(inputs)

        def predict(self, x: np.ndarray) -> np.ndarray:
            return self.model.predict_proba(x)

        def unbatch(self, output: np.ndarray) -> list[np.ndarray]:
            return [row[None, :] for row in output]

        def encode_response(self, proba: np.ndarray) -> dict:
            return {"predictions": proba.argmax(axis=1).tolist(), "probabilities": proba.tolist()}


def litserve(port: int, folder: Path) -> None:
    """LitServe with dynamic batching (``max_batch_size``, ``batch_timeout``)."""
    assert _ls is not None, "run with the LitServe environment's Python"
    try:
        api = CancerLit(max_batch_size=MAX_BATCH, batch_timeout=MAX_WAIT_MS / 1000)
        server = _ls.LitServer(api, accelerator="cpu", workers_per_device=1)
    except TypeError:  # litserve before 0.2.6 took the batch settings on the server
        server = _ls.LitServer(
            CancerLit(),
            accelerator="cpu",
            max_batch_size=MAX_BATCH,
            batch_timeout=MAX_WAIT_MS / 1000,
            workers_per_device=1,
        )
    server.run(port=port, log_level="warning", generate_client_file=False)


SERVERS = {"mlserver": mlserver, "bentoml": bentoml, "litserve": litserve}

REQUESTS = {
    "mlserver": (
        "/v2/models/cancer/infer",
        lambda row: {
            "inputs": [{"name": "x", "shape": [1, len(row)], "datatype": "FP64", "data": row}],
            "outputs": [{"name": "predict_proba"}],
        },
    ),
    "bentoml": ("/predict", lambda row: {"x": [row]}),
    "litserve": ("/predict", lambda row: {"x": [row]}),
}
"""Per tool: the path and the JSON body of a one-row request in its own protocol."""


def version(tool: str) -> str:
    """The installed version of ``tool`` in this environment."""
    from importlib.metadata import version as of

    return of(tool)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tool", choices=sorted(SERVERS), required=True)
    parser.add_argument("--port", type=int)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--version", action="store_true", help="Print the tool's version.")
    ns = parser.parse_args()
    if ns.version:
        print(version(ns.tool))
        sys.exit(0)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    SERVERS[ns.tool](ns.port, ns.folder)
