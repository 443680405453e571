"""``aims serve --workers 2`` as a real process tree, over real HTTP.

One server runs for the module. :func:`run` drives it through one scenario
(shadow, canary, a rollback under traffic, a worker killed with ``kill -9``,
then a graceful stop) and records what each step saw; the tests check the
records, so they hold in any order.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import psutil
import pytest
import yaml

from tests.conftest import use_open_policy
from tests.server.conftest import free_port

AIMS = [sys.executable, "-m", "aims"]
ACTOR = "ana@x.org"
OWNERS = {"deployment": "d@x.org", "monitoring": "m@x.org"}
POLL = 0.5
"""The server's poll interval (the default): the bound on taking up a rollback."""
LOAD_SLACK = 1.5
"""Seconds allowed on top of the poll interval to load the restored version's model
(the 2 s bound of promotions and rollbacks in docs/serving.md)."""


def _workspace(root: Path, cancer_files: dict[str, Path]) -> str:
    from aims.services import keys, lifecycle, registry
    from aims.workspace import Workspace, init_workspace

    init_workspace(root)
    use_open_policy(root)
    # The workers share one rate limit per key (200 requests/s by default): these tests
    # drive the server from several threads with one key, so the limit is lifted here
    # (tests/server/test_workers_shared.py checks the shared limit itself).
    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["server"] = {**(config.get("server") or {}), "rate_limit": 1e6, "rate_burst": 1e6}
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    ws = Workspace.open(root)
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor=ACTOR)
    for model in ("model", "model2"):
        registry.register_model(
            ws, cancer_files[model], "cancer", actor=ACTOR, datasets=["cancer@1"], owners=OWNERS
        )
    lifecycle.promote(ws, "cancer@1", "production", actor=ACTOR)
    lifecycle.promote(ws, "cancer@2", "shadow", actor=ACTOR)
    _, api_key = keys.create_key(ws, project="default", role="admin", actor=ACTOR)
    ws.close()
    return api_key


def _change(root: Path, action: str, *args: Any, **kwargs: Any) -> None:
    from aims.services import lifecycle
    from aims.workspace import Workspace

    ws = Workspace.open(root)
    try:
        getattr(lifecycle, action)(ws, *args, actor=ACTOR, **kwargs)
    finally:
        ws.close()


