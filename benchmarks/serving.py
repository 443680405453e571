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

Both servers run at once, each in its own process pinned to CPU 0; the load
generator runs in a separate process pinned to CPU 1 and loads one server at
a time. It keeps ``--concurrency`` HTTP/1.1 keep-alive connections busy (a
minimal asyncio client, so the generator is not the bottleneck), warms both
up, then alternates between them in ``--slices`` slices of ``--slice``
seconds each (bare, aims, aims, bare, ...). Alternating often puts both under
the same background load of the machine, which drifts over seconds. Reported
per server: throughput, p50/p99 latency over all its slices, and the CPU time
its process spent per request. Results go to
``benchmarks/results/serving_c<concurrency>_b<records>.json``.

Target: (b) keeps at least 85 % of (a)'s throughput and adds at most 2 ms at p99.

With ``--workers N`` (N > 1) it compares ``aims serve`` with one worker
against ``aims serve --workers N`` instead, the same way (alternating slices,
the same request, the same concurrency). Nothing is pinned then, since the
workers are there to use every core: the load generator shares the cores with
them, as it would with any client on the same machine. The CPU time per
request counts the supervisor and all its workers. Results go to
``benchmarks/results/serving_workers<N>_c<concurrency>_b<records>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
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
        predictions, proba = model.predict_all(columns)
        out = json.dumps(
            {"predictions": predictions.tolist(), "probabilities": proba.tolist()}
        ).encode()
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


def serve_aims(root: str, port: int, workers: int = 1) -> None:
    """(b): exactly what ``aims -w ROOT serve --port PORT [--workers N]`` runs."""
    from aims.cli import _state
    from aims.cli.serve import serve

    _state.STATE.workspace = Path(root)
    # Called as a function, every option left out must be given its command-line default.
    options = {
        name: getattr(p.default, "default", p.default)
        for name, p in inspect.signature(serve).parameters.items()
    }
    options.update(
        host="127.0.0.1", port=port, log_level="warning", access_log=False, workers=workers
    )
    serve(**options)


# -- the load generator ------------------------------------------------------------


async def _requests(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    request: bytes,
    stop_at: float,
    lat: list[float],
) -> tuple[int, int]:
    """Send ``request`` back to back on one keep-alive connection until ``stop_at``."""
    done = errors = 0
    while time.perf_counter() < stop_at:
        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await reader.readexactly(length)
        if head.startswith(b"HTTP/1.1 200"):
            lat.append(time.perf_counter() - started)
            done += 1
        else:
            errors += 1
    return done, errors


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid``, its threads and its child processes.

    The children are counted while they live (a server's workers): /proc lists
    them under each thread of their parent.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in children.read_text().split():
            with contextlib.suppress(OSError):  # ended meanwhile
                total += _cpu_seconds(int(child))
    return total


async def _alternate(
    targets: list[dict[str, Any]],
    concurrency: int,
    warmup: float,
    slices: int,
    slice_s: float,
    reconnect: bool = False,
) -> dict[str, Any]:
    """Load each target in turn, ``slices`` times for ``slice_s`` seconds each.

    Short alternating slices put both servers under the same background load
    of the machine, which drifts over seconds; each slice's figures are kept
    so the two servers can be compared slice pair by slice pair.
    """
    for t in targets:
        host, port = t["url"].removeprefix("http://").split(":")
        auth = f"Authorization: Bearer {t['token']}\r\n" if t.get("token") else ""
        t["request"] = (
            f"POST {t['path']} HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: application/json\r\n{auth}"
            f"Content-Length: {len(t['body'])}\r\n\r\n"
        ).encode() + t["body"]
        t["conns"] = [await asyncio.open_connection(host, int(port)) for _ in range(concurrency)]
        t["slices"] = []
        stop = time.perf_counter() + warmup
        await asyncio.gather(*(_requests(r, w, t["request"], stop, []) for r, w in t["conns"]))
    for i in range(slices):
        for t in targets if i % 2 == 0 else targets[::-1]:
            if reconnect:
                # Servers close keep-alive connections idle for a few seconds (5 s in
                # uvicorn) while the others are loaded: reconnect, outside the timing.
                for _, w in t["conns"]:
                    w.close()
                host, port = t["url"].removeprefix("http://").split(":")
                t["conns"] = [
                    await asyncio.open_connection(host, int(port)) for _ in range(concurrency)
                ]
            lat: list[float] = []
            cpu0, t0 = _cpu_seconds(t["pid"]), time.perf_counter()
            results = await asyncio.gather(
                *(_requests(r, w, t["request"], t0 + slice_s, lat) for r, w in t["conns"])
            )
            elapsed, cpu = time.perf_counter() - t0, _cpu_seconds(t["pid"]) - cpu0
            done = sum(r[0] for r in results)
            t["slices"].append(
                {
                    "requests": done,
                    "errors": sum(r[1] for r in results),
                    "seconds": elapsed,
                    "cpu_seconds": cpu,
                    "latencies": lat,
                }
            )
    for t in targets:
        for _, w in t["conns"]:
            w.close()
    return {t["name"]: t["slices"] for t in targets}


def load(args: argparse.Namespace) -> None:
    if args.workers <= 1:
        _pin(LOAD_CPU)
    targets = json.loads(Path(args.targets).read_text())
    for t in targets:
        t["body"] = Path(t["body"]).read_bytes()
    reconnect = getattr(args, "reconnect", False)
    out = asyncio.run(
        _alternate(targets, args.concurrency, args.warmup, args.slices, args.slice, reconnect)
    )
    Path(args.out).write_text(json.dumps(out))


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


def _workspace(folder: Path, batch: int, batch_max_size: int | None = None) -> dict[str, Any]:
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
    if batch_max_size is not None:
        config["server"]["batch_max_size"] = batch_max_size
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


def _start(kind: str, target: str, workers: int = 1, *extra: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            f"--serve-{kind}",
            target,
            "--port",
            str(port),
            "--workers",
            str(workers),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
    )
    return proc, f"http://127.0.0.1:{port}"


def _figures(slices: list[dict[str, Any]]) -> dict[str, float]:
    lat = sorted(x for s in slices for x in s["latencies"])
    done = sum(s["requests"] for s in slices)
    return {
        "requests": done,
        "errors": sum(s["errors"] for s in slices),
        "throughput_rps": done / sum(s["seconds"] for s in slices),
        "p50_ms": 1000 * lat[len(lat) // 2],
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))],
        "server_cpu_ms_per_request": 1000 * sum(s["cpu_seconds"] for s in slices) / done,
    }


