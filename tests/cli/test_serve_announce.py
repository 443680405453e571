"""What ``aims serve`` says on stderr, read from a real process: what it serves, changes, refusals."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import yaml

from aims.server.announce import NOTHING_IN_PRODUCTION, RefusalSummary, served_lines
from aims.server.metrics import ServerMetrics
from aims.server.routing import RoutingTable
from tests.cli.test_serve_cli import AIMS, OWNERS, free_port, run
from tests.conftest import use_open_policy


def _workspace(root: Path, cancer_files: dict[str, Path]) -> str:
    """Two versions of ``cancer``, the first in production; returns a predictor API key."""
    from aims.services import keys, lifecycle, registry
    from aims.workspace import Workspace, init_workspace

    init_workspace(root)
    use_open_policy(root)
    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["server"] = {"refusal_summary_seconds": 1, "poll_interval": 0.2}
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    ws = Workspace.open(root)
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor="ana@x.org")
    for model in ("model", "model2"):
        registry.register_model(
            ws,
            cancer_files[model],
            "cancer",
            actor="ana@x.org",
            datasets=["cancer@1"],
            owners=OWNERS,
        )
    lifecycle.promote(ws, "cancer@1", "production", actor="ana@x.org")
    _, api_key = keys.create_key(ws, project="default", role="predictor", actor="ana@x.org")
    ws.close()
    return api_key


def _wait_for(path: Path, text: str, proc: subprocess.Popen, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        out = path.read_text()
        if text in out:
            return out
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not on stderr of aims serve:\n{out}")
        time.sleep(0.05)


def test_serve_says_what_it_serves_each_change_and_the_refusals(
    tmp_path: Path, cancer_files
) -> None:
    from aims.services import lifecycle
    from aims.workspace import Workspace

    root = tmp_path / "ws"
    api_key = _workspace(root, cancer_files)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    err = tmp_path / "serve.err"
    env = {**os.environ, "AIMS_USER": "ops@x.org"}
    with err.open("w") as stream:
        proc = subprocess.Popen(
            [*AIMS, "-w", str(root), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stream,
        )
    try:
        out = _wait_for(err, "serving cancer@1 (production, input contract of", proc)
        assert f"dashboard at {url}/ui" in out
        assert NOTHING_IN_PRODUCTION not in out
        # A promotion through the command line, seen by the running server.
        promoted = run(["promote", "cancer@2", "--stage", "production"], root)
        assert promoted.returncode == 0, promoted.stderr
        _wait_for(err, "now serving cancer@2 (production), was cancer@1", proc)
        ws = Workspace.open(root)
        try:
            lifecycle.rollback(ws, "cancer", actor="ana@x.org")
        finally:
            ws.close()
        _wait_for(err, "now serving cancer@1 (production), was cancer@2", proc)
        with httpx.Client(base_url=url, timeout=30) as c:
            token = c.post("/v1/auth/token", json={"api_key": api_key}).json()["access_token"]
            for _ in range(3):
                r = c.post(
                    "/v1/models/cancer/predict",
                    json={"records": [{"nope": 1}]},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert r.status_code == 422
            assert c.get("/v1/models", headers={"Authorization": "Bearer x"}).status_code == 401
        # The refusals may straddle two periods: the lines together count each one once.
        deadline = time.monotonic() + 60
        while _refusals(err.read_text()) != {"contract": 3, "auth": 1}:
            assert time.monotonic() < deadline, err.read_text()
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(60)


def _refusals(text: str) -> dict[str, int]:
    """The refusals counted by the summary lines of ``text``, added up per kind."""
    totals: dict[str, int] = {}
    for line in text.splitlines():
        if "refused in the last 1 s: " not in line:
            continue
        total, _, parts = line.split("refused in the last 1 s: ", 1)[1].partition(" (")
        counted = {k: int(v) for k, v in (p.split(" ") for p in parts.rstrip(")").split(", "))}
        assert sum(counted.values()) == int(total)
        for kind, n in counted.items():
            totals[kind] = totals.get(kind, 0) + n
    return totals


def test_an_empty_table_warns_that_nothing_is_in_production() -> None:
    assert served_lines(RoutingTable()) == [NOTHING_IN_PRODUCTION]
    assert "aims promote NAME@V --stage production" in NOTHING_IN_PRODUCTION


def test_refusals_are_summarised_at_most_once_a_period_and_only_when_there_were_some() -> None:
    metrics = ServerMetrics()
    now = [0.0]
    lines: list[str] = []
    summary = RefusalSummary(metrics, 60.0, write=lines.append, clock=lambda: now[0])
    metrics.requests.labels("m", "1", "production", "422").inc(10)
    metrics.auth_failures.labels("invalid_token").inc(2)
    metrics.rejected.labels("m", "json").inc()
    now[0] = 59.0
    summary()
    assert lines == []  # not a minute yet
    now[0] = 60.0
    summary()
    assert lines == ["refused in the last minute: 13 (contract 10, input 1, auth 2)"]
    now[0] = 120.0
    summary()
    assert len(lines) == 1  # a quiet minute writes nothing