class Server:
    """``aims serve --workers 2`` in its own session (its process group is killed at the end)."""

    def __init__(self, root: Path, api_key: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.errors = root.parent / "serve.err"
        started = time.monotonic()
        with self.errors.open("w") as err:
            self.proc = subprocess.Popen(
                [*AIMS, "-w", str(root), "serve", "--workers", "2", "--port", str(self.port)],
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        self.wait_for(lambda: len(self.workers()) == 2 and self.ready(), "workers ready")
        self.startup_seconds = time.monotonic() - started
        token = httpx.post(f"{self.url}/v1/auth/token", json={"api_key": api_key}).json()
        self.headers = {"Authorization": f"Bearer {token['access_token']}"}

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def workers(self) -> list[int]:
        """Pids of the live worker processes (not multiprocessing's own helper)."""
        try:
            children = psutil.Process(self.proc.pid).children()
        except psutil.NoSuchProcess:
            return []
        return [c.pid for c in children if _spawned(c)]

    def wait_for(
        self, condition: Any, what: str, timeout: float = 120, pause: float = 0.05
    ) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None:
                raise RuntimeError(f"aims serve exited: {self.errors.read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}: {self.errors.read_text()}")
            time.sleep(pause)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)


def _spawned(process: psutil.Process) -> bool:
    """Whether ``process`` is a worker (multiprocessing's resource tracker is a child too)."""
    try:
        return "spawn_main" in " ".join(process.cmdline())
    except psutil.Error:
        return False


class Traffic:
    """Predict requests from several threads, each on a new connection (so both workers get some)."""

    def __init__(self, server: Server, records: list[dict[str, Any]]) -> None:
        self.server = server
        self.records = records
        self.answers: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self._lock = threading.Lock()

    def one(self, client: httpx.Client, routing_key: str | None = None) -> None:
        body: dict[str, Any] = {"records": [random.choice(self.records)]}
        sent = time.time()
        if routing_key is not None:
            body["routing_key"] = routing_key
        try:
            r = client.post("/v1/models/cancer/predict", json=body)
        except httpx.HTTPError as exc:
            with self._lock:
                self.failures.append(repr(exc))
            return
        with self._lock:
            if r.status_code != 200:
                self.failures.append(f"{r.status_code} {r.text[:200]}")
            else:
                self.answers.append({**r.json(), "sent": sent, "key": routing_key})

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.url,
            headers=self.server.headers,
            timeout=30,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def burst(self, keys: list[str | None], threads: int = 4) -> None:
        """One request per key, spread over ``threads`` threads."""

        def work(share: list[str | None]) -> None:
            with self.client() as c:
                for key in share:
                    self.one(c, key)

        pool = [threading.Thread(target=work, args=(keys[k::threads],)) for k in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join(120)

    def until(self, stop: threading.Event, threads: int = 3) -> list[threading.Thread]:
        """Keep requests going until ``stop`` is set."""

        def work() -> None:
            with self.client() as c:
                while not stop.is_set():
                    self.one(c)

        pool = [threading.Thread(target=work) for _ in range(threads)]
        for t in pool:
            t.start()
        return pool


def _log_rows(root: Path) -> pl.DataFrame:
    """Every logged row, with the worker whose file holds it."""
    frames = []
    for path in (root / ".aims").rglob("part-*.parquet"):
        worker = re.search(r"-w(\d+)-", path.name)
        version = re.search(r"version=(\d+)", str(path))
        frame = pl.read_parquet(path).select("prediction_id", "request_id", "role", "ts")
        frames.append(
            frame.with_columns(
                pl.lit(int(worker.group(1)) if worker else -1).alias("worker"),
                pl.lit(int(version.group(1)) if version else -1).alias("version"),
            )
        )
    return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()


def _metric_sum(text: str, name: str, **labels: str) -> tuple[float, set[str]]:
    """Sum of a metric's samples matching ``labels``, and the workers that reported them."""
    from prometheus_client.parser import text_string_to_metric_families

    total, workers = 0.0, set()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.labels.get("role") == "shadow":  # shadow calls count apart from requests
                continue
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
                workers.add(s.labels.get("worker", ""))
    return total, workers


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, cancer_files, cancer_frame) -> dict[str, Any]:
    """Drive one ``--workers 2`` server through the whole scenario; what each step saw."""
    root = tmp_path_factory.mktemp("workers") / "ws"
    api_key = _workspace(root, cancer_files)
    records = cancer_frame.drop("target").head(50).to_dicts()
    server = Server(root, api_key)
    seen: dict[str, Any] = {"startup_seconds": server.startup_seconds, "root": root}
    try:
        # 1. Production v1 with v2 as shadow.
        shadowed = Traffic(server, records)
        shadowed.burst([None] * 80)
        seen["shadowed"] = shadowed

        # 2. v2 as a 30% canary: random keys, and one key asked many times.
        _change(root, "promote", "cancer@2", "canary", traffic=30.0)
        probe = Traffic(server, records)
        server.wait_for(lambda: _serves(probe, "canary"), "the canary")
        canary = Traffic(server, records)
        canary.burst([f"cust-{i}" for i in range(200)])
        sticky = Traffic(server, records)
        sticky.burst(["cust-7"] * 30)
        seen["canary"], seen["sticky"] = canary, sticky

        # 3. v2 in production, then rolled back to v1 under traffic.
        _change(root, "promote", "cancer@2", "production")
        server.wait_for(lambda: _all_on(probe, 2), "v2 in production on both workers")
        rolling = Traffic(server, records)
        stop = threading.Event()
        pool = rolling.until(stop, threads=2)
        time.sleep(1.0)
        _change(root, "rollback", "cancer")
        at = seen["rolled_back_at"] = time.time()  # committed just before
        time.sleep(POLL + LOAD_SLACK + 0.5)
        # On a loaded machine a request can take longer than the window above: keep the
        # traffic going until enough requests sent after the window have been answered.
        server.wait_for(
            lambda: sum(a["sent"] > at + POLL + LOAD_SLACK for a in list(rolling.answers)) >= 20,
            "answers sent after the rollback reached every worker",
            60,
        )
        stop.set()
        for t in pool:
            t.join(60)
        seen["rolling"] = rolling

        # 4. Metrics: every worker's series, adding up to what was answered.
        answered = sum(len(t.answers) for t in (shadowed, canary, sticky, rolling, probe))
        seen["answered_requests"] = answered

        def metrics_total() -> float:
            text = httpx.get(f"{server.url}/metrics", headers=server.headers).text
            seen["metrics"] = _metric_sum(text, "aims_requests_total", status="200")
            seen["metrics_text"] = text
            return seen["metrics"][0]

        server.wait_for(
            lambda: metrics_total() == answered, f"metrics of every worker ({answered})", 10
        )

        # 5. kill -9 a worker once its log is written; others answer, it comes back.
        acked = {
            p["prediction_id"]
            for t in (shadowed, canary, sticky, rolling, probe)
            for a in t.answers
            for p in a["predictions"]
        }
        server.wait_for(
            lambda: acked <= set(_log_rows(root)["prediction_id"].to_list()),
            "the log",
            30,
            pause=0.5,
        )
        before = server.workers()
        victim = before[1]
        os.kill(victim, signal.SIGKILL)
        after_kill = Traffic(server, records)
        after_kill.burst([None] * 30)
        server.wait_for(
            lambda: server.errors.read_text().count("Application startup complete") == 3,
            "the replacement worker",
            pause=0.2,
        )
        seen["killed"], seen["after_kill"] = victim, after_kill
        seen["workers_after"] = server.workers()

        # 6. Ctrl-C (SIGINT to the whole process group, as a terminal sends it):
        # a graceful stop, after which every acknowledged prediction is in the log once.
        final = Traffic(server, records)
        final.burst([None] * 40)
        os.killpg(server.proc.pid, signal.SIGINT)
        seen["exit_code"] = server.proc.wait(90)
        seen["all"] = [shadowed, canary, sticky, rolling, probe, after_kill, final]
        seen["final"] = final
        seen["stderr"] = server.errors.read_text()
        return seen
    finally:
        server.kill()


def _serves(traffic: Traffic, role: str) -> bool:
    with traffic.client() as c:
        traffic.one(c, f"probe-{random.random()}")
    return any(a["role"] == role for a in traffic.answers[-20:])


def _all_on(traffic: Traffic, version: int) -> bool:
    """The last 10 answers (new connections, so from both workers) all came from ``version``."""
    traffic.burst([None] * 10, threads=2)
    return all(a["version"] == version for a in traffic.answers[-10:])


def _workers_of(root: Path, traffic: Traffic) -> Counter[int]:
    """How many of ``traffic``'s predictions each worker logged."""
    ids = [p["prediction_id"] for a in traffic.answers for p in a["predictions"]]
    rows = _log_rows(root).filter(pl.col("prediction_id").is_in(ids))
    return Counter(rows["worker"].to_list())


def test_the_supervisor_starts_two_workers_that_both_answer(run) -> None:
    rows = _log_rows(run["root"])
    assert set(rows["worker"].unique().to_list()) == {0, 1}
    assert "2 workers serving" in run["stderr"]
    print(f"start-up of --workers 2: {run['startup_seconds']:.1f} s")


def test_prediction_ids_are_unique_across_workers(run) -> None:
    ids = [p["prediction_id"] for t in run["all"] for a in t.answers for p in a["predictions"]]
    assert len(ids) > 300
    assert len(set(ids)) == len(ids)


def test_shadow_predictions_are_logged_once_per_request(run) -> None:
    shadowed = run["shadowed"]
    assert not shadowed.failures
    request_ids = [a["request_id"] for a in shadowed.answers]
    rows = _log_rows(run["root"]).filter(pl.col("request_id").is_in(request_ids))
    shadow = rows.filter(pl.col("role") == "shadow")
    assert shadow["version"].unique().to_list() == [2]
    assert Counter(shadow["request_id"].to_list()) == Counter(request_ids)
    assert rows.filter(pl.col("role") == "production").height == len(request_ids)


def test_the_canary_split_holds_across_workers(run) -> None:
    canary = run["canary"]
    assert not canary.failures and len(canary.answers) == 200
    share = sum(a["role"] == "canary" for a in canary.answers) / len(canary.answers)
    # 200 keys at 30%: the standard deviation of the share is 3.2 points.
    assert 0.18 < share < 0.42
    by_worker = _workers_of(run["root"], canary)
    print(f"canary requests per worker: {dict(by_worker)}")
    assert set(by_worker) == {0, 1}
    # One key asked 30 times, answered by both workers, always by the same version.
    sticky = run["sticky"]
    assert len({(a["version"], a["role"]) for a in sticky.answers}) == 1
    assert set(_workers_of(run["root"], sticky)) == {0, 1}


def test_a_rollback_under_traffic_loses_no_request_and_reaches_every_worker(run) -> None:
    rolling = run["rolling"]
    assert not rolling.failures
    assert len(rolling.answers) > 50
    at = run["rolled_back_at"]
    late = [a for a in rolling.answers if a["sent"] > at + POLL + LOAD_SLACK]
    assert late and all(a["version"] == 1 for a in late)
    # Per worker, from its own log files: the last v2 prediction and the first v1 after the change.
    rows = _log_rows(run["root"])
    ids = [p["prediction_id"] for a in rolling.answers for p in a["predictions"]]
    mine = rows.filter(pl.col("prediction_id").is_in(ids))
    moment = datetime.fromtimestamp(at, UTC)
    for worker in (0, 1):
        own = mine.filter(pl.col("worker") == worker)
        assert own.filter((pl.col("version") == 1) & (pl.col("ts") > moment)).height > 0
        v2 = own.filter(pl.col("version") == 2)["ts"]
        last_v2 = v2.max() if v2.len() else moment
        lag = (last_v2 - moment).total_seconds()
        print(f"worker {worker} served v2 for {lag:.2f} s after the rollback")
        assert lag < POLL + LOAD_SLACK


def test_metrics_add_up_over_every_worker(run) -> None:
    total, workers = run["metrics"]
    assert total == run["answered_requests"]
    assert workers == {"0", "1"}


def test_a_killed_worker_is_replaced_while_the_other_answers(run) -> None:
    after_kill = run["after_kill"]
    assert not after_kill.failures and len(after_kill.answers) == 30
    assert run["killed"] not in run["workers_after"] and len(run["workers_after"]) == 2
    # The replacement answers too: the last requests were logged by both workers.
    assert set(_workers_of(run["root"], run["final"])) == {0, 1}
    assert re.search(
        rf"worker \d \(pid {run['killed']}\) was killed by signal 9: restarting", run["stderr"]
    )


def test_a_graceful_stop_logs_every_acknowledged_prediction_once(run) -> None:
    assert run["exit_code"] == 0, run["stderr"]
    assert "Traceback" not in run["stderr"]
    acked = [p["prediction_id"] for t in run["all"] for a in t.answers for p in a["predictions"]]
    rows = _log_rows(run["root"]).filter(pl.col("role") != "shadow")
    assert sorted(rows["prediction_id"].to_list()) == sorted(acked)
    # The log's own reader (aims log query, the monitor) reads every worker's files.
    from aims.storage.predlog import PredictionLogReader
    from aims.workspace import Workspace

    ws = Workspace.open(run["root"])
    read = PredictionLogReader(ws.settings.prediction_log_url).scan("cancer")
    ws.close()
    answered = read.filter(pl.col("role") != "shadow").select("prediction_id").collect()
    assert sorted(answered["prediction_id"].to_list()) == sorted(acked)


def test_workers_that_cannot_start_stop_the_server_with_one_message(tmp_path: Path) -> None:
    from aims.workspace import init_workspace

    init_workspace(tmp_path / "ws")  # no API key: every worker refuses to start
    started = time.monotonic()
    out = subprocess.run(
        [*AIMS, "-w", str(tmp_path / "ws"), "serve", "--workers", "2", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert out.stderr.count("no active API key") == 1, out.stderr
    assert "aims keys create" in out.stderr
    assert time.monotonic() - started < 60


def test_workers_must_be_a_positive_number(tmp_path: Path) -> None:
    out = subprocess.run(
        [*AIMS, "-w", str(tmp_path), "serve", "--workers", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1 and "--workers is a number of processes" in out.stderr
    assert out.stderr.count("\n") == 1


def test_the_help_explains_workers() -> None:
    out = subprocess.run([*AIMS, "serve", "--help"], capture_output=True, text=True, timeout=60)
    assert "--workers" in out.stdout and "Server processes sharing the port" in out.stdout