def main(args: argparse.Namespace) -> None:
    if args.workers > 1:
        compare_workers(args)
        return
    import httpx

    with tempfile.TemporaryDirectory() as tmp:
        setup = _workspace(Path(tmp), args.batch)
        bare, bare_url = _start("bare", str(setup["model"]))
        aims, aims_url = _start("aims", str(setup["root"]))
        try:
            _wait_ready(bare_url, "/", bare)
            _wait_ready(aims_url, "/readyz", aims)
            token = httpx.post(
                aims_url + "/v1/auth/token", json={"api_key": setup["api_key"]}
            ).json()["access_token"]
            targets = [
                {"name": "bare", "url": bare_url, "path": "/", "pid": bare.pid},
                {
                    "name": "aims",
                    "url": aims_url,
                    "path": "/v1/models/cancer/predict",
                    "token": token,
                    "pid": aims.pid,
                },
            ]
            for t in targets:
                t["body"] = str(setup["body"])
            spec = Path(tmp) / "targets.json"
            spec.write_text(json.dumps(targets))
            out = Path(tmp) / "slices.json"
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--load",
                    "--targets",
                    str(spec),
                    "--out",
                    str(out),
                    "--concurrency",
                    str(args.concurrency),
                    "--warmup",
                    str(args.warmup),
                    "--slices",
                    str(args.slices),
                    "--slice",
                    str(args.slice),
                    "--workers",
                    str(args.workers),
                ],
                check=True,
            )
            slices = json.loads(out.read_text())
        finally:
            for proc in (bare, aims):
                proc.terminate()
                proc.wait(60)
    summary: dict[str, Any] = {kind: _figures(s) for kind, s in slices.items()}
    b, a = summary["bare"], summary["aims"]
    summary["throughput_ratio"] = a["throughput_rps"] / b["throughput_rps"]
    summary["p50_added_ms"] = a["p50_ms"] - b["p50_ms"]
    summary["p99_added_ms"] = a["p99_ms"] - b["p99_ms"]
    summary["cpu_ratio"] = a["server_cpu_ms_per_request"] / b["server_cpu_ms_per_request"]
    # Slice by slice: the two servers' slices i ran back to back.
    pairs = list(zip(slices["bare"], slices["aims"], strict=True))
    summary["throughput_ratio_median_of_slices"] = statistics.median(
        (sa["requests"] / sa["seconds"]) / (sb["requests"] / sb["seconds"]) for sb, sa in pairs
    )
    summary["settings"] = {
        "concurrency": args.concurrency,
        "slices": args.slices,
        "slice_seconds": args.slice,
        "warmup_seconds": args.warmup,
        "records_per_request": args.batch,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_after": os.getloadavg(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"serving_c{args.concurrency}_b{args.batch}.json"
    (RESULTS / name).write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    ok = summary["throughput_ratio"] >= 0.85 and summary["p99_added_ms"] <= 2.0
    print("target met" if ok else "target NOT met")


def compare_workers(args: argparse.Namespace) -> None:
    """``aims serve`` with one worker against ``--workers N``, neither pinned."""
    import httpx

    n = args.workers
    with tempfile.TemporaryDirectory() as tmp:
        setup = _workspace(Path(tmp), args.batch, args.batch_max_size)
        servers = {
            "aims_1": _start("aims", str(setup["root"]), 1, "--unpinned"),
            f"aims_{n}": _start("aims", str(setup["root"]), n),
        }
        try:
            targets = []
            for name, (proc, url) in servers.items():
                _wait_ready(url, "/readyz", proc)
                token = httpx.post(
                    url + "/v1/auth/token", json={"api_key": setup["api_key"]}
                ).json()["access_token"]
                # Every worker must be up before the connections are opened.
                time.sleep(2.0)
                targets.append(
                    {
                        "name": name,
                        "url": url,
                        "path": "/v1/models/cancer/predict",
                        "token": token,
                        "pid": proc.pid,
                        "body": str(setup["body"]),
                    }
                )
            spec = Path(tmp) / "targets.json"
            spec.write_text(json.dumps(targets))
            out = Path(tmp) / "slices.json"
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--load",
                    "--targets",
                    str(spec),
                    "--out",
                    str(out),
                    "--concurrency",
                    str(args.concurrency),
                    "--warmup",
                    str(args.warmup),
                    "--slices",
                    str(args.slices),
                    "--slice",
                    str(args.slice),
                    "--workers",
                    str(n),
                ],
                check=True,
            )
            slices = json.loads(out.read_text())
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(90)
    summary: dict[str, Any] = {kind: _figures(s) for kind, s in slices.items()}
    one, many = summary["aims_1"], summary[f"aims_{n}"]
    summary["throughput_ratio"] = many["throughput_rps"] / one["throughput_rps"]
    pairs = list(zip(slices["aims_1"], slices[f"aims_{n}"], strict=True))
    summary["throughput_ratio_median_of_slices"] = statistics.median(
        (sm["requests"] / sm["seconds"]) / (so["requests"] / so["seconds"]) for so, sm in pairs
    )
    summary["settings"] = {
        "workers": n,
        "concurrency": args.concurrency,
        "slices": args.slices,
        "slice_seconds": args.slice,
        "warmup_seconds": args.warmup,
        "records_per_request": args.batch,
        "batch_max_size": args.batch_max_size,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_after": os.getloadavg(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    unbatched = "_unbatched" if args.batch_max_size == 1 else ""
    name = f"serving_workers{n}_c{args.concurrency}_b{args.batch}{unbatched}.json"
    (RESULTS / name).write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--slices", type=int, default=40, help="Measured slices per server.")
    parser.add_argument("--slice", type=float, default=1.0, help="Seconds per slice.")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--batch", type=int, default=1, help="Records per request.")
    parser.add_argument("--serve-bare", metavar="MODEL")
    parser.add_argument("--serve-aims", metavar="WORKSPACE")
    parser.add_argument("--port", type=int)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="Compare aims serve with 1 worker against --workers N (unpinned) instead of bare.",
    )
    parser.add_argument("--load", action="store_true")
    parser.add_argument("--unpinned", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--batch-max-size",
        type=int,
        help="server.batch_max_size of the served workspace (1: batching off); with --workers only",
    )
    parser.add_argument("--targets")
    parser.add_argument("--out")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 half-second slices per server after a 1 s warm-up; "
        "results in benchmarks/results/quick/, not comparable with the full run",
    )
    ns = parser.parse_args()
    if ns.quick:
        RESULTS = RESULTS / "quick"
        ns.slices, ns.slice, ns.warmup = 3, 0.5, 1.0
    if ns.serve_bare:
        _pin(SERVER_CPU)
        serve_bare(ns.serve_bare, ns.port)
    elif ns.serve_aims:
        if ns.workers <= 1 and not ns.unpinned:
            _pin(SERVER_CPU)
        serve_aims(ns.serve_aims, ns.port, ns.workers)
    elif ns.load:
        load(ns)
    else:
        main(ns)
