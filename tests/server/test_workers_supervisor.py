"""The supervisor of ``aims serve --workers``, running small worker bodies in real processes.

The worker bodies below stand in for the server (which ``test_workers.py``
runs for real): they start in a fraction of a second, so the supervisor's
restart limit and its stop can be checked without loading a server each time.
They live at module level because a spawned process imports them by name.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from aims.errors import AimsError, ConfigError
from aims.server.workers import START_ATTEMPTS, Supervisor, WorkerSpec, listen


def _note(spec: WorkerSpec, name: str) -> None:
    with (Path(spec.metrics_dir) / name).open("a") as f:
        f.write("x")


def serves_once_then_cannot_start(
    spec: WorkerSpec, worker: int, sock: socket.socket, conn: Connection
) -> None:
    """The first start serves, then crashes; every later start fails before serving."""
    first = not (Path(spec.metrics_dir) / f"starts-{worker}").exists()
    _note(spec, f"starts-{worker}")
    if first:
        conn.send(("ready", os.getpid()))
        time.sleep(0.5)
    os._exit(1)


def refuses_to_start(spec: WorkerSpec, worker: int, sock: socket.socket, conn: Connection) -> None:
    """A worker whose settings are wrong: it says why and exits."""
    _note(spec, f"starts-{worker}")
    conn.send(("failed", ConfigError("server.max_records is -1; give a positive number")))
    os._exit(3)


def serves_until_stopped(
    spec: WorkerSpec, worker: int, sock: socket.socket, conn: Connection
) -> None:
    """Serve until SIGTERM, then note the graceful stop."""
    stop = threading.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    conn.send(("ready", os.getpid()))
    _note(spec, f"ready-{worker}")
    stop.wait(60)
    _note(spec, f"stopped-{worker}")


@pytest.fixture
def sock():
    s = listen("127.0.0.1", 0)
    yield s
    s.close()


def test_a_worker_that_cannot_start_again_is_given_up_after_the_limit(
    tmp_path: Path, sock: socket.socket
) -> None:
    spec = WorkerSpec(workspace="", metrics_dir=str(tmp_path))
    with pytest.raises(AimsError, match="worker 0 exited with code 1 before it served"):
        Supervisor(spec, 1, sock, target=serves_once_then_cannot_start).run()
    # One start that served, then START_ATTEMPTS failed ones, and no more.
    assert (tmp_path / "starts-0").read_text() == "x" * (1 + START_ATTEMPTS)


def test_a_worker_that_cannot_start_at_first_stops_everything_with_its_message(
    tmp_path: Path, sock: socket.socket
) -> None:
    spec = WorkerSpec(workspace="", metrics_dir=str(tmp_path))
    with pytest.raises(ConfigError, match=r"server\.max_records is -1"):
        Supervisor(spec, 2, sock, target=refuses_to_start).run()
    # Each worker started at most once: a refusal at the first start is not retried.
    starts = [p.read_text() for p in tmp_path.glob("starts-*")]
    assert starts and all(s == "x" for s in starts)


def test_a_signal_stops_every_worker_gracefully(tmp_path: Path, sock: socket.socket) -> None:
    spec = WorkerSpec(workspace="", metrics_dir=str(tmp_path))

    def stop_when_ready() -> None:
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready-{k}").exists() for k in (0, 1)):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)  # to the supervisor, as a service manager would

    threading.Thread(target=stop_when_ready, daemon=True).start()
    Supervisor(spec, 2, sock, target=serves_until_stopped).run()
    assert all((tmp_path / f"stopped-{k}").read_text() == "x" for k in (0, 1))
