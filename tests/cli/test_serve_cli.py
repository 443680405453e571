"""``aims serve`` as a real process; ``aims keys``, ``aims log query`` and ``aims labels ingest``
through the entry point run in the test process (:mod:`tests.cli.in_process`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from tests.cli.in_process import run_in_process
from tests.conftest import use_open_policy

AIMS = [sys.executable, "-m", "aims"]
OWNERS = {"deployment": "d@x.org", "monitoring": "m@x.org"}


def run(args: list[str], root: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "AIMS_USER": "ops@x.org"}
    return subprocess.run(
        [*AIMS, "-w", str(root), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli(args: list[str], root: Path) -> subprocess.CompletedProcess[str]:
    """``aims -w ROOT ARGS`` as ``run`` gives it, the entry point run in this process."""
    return run_in_process(["-w", str(root), *args], root, {"AIMS_USER": "ops@x.org"})


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_workspace(root: Path, cancer_files: dict[str, Path]) -> None:
    from aims.services import lifecycle, registry
    from aims.workspace import Workspace, init_workspace

    init_workspace(root)
    use_open_policy(root)
    ws = Workspace.open(root)
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor="ana@x.org")
    registry.register_model(
        ws, cancer_files["model"], "cancer", actor="ana@x.org", datasets=["cancer@1"], owners=OWNERS
    )
    lifecycle.promote(ws, "cancer@1", "production", actor="ana@x.org")
    ws.close()


class ServeProcess:
    """``aims serve`` in its own process, and a client that records what it acknowledged."""

    def __init__(self, root: Path, api_key: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "AIMS_USER": "ops@x.org"}
        self.errors = root.parent / f"serve-{self.port}.err"
        with self.errors.open("w") as err:
            self.proc = subprocess.Popen(
                [
                    *AIMS,
                    "-w",
                    str(root),
                    "serve",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"aims serve exited: {self.errors.read_text()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError("aims serve did not become ready")
            time.sleep(0.1)
        token = httpx.post(f"{self.url}/v1/auth/token", json={"api_key": api_key}).json()
        self.headers = {"Authorization": f"Bearer {token['access_token']}"}
        self.acked: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def stream(self, records: list[dict[str, Any]], clients: int = 2) -> None:
        def loop(offset: int) -> None:
            with httpx.Client(base_url=self.url, headers=self.headers, timeout=10) as c:
                i = offset
                while not self._stop.is_set():
                    try:
                        r = c.post(
                            "/v1/models/cancer/predict",
                            json={"records": [records[i % len(records)]]},
                        )
                    except httpx.HTTPError:
                        return  # the server is gone
                    if r.status_code == 200:
                        now = time.monotonic()
                        self.acked += [(now, p["prediction_id"]) for p in r.json()["predictions"]]
                    i += clients

        self._threads = [threading.Thread(target=loop, args=(k,)) for k in range(clients)]
        for t in self._threads:
            t.start()

    def wait_for_acks(self, more_than: int, older_than: float, timeout: float = 120) -> None:
        """Poll until more than ``more_than`` acknowledgements are ``older_than`` seconds old.

        A condition rather than a fixed sleep: as short as the server allows when the
        machine is idle, as long as it takes when it is busy.
        """
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            if sum(1 for ts, _ in list(self.acked) if ts < now - older_than) > more_than:
                return
            if now > deadline:
                raise AssertionError(
                    f"{len(self.acked)} acknowledged in {timeout} s; wanted more than "
                    f"{more_than} older than {older_than} s"
                )
            time.sleep(0.05)

    def stop_streaming(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, cancer_files) -> Path:
    path = tmp_path_factory.mktemp("serve") / "ws"
    make_workspace(path, cancer_files)
    return path


def test_serve_refuses_to_start_without_an_api_key(root: Path) -> None:
    out = run(["serve", "--port", str(free_port())], root)
    assert out.returncode == 1
    assert "no active API key" in out.stderr and "aims keys create" in out.stderr


@pytest.mark.slow
def test_keys_are_created_listed_and_revoked(root: Path) -> None:
    out = cli(
        ["keys", "create", "-p", "default", "-r", "viewer", "-n", "ci", "--format", "json"], root
    )
    assert out.returncode == 0, out.stderr
    created = json.loads(out.stdout)
    assert created["api_key"].startswith(f"aims.{created['key_id']}.")
    assert cli(["keys", "revoke", created["key_id"], "--reason", "test"], root).returncode == 0
    every = json.loads(cli(["keys", "list", "--all", "--format", "json"], root).stdout)
    mine = [k for k in every if k["key_id"] == created["key_id"]]
    assert mine[0]["status"] == "revoked" and mine[0]["name"] == "ci"
    assert "api_key" not in mine[0] and created["api_key"].split(".")[2] not in json.dumps(every)
    bad = cli(["keys", "create", "-p", "default", "-r", "root"], root)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "role 'root'" in bad.stderr


@pytest.fixture(scope="module")
def served_log(root: Path, cancer_frame) -> dict[str, Any]:
    """Serve, stream requests, stop with SIGTERM: what was acknowledged and the API key."""
    out = run(["keys", "create", "-p", "default", "-r", "predictor", "--format", "json"], root)
    api_key = json.loads(out.stdout)["api_key"]
    server = ServeProcess(root, api_key)
    server.stream(cancer_frame.drop("target").head(200).to_dicts())
    # Stream across at least one periodic flush (the default server.flush_interval, 1 s),
    # then until more than 20 predictions are acknowledged.
    server.wait_for_acks(0, older_than=1.0)
    server.wait_for_acks(20, older_than=0.0)
    server.stop_streaming()
    server.proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert server.proc.wait(60) in (0, -signal.SIGTERM)
    assert "Traceback" not in server.errors.read_text()
    return {"acked": [pid for _, pid in server.acked], "api_key": api_key}


@pytest.mark.slow
def test_clean_shutdown_logs_exactly_the_acknowledged_predictions(root, served_log) -> None:
    from aims.storage.predlog import PredictionLogReader
    from aims.workspace import Workspace

    ws = Workspace.open(root)
    logged = PredictionLogReader(ws.settings.prediction_log_url).scan("cancer").collect()
    ws.close()
    assert len(served_log["acked"]) > 20
    assert sorted(logged["prediction_id"].to_list()) == sorted(served_log["acked"])


@pytest.mark.slow
def test_log_query_and_labels_ingest(root: Path, served_log, tmp_path: Path) -> None:
    acked = served_log["acked"]
    out = cli(["log", "query", "cancer", "--since", "1h", "-n", "5", "--format", "json"], root)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["matched"] == len(acked) and len(data["rows"]) == 5
    stamps = [r["ts"] for r in data["rows"]]
    assert stamps == sorted(stamps, reverse=True)
    export = tmp_path / "log.parquet"
    assert cli(["log", "query", "cancer", "--out", str(export)], root).returncode == 0
    assert sorted(pl.read_parquet(export)["prediction_id"].to_list()) == sorted(acked)

    labels = tmp_path / "labels.csv"
    pl.DataFrame({"prediction_id": [*acked[:10], "unknown-id"], "truth": [1] * 11}).write_csv(
        labels
    )
    out = cli(
        [
            "labels",
            "ingest",
            str(labels),
            "--model",
            "cancer",
            "--label",
            "truth",
            "--format",
            "json",
        ],
        root,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert (result["matched"], result["unknown"]) == (10, 1)
    joined = cli(
        ["log", "query", "cancer", "--labels", "--limit", "1000", "--format", "json"], root
    )
    labelled = [r for r in json.loads(joined.stdout)["rows"] if r["label"] is not None]
    assert sorted(r["prediction_id"] for r in labelled) == sorted(acked[:10])


@pytest.mark.slow
def test_kill_9_loses_at_most_one_flush_window(root: Path, served_log, cancer_frame) -> None:
    from aims.storage.predlog import PredictionLogReader
    from aims.workspace import Workspace

    server = ServeProcess(root, served_log["api_key"])
    window = 1.0  # the default server.flush_interval
    server.stream(cancer_frame.drop("target").head(200).to_dicts())
    # Kill once more than 20 acknowledgements are a flush window old: those must be durable.
    server.wait_for_acks(20, older_than=window)
    os.kill(server.proc.pid, signal.SIGKILL)
    killed = time.monotonic()
    server.proc.wait(30)
    server.stop_streaming()
    durable = {pid for ts, pid in server.acked if ts < killed - window}
    assert len(durable) > 20
    ws = Workspace.open(root)
    logged = set(
        PredictionLogReader(ws.settings.prediction_log_url)
        .scan("cancer")
        .collect()["prediction_id"]
        .to_list()
    )
    ws.close()
    assert durable <= logged
    # Beyond what was acknowledged, at most the requests in flight at the kill
    # (one per client) were logged.
    answered = {pid for _, pid in server.acked} | set(served_log["acked"])
    assert len(logged - answered) <= 2
