"""The team deployment's real parts together: PostgreSQL for the metadata, S3 for artifacts and logs.

The registry, the artifact store, the prediction log, the trace store and
the monitor run with ``AIMS_DATABASE_URL`` on the suite's PostgreSQL server
and ``AIMS_ARTIFACT_URL`` / ``AIMS_PREDICTION_LOG_URL`` /
``AIMS_TRACE_LOG_URL`` on the suite's S3-compatible server. A real
``aims serve`` is killed with SIGKILL while it streams predictions: what it
acknowledged more than one flush window before the kill is on S3
(docs/prediction-log.md, Durability). ``aims drift`` on two hive-partitioned
folders on S3 through Dask gives the verdict it gives on the same folders on
local disk. ``deploy/compose.yaml`` itself is checked in ``tests/deploy/``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import fsspec
import httpx
import polars as pl
import pytest
from distributed import LocalCluster

from tests.cli.test_serve_cli import ServeProcess, make_workspace
from tests.engines.equality import partitions, write_parts
from tests.server.trace_server import export_json, span_json

AIMS = [sys.executable, "-m", "aims"]
#: The server's default flush window (server.flush_interval).
WINDOW = 1.0


def aims(args: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AIMS, *args],
        env={**os.environ, "AIMS_USER": "ops@x.org"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def team_env(postgres_url: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every store of the workspace on the team servers; returns the bucket."""
    monkeypatch.setenv("AIMS_DATABASE_URL", postgres_url)
    monkeypatch.setenv("AIMS_ARTIFACT_URL", f"{s3_bucket}/artifacts")
    monkeypatch.setenv("AIMS_PREDICTION_LOG_URL", f"{s3_bucket}/predictions")
    monkeypatch.setenv("AIMS_TRACE_LOG_URL", f"{s3_bucket}/traces")
    return s3_bucket


@pytest.mark.slow
def test_serving_and_monitoring_on_postgres_and_s3_survive_kill_9(
    team_env: str, tmp_path: Path, cancer_files, cancer_frame
) -> None:
    from aims.services import keys
    from aims.storage.predlog import PredictionLogReader
    from aims.workspace import Workspace

    root = tmp_path / "ws"
    make_workspace(root, cancer_files)  # registry on PostgreSQL, artifacts on S3
    fs = fsspec.filesystem("s3")
    assert fs.find(f"{team_env}/artifacts"), "no artifact reached S3"
    assert not (root / ".aims" / "aims.db").exists()
    assert not (root / ".aims" / "artifacts").exists() or not any(
        (root / ".aims" / "artifacts").iterdir()
    )
    ws = Workspace.open(root)
    _, api_key = keys.create_key(ws, project="default", role="predictor", actor="ops@x.org")
    ws.close()

    server = ServeProcess(root, api_key)
    try:
        spans = [span_json(i) for i in range(5)]
        answer = httpx.post(
            f"{server.url}/v1/traces",
            content=export_json(spans),
            headers={**server.headers, "Content-Type": "application/json"},
        )
        assert answer.status_code == 200, answer.text
        traced = time.monotonic()
        server.stream(cancer_frame.drop("target").head(200).to_dicts())
        deadline = time.monotonic() + 120
        while not (server.acked and server.acked[-1][0] - server.acked[0][0] > 3 * WINDOW):
            assert time.monotonic() < deadline, "no predictions acknowledged"
            time.sleep(0.05)
        os.kill(server.proc.pid, signal.SIGKILL)
        killed = time.monotonic()
        server.proc.wait(30)
    finally:
        server.stop_streaming()
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(30)
    assert traced < killed - WINDOW

    durable = {pid for ts, pid in server.acked if ts < killed - WINDOW}
    answered = {pid for _, pid in server.acked}
    logged = set(
        PredictionLogReader(f"{team_env}/predictions")
        .scan("cancer")
        .collect()["prediction_id"]
        .to_list()
    )
    assert len(durable) > 10
    missing = durable - logged
    assert not missing, f"{len(missing)} predictions acknowledged > {WINDOW} s before the kill lost"
    # what was lost is at most the last window's acknowledgements; beyond what was
    # acknowledged, at most the two requests in flight at the kill were logged
    assert len(answered - logged) <= len(answered - durable)
    assert len(logged - answered) <= 2
    assert fs.find(f"{team_env}/predictions")

    from aims.services.traces import trace_log_url
    from aims.storage.traces import read_spans

    ws = Workspace.open(root)
    try:
        assert trace_log_url(ws).startswith(team_env)
        stored = sum(b.num_rows for b in read_spans(trace_log_url(ws)))
    finally:
        ws.close()
    assert stored == len(spans)

    # the monitor reads the log from S3 and writes its windows to PostgreSQL
    out = aims(["-w", str(root), "monitor", "run", "--once", "--now", "--format", "json"])
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert not summary["errors"]
    windows = aims(["-w", str(root), "monitor", "windows", "cancer", "--format", "json"])
    assert windows.returncode == 0, windows.stderr
    assert json.loads(windows.stdout), "the monitor computed no window"


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    # Worker threads in this process, so they see the S3 environment the test sets; over
    # TCP on loopback, so the aims drift process can reach the scheduler.
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        yield cluster.scheduler_address


@pytest.mark.slow
def test_drift_of_hive_folders_on_s3_through_dask_matches_local(
    s3_bucket: str, dask_scheduler: str, tmp_path: Path
) -> None:
    reference = write_parts(tmp_path / "reference", partitions())
    current = write_parts(
        tmp_path / "current", [p.with_columns(pl.col("y") * 3.0) for p in partitions(seed=9)]
    )
    fs = fsspec.filesystem("s3")
    fs.put(str(reference), f"{s3_bucket}/reference", recursive=True)
    fs.put(str(current), f"{s3_bucket}/current", recursive=True)
    assert len(fs.find(f"{s3_bucket}/reference")) == 8

    local = aims(["drift", str(reference), str(current), "--format", "json"])
    remote = aims(
        [
            "drift",
            f"{s3_bucket}/reference",
            f"{s3_bucket}/current",
            "--engine",
            "dask",
            "--scheduler",
            dask_scheduler,
            "--format",
            "json",
        ]
    )
    assert local.returncode == 0, local.stderr
    assert remote.returncode == 0, remote.stderr
    a, b = json.loads(local.stdout), json.loads(remote.stdout)
    assert a["dataset_drift"] == b["dataset_drift"]
    assert a["columns"] == b["columns"]
    assert "y" in [c["name"] for c in b["columns"] if c["drifted"]]
