#!/usr/bin/env python
"""Serving benchmark: what ``aims serve`` costs over a bare ASGI app calling the same model.

One command reproduces the figures in ``docs/benchmarks.md`` (## Serving)::

    .venv/bin/python benchmarks/serving.py

Two servers answer the same request (one breast-cancer record, 30 features)
with the same model, a scikit-learn scaler + logistic-regression pipeline
stored as skops:

(a) ``bare``: a minimal ASGI callable on uvicorn that parses the JSON body and
    calls the model's ``predict`` and ``predict_proba`` (the model loaded with
    aims' skops loader, so both servers run identical model code);
(b) ``aims``: ``aims serve`` (the CLI's own code path) with token auth, input
    validation against the version's contract, the prediction log, Prometheus
    metrics and rate limiting all on.

Each server runs in its own process pinned to CPU 0; the load generator runs
in a separate process pinned to CPU 1. It keeps ``--concurrency`` HTTP/1.1
keep-alive connections busy (a minimal asyncio client, so the generator is
not the bottleneck), discards a warm-up, then measures throughput and p50/p99
latency, and the CPU time the server process spent per request (the figure
least disturbed by other work on the machine). The two servers alternate
for ``--rounds`` rounds; the medians of the per-round comparisons are
reported. Results go to ``benchmarks/results/serving_c<concurrency>_b<records>.json``.

Target: (b) keeps at least 85 % of (a)'s throughput and adds at most 2 ms at p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SERVER_CPU = 0
LOAD_CPU = 1


# -- the servers -----------------------------------------------------------------


def serve_bare(model_path: str, port: int) -> None:
    """(a): parse JSON, call the model, answer JSON; nothing else."""
    import uvicorn

    from aims.flavours import load_model

    model = load_model(model_path)
    features = model.feature_names or []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["method"] == "GET":  # readiness probe of the benchmark
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        records = json.loads(body)["records"]
        columns = {f: [r[f] for r in records] for f in features}
        predictions = model.predict(columns).tolist()
        proba = model.predict_proba(columns).tolist()
        out = json.dumps({"predictions": predictions, "probabilities": proba}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(out)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": out})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def serve_aims(root: str, port: int) -> None:
    """(b): exactly what ``aims -w ROOT serve --port PORT`` runs."""
    from aims.cli import _state
    from aims.cli.serve import serve

    _state.STATE.workspace = Path(root)
    serve(host="127.0.0.1", port=port, insecure_dev=False, log_level="warning", access_log=False)


# -- the load generator ------------------------------------------------------------


async def _connection(
    host: str, port: int, request: bytes, stop_at: float, warm_until: float, lat: list[float]
) -> tuple[int, int]:
    reader, writer = await asyncio.open_connection(host, port)
    done = errors = 0
    try:
        while True:
            started = time.perf_counter()
            if started >= stop_at:
                break
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            finished = time.perf_counter()
            if not head.startswith(b"HTTP/1.1 200"):
                errors += 1
            elif started >= warm_until:
                lat.append(finished - started)
                done += 1
    finally:
        writer.close()
    return done, errors


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` and its threads, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _cpu_mark(pid: int | None, at: float, marks: list[float]) -> None:
    await asyncio.sleep(max(0.0, at - time.perf_counter()))
    if pid is not None:
        marks.append(_cpu_seconds(pid))


async def _load(
    url: str,
    path: str,
    body: bytes,
    token: str | None,
    concurrency: int,
    warmup: float,
    seconds: float,
    pid: int | None = None,
) -> dict[str, Any]:
    host, port = url.removeprefix("http://").split(":")
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"{auth}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    now = time.perf_counter()
    lat: list[float] = []
    marks: list[float] = []
    gathered = await asyncio.gather(
        _cpu_mark(pid, now + warmup, marks),
        _cpu_mark(pid, now + warmup + seconds, marks),
        *(
            _connection(host, int(port), request, now + warmup + seconds, now + warmup, lat)
            for _ in range(concurrency)
        ),
    )
    results = gathered[2:]
    lat.sort()
    done = sum(r[0] for r in results)
    cpu = (marks[1] - marks[0]) if len(marks) == 2 else float("nan")
    return {
        "requests": done,
        "errors": sum(r[1] for r in results),
        "throughput_rps": done / seconds,
        "p50_ms": 1000 * lat[len(lat) // 2],
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))],
        "server_cpu_ms_per_request": 1000 * cpu / max(done, 1),
    }


def load(args: argparse.Namespace) -> None:
    _pin(LOAD_CPU)
    body = Path(args.body).read_bytes()
    out = asyncio.run(
        _load(
            args.url,
            args.path,
            body,
            args.token,
            args.concurrency,
            args.warmup,
            args.seconds,
            args.pid,
        )
    )
    print(json.dumps(out))


# -- orchestration -----------------------------------------------------------------


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > cpu:
        os.sched_setaffinity(0, {cpu})


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(url: str, path: str, proc: subprocess.Popen) -> None:
    import httpx

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url + path, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not start")


def _workspace(folder: Path, batch: int) -> dict[str, Any]:
    """A workspace with the model in production, an API key, and the request body."""
    import polars as pl
    import yaml
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from skops.io import dump

    from aims.services import keys, lifecycle, registry
    from aims.workspace import Workspace, init_workspace

    bunch = load_breast_cancer(as_frame=True)
    frame = pl.from_pandas(bunch.frame)
    frame = frame.rename({c: c.replace(" ", "_") for c in frame.columns})
    data = folder / "cancer.parquet"
    frame.write_parquet(data)
    x, y = frame.drop("target").to_pandas(), frame["target"].to_numpy()
    model = folder / "model.skops"
    dump(make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y), model)
    root = init_workspace(folder / "ws")
    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["policy"] = {
        "default_tier": "minimal",
        "tiers": {"minimal": {}, "limited": {}, "high": {}, "unacceptable": {"prohibited": True}},
    }
    # The load generator is one caller: lift the per-key limit out of the way
    # (the limiter still runs on every request).
    config["server"] = {"rate_limit": 1e9, "rate_burst": 1e9}
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    ws = Workspace.open(root)
    owners = {"deployment": "d@x.org", "monitoring": "m@x.org"}
    registry.register_dataset(ws, data, "cancer", actor="bench")
    registry.register_model(
        ws, model, "cancer", actor="bench", datasets=["cancer@1"], owners=owners
    )
    lifecycle.promote(ws, "cancer@1", "production", actor="bench")
    _, api_key = keys.create_key(ws, project="default", role="predictor", actor="bench")
    ws.close()
    records = frame.drop("target").head(batch).to_dicts()
    body = folder / "body.json"
    body.write_text(json.dumps({"records": records}))
    return {"root": root, "model": model, "api_key": api_key, "body": body}


def _run_server(kind: str, setup: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    target = str(setup["root"]) if kind == "aims" else str(setup["model"])
    proc = subprocess.Popen(
        [sys.executable, __file__, f"--serve-{kind}", target, "--port", str(port)],
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_ready(url, "/readyz" if kind == "aims" else "/", proc)
        token = None
        path = "/"
        if kind == "aims":
            token = httpx.post(url + "/v1/auth/token", json={"api_key": setup["api_key"]}).json()[
                "access_token"
            ]
            path = "/v1/models/cancer/predict"
        cmd = [
            sys.executable,
            __file__,
            "--load",
            "--url",
            url,
            "--path",
            path,
            "--body",
            str(setup["body"]),
            "--concurrency",
            str(args.concurrency),
            "--warmup",
            str(args.warmup),
            "--seconds",
            str(args.seconds),
            "--pid",
            str(proc.pid),
        ]
        if token:
            cmd += ["--token", token]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        return json.loads(out.stdout)
    finally:
        proc.terminate()
        proc.wait(60)


def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        setup = _workspace(Path(tmp), args.batch)
        runs: dict[str, list[dict[str, Any]]] = {"bare": [], "aims": []}
        for r in range(args.rounds):
            for kind in ("bare", "aims"):
                result = _run_server(kind, setup, args)
                runs[kind].append(result)
                print(f"round {r + 1} {kind}: {json.dumps(result)}", flush=True)
    summary: dict[str, Any] = {}
    for kind, results in runs.items():
        summary[kind] = {
            key: statistics.median(r[key] for r in results)
            for key in ("throughput_rps", "p50_ms", "p99_ms", "server_cpu_ms_per_request")
        }
        summary[kind]["errors"] = sum(r["errors"] for r in results)
    # Rounds run back to back, so each round's pair shares the machine's load
    # at that time: the medians of the per-round comparisons are the figures.
    pairs = list(zip(runs["bare"], runs["aims"], strict=True))
    summary["throughput_ratio"] = statistics.median(
        a["throughput_rps"] / b["throughput_rps"] for b, a in pairs
    )
    summary["p99_added_ms"] = statistics.median(a["p99_ms"] - b["p99_ms"] for b, a in pairs)
    summary["p50_added_ms"] = statistics.median(a["p50_ms"] - b["p50_ms"] for b, a in pairs)
    summary["cpu_ratio"] = statistics.median(
        a["server_cpu_ms_per_request"] / b["server_cpu_ms_per_request"] for b, a in pairs
    )
    summary["settings"] = {
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "records_per_request": args.batch,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    summary["runs"] = runs
    RESULTS.mkdir(exist_ok=True)
    name = f"serving_c{args.concurrency}_b{args.batch}.json"
    (RESULTS / name).write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=2))
    ok = summary["throughput_ratio"] >= 0.85 and summary["p99_added_ms"] <= 2.0
    print("target met" if ok else "target NOT met")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1, help="Records per request.")
    parser.add_argument("--serve-bare", metavar="MODEL")
    parser.add_argument("--serve-aims", metavar="WORKSPACE")
    parser.add_argument("--port", type=int)
    parser.add_argument("--load", action="store_true")
    parser.add_argument("--url")
    parser.add_argument("--path")
    parser.add_argument("--body")
    parser.add_argument("--token")
    parser.add_argument("--pid", type=int, help="Server process whose CPU time is measured.")
    ns = parser.parse_args()
    if ns.serve_bare:
        _pin(SERVER_CPU)
        serve_bare(ns.serve_bare, ns.port)
    elif ns.serve_aims:
        _pin(SERVER_CPU)
        serve_aims(ns.serve_aims, ns.port)
    elif ns.load:
        load(ns)
    else:
        main(ns)
