"""A real MLflow tracking server (SQLite backend, loopback) with models logged through MLflow's client.

Also an ``mlruns`` folder holding the same kind of registry, logged through the
client's file store, and that folder migrated into a database by MLflow's own
``mlflow migrate-filestore``: the same registry in two shapes, run ids and
files included.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("mlflow_logging.py")
BIN = Path(sys.executable).parent
START_TIMEOUT = 180.0


@dataclass(frozen=True)
class MlflowWorld:
    url: str
    db: Path
    artifacts: Path
    logged: list[dict]
    mlruns: Path
    migrated: Path
    mlruns_logged: list[dict]
    data: Path
    """The training data as Parquet, with MLflow's column names, for evaluations."""
    seconds: float


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if server.poll() is not None:
            raise RuntimeError(f"mlflow server exited: {log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"mlflow server did not answer in {START_TIMEOUT}s")
        time.sleep(0.2)  # polling for readiness, not synchronising with a result


def _write_data(path: Path) -> None:
    import polars as pl
    from sklearn.datasets import load_breast_cancer

    pl.from_pandas(load_breast_cancer(as_frame=True).frame).write_parquet(path)


def start(folder: Path):  # -> Iterator[MlflowWorld]
    """Start the server and the file-store logging side by side; yield; stop the server."""
    began = time.monotonic()
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true", "PYTHONWARNINGS": "ignore"}
    db, artifacts, mlruns = folder / "mlflow.db", folder / "artifacts", folder / "mlruns"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                str(BIN / "mlflow"),
                "server",
                "--backend-store-uri",
                f"sqlite:///{db}",
                "--artifacts-destination",
                str(artifacts),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=folder,
            # Its own process group: the server's workers stop with it.
            start_new_session=True,
        )
    file_log = subprocess.Popen(
        [sys.executable, str(SCRIPT), mlruns.as_uri(), str(folder / "mlruns.json")],
        env=env,
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    data = folder / "cancer.parquet"
    try:
        _write_data(data)
        _healthy(url, server, log)
        done = subprocess.run(
            [sys.executable, str(SCRIPT), url, str(folder / "server.json")],
            env=env,
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        output, _ = file_log.communicate(timeout=600)
        assert file_log.returncode == 0, output[-3000:]
        migrated = folder / "migrated.db"
        move = subprocess.run(
            [
                str(BIN / "mlflow"),
                "migrate-filestore",
                "--source",
                str(folder),
                "--target",
                f"sqlite:///{migrated}",
                "--no-progress",
            ],
            env=env,
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert move.returncode == 0, move.stdout[-2000:] + move.stderr[-3000:]
        yield MlflowWorld(
            url=url,
            db=db,
            artifacts=artifacts,
            logged=json.loads((folder / "server.json").read_text()),
            mlruns=mlruns,
            migrated=migrated,
            mlruns_logged=json.loads((folder / "mlruns.json").read_text()),
            data=data,
            seconds=time.monotonic() - began,
        )
    finally:
        if file_log.poll() is None:
            file_log.kill()
            file_log.wait()
        # The tests are done with it and nothing of it is kept: the whole group (the server,
        # its workers and job consumers) is killed at once rather than waited for through a
        # graceful stop, which took up to 15 s on a loaded machine.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()
