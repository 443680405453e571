"""Fixtures for the server: workspaces with served models and a real server on a loopback port."""

from __future__ import annotations

import pickle
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import polars as pl
import pytest

from tests.conftest import use_open_policy

OWNERS = {"deployment": "dep@x.org", "monitoring": "mon@x.org"}
ACTOR = "ana@x.org"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """A uvicorn server running ``app`` in a thread on a free loopback port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        from aims.server.http_protocol import protocol_class

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # As 'aims serve' runs it: forwarding headers are the app's business
        # (server.trusted_proxies), not believed by uvicorn from loopback.
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            proxy_headers=False,
            http=protocol_class(),
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(60)

    def __exit__(self, *exc: object) -> None:
        self.stop()


def new_workspace(root: Path):
    from aims.workspace import Workspace, init_workspace

    init_workspace(root)
    use_open_policy(root)
    return Workspace.open(root)


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two features, two cheap numpy-fitted classifiers and a contract for them.

    Cheap models keep tests that send thousands of requests fast.
    """
    from sklearn.linear_model import LogisticRegression
    from skops.io import dump

    from aims.core.contract import infer_contract, write_contract

    folder = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(7)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    data = folder / "tiny.parquet"
    pl.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "y": y}).write_parquet(data)
    dump(LogisticRegression().fit(x, y), folder / "tiny_v1.skops")
    dump(LogisticRegression(C=0.001).fit(x, -y + 1), folder / "tiny_v2.skops")
    contract = infer_contract(data, name="tiny", margin=0.9, range_severity="error").restrict(
        ["x1", "x2"]
    )
    write_contract(contract, folder / "tiny.odcs.yaml")
    return {
        "data": data,
        "model": folder / "tiny_v1.skops",
        "model2": folder / "tiny_v2.skops",
        "contract": folder / "tiny.odcs.yaml",
        "x": x,
    }


def register_tiny(ws: Any, files: dict[str, Path], name: str, *models: str) -> None:
    """Register ``files[m]`` for each ``m`` in ``models`` as versions 1, 2, ... of ``name``."""
    from aims.services import registry

    registry.register_dataset(ws, files["data"], "tiny", actor=ACTOR)
    for key in models:
        registry.register_model(
            ws,
            files[key],
            name,
            actor=ACTOR,
            datasets=["tiny@1"],
            owners=OWNERS,
            contract_path=files["contract"],
        )


def register_exploding(
    ws: Any,
    folder: Path,
    name: str,
    dataset: str,
    features: list[str],
    contract: Path | None = None,
) -> int:
    """Register a model that raises on every prediction; returns its version."""
    from aims.services import registry
    from tests.server.models import Exploding

    path = folder / f"{name}-exploding.pkl"
    path.write_bytes(pickle.dumps(Exploding(features)))
    out = registry.register_model(
        ws,
        path,
        name,
        actor=ACTOR,
        datasets=[dataset],
        owners=OWNERS,
        trust=True,
        contract_path=contract,
    )
    return int(out["version"])


def mint(
    ws: Any,
    project: str,
    role: str,
    *,
    ttl: float = 900.0,
    now: float | None = None,
    key_id: str = "k000000000000",
) -> str:
    """A token signed with the workspace's server secret, as the token route would issue."""
    from aims.server.auth import TokenIssuer
    from aims.server.config import token_secret

    issuer = TokenIssuer(token_secret(ws), ttl)
    token, _ = issuer.issue({"key_id": key_id, "project": project, "role": role}, now=now)
    return token


def run_coroutine(main: Any) -> Any:
    """Run the coroutine function ``main`` to its end in a thread of its own.

    A browser test's driver, run earlier by the same worker, may leave an event
    loop running in this thread, where ``asyncio.run`` and ``anyio.run`` refuse
    to start another.
    """
    import anyio

    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = anyio.run(main)
        except BaseException as exc:  # re-raised in the caller's thread
            out["error"] = exc

    thread = threading.Thread(target=run, name="test-coroutine")
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out.get("value")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_until(check: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        time.sleep(interval)


@pytest.fixture
def client_factory() -> Iterator[Any]:
    clients: list[httpx.Client] = []

    def make(url: str, **kw: Any) -> httpx.Client:
        c = httpx.Client(base_url=url, timeout=30, **kw)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()
