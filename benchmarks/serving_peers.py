#!/usr/bin/env python
"""Serving side by side: aims (batched and unbatched) against MLServer, BentoML and LitServe.

One command creates the peers' environments (``benchmarks/venv-serving-<tool>``,
none of them a dependency of aims) and measures every tool in one run::

    .venv/bin/python benchmarks/serving_peers.py                # all tools
    .venv/bin/python benchmarks/serving_peers.py --tools aims,aims-unbatched --quick

The model is the one of ``benchmarks/serving.py``: a StandardScaler +
LogisticRegression pipeline on the breast-cancer data (30 features), one
record per request, predictions and probabilities in the answer.

- ``aims``: ``aims serve`` with every check on (token auth, the input
  contract, the prediction log, metrics, rate limiting) and adaptive
  batching at its defaults;
- ``aims-unbatched``: the same with ``server.batch_max_size: 1``;
- ``aims-onnx``: the same as ``aims``, the pipeline served through its ONNX
  form (``server.runtime: {cancer: onnx}``, checked on the training rows);
- ``mlserver``, ``bentoml``, ``litserve``: see ``serving_peer_servers.py``;
  each in its own environment, adaptive batching on (at most 32 rows,
  5 ms), one worker process.

Every server runs at once, pinned to CPU 0 (with its worker processes); the
load generator of ``benchmarks/serving.py`` runs pinned to CPU 1 and loads
one server at a time, in alternating slices, at each ``--concurrency``.
Reported per tool and concurrency: throughput, p50, p99 and the CPU time of
the server's process tree per request. Results go to
``benchmarks/results/serving_peers.json``.

Targets: at concurrency 32 aims' throughput at least 2x the best peer's with
a p99 no worse; at concurrency 1 aims' p50 within 0.5 ms of aims-unbatched.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import serving  # noqa: E402  (the shared load generator and aims workspace)

PEERS = {
    "mlserver": ["mlserver", "mlserver-sklearn", "scikit-learn"],
    "bentoml": ["bentoml", "scikit-learn"],
    "litserve": ["litserve", "scikit-learn"],
}
"""Each peer's environment: what ``pip install`` puts in ``venv-serving-<tool>``."""
TOOLS = ("aims", "aims-unbatched", "aims-onnx", *PEERS)
_OWN_CPU_SECONDS = serving._cpu_seconds


def environment(tool: str) -> Path:
    """The Python of ``tool``'s environment, created (and installed) on first use."""
    venv = HERE / f"venv-serving-{tool}"
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if not marker.exists():
        print(f"creating {venv.name} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                *PEERS[tool],
            ],
            check=True,
        )
        marker.write_text(" ".join(PEERS[tool]))
    return python


def _tree_cpu_seconds(pid: int) -> float:
    """CPU time of ``pid`` and every process below it (peers serve from worker processes)."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += _OWN_CPU_SECONDS(p)
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        todo += [int(c) for c in children]
    return total


def _start_aims(root: Path) -> tuple[subprocess.Popen, str]:
    return serving._start("aims", str(root))


def _start_peer(tool: str, folder: Path) -> tuple[subprocess.Popen, str]:
    python = environment(tool)
    port = serving._free_port()
    proc = subprocess.Popen(
        [
            str(python),
            str(HERE / "serving_peer_servers.py"),
            "--tool",
            tool,
            "--port",
            str(port),
            "--folder",
            str(folder / tool),
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(folder / f"{tool}.log", "w"),  # noqa: SIM115 (lives as long as the server)
        start_new_session=True,
    )
    return proc, f"http://127.0.0.1:{port}"


def _peer_request(tool: str, row: list[float]) -> tuple[str, bytes]:
    code = (
        "import json, sys, serving_peer_servers as p; "
        f"path, make = p.REQUESTS[{tool!r}]; "
        "print(json.dumps([path, make(json.loads(sys.argv[1]))]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(row)],
        check=True,
        capture_output=True,
        text=True,
        cwd=HERE,
    )
    path, body = json.loads(out.stdout)
    return path, json.dumps(body).encode()


def _ready(tool: str, url: str, path: str, body: bytes, proc: subprocess.Popen) -> None:
    """Wait until the server answers a real request with 200 (models load lazily in some)."""
    import httpx

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{tool} exited with {proc.returncode}")
        try:
            r = httpx.post(url + path, content=body, timeout=5, headers=_json)
            if r.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{tool} did not answer within 300 s")


_json = {"Content-Type": "application/json"}


def main(args: argparse.Namespace) -> None:
    import httpx

    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = sorted(set(tools) - set(TOOLS))
    if unknown:
        raise SystemExit(f"unknown tool(s) {', '.join(unknown)}; choose from {', '.join(TOOLS)}")
    results: dict[str, Any] = {"tools": {}, "versions": {}}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        procs: list[subprocess.Popen] = []
        targets: list[dict[str, Any]] = []
        try:
            for tool in tools:
                if tool.startswith("aims"):
                    (folder / tool).mkdir()
                    setup = serving._workspace(folder / tool, 1)
                    if tool == "aims-unbatched":
                        _set_server(setup["root"], {"batch_max_size": 1})
                    elif tool == "aims-onnx":
                        _set_server(setup["root"], {"runtime": {"cancer": "onnx"}})
                    proc, url = _start_aims(setup["root"])
                    procs.append(proc)
                    serving._wait_ready(url, "/readyz", proc)
                    token = httpx.post(
                        url + "/v1/auth/token", json={"api_key": setup["api_key"]}
                    ).json()["access_token"]
                    body = setup["body"].read_bytes()
                    path = "/v1/models/cancer/predict"
                    targets.append(
                        {"name": tool, "url": url, "path": path, "token": token, "pid": proc.pid}
                    )
                    (folder / f"{tool}.body").write_bytes(body)
                else:
                    python = environment(tool)
                    results["versions"][tool] = subprocess.run(
                        [
                            str(python),
                            str(HERE / "serving_peer_servers.py"),
                            "--tool",
                            tool,
                            "--version",
                        ],
                        capture_output=True,
                        text=True,
                        check=True,
                    ).stdout.strip()
                    proc, url = _start_peer(tool, folder)
                    procs.append(proc)
                    path, body = _peer_request(tool, _first_row())
                    _ready(tool, url, path, body, proc)
                    (folder / f"{tool}.body").write_bytes(body)
                    targets.append({"name": tool, "url": url, "path": path, "pid": proc.pid})
            for t in targets:
                t["body"] = str(folder / f"{t['name']}.body")
            spec = folder / "targets.json"
            spec.write_text(json.dumps(targets))
            for concurrency in [int(c) for c in args.concurrency.split(",")]:
                out = folder / f"slices_{concurrency}.json"
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
                        str(concurrency),
                        "--warmup",
                        str(args.warmup),
                        "--slices",
                        str(args.slices),
                        "--slice",
                        str(args.slice),
                    ],
                    check=True,
                )
                slices = json.loads(out.read_text())
                for tool, own in slices.items():
                    results["tools"].setdefault(tool, {})[str(concurrency)] = serving._figures(own)
        finally:
            for proc in procs:
                try:  # the peers' worker processes too (each peer has its own session)
                    os.killpg(proc.pid, 15)
                except (ProcessLookupError, PermissionError):
                    proc.terminate()
                proc.wait(60)
    results["settings"] = {
        "concurrency": args.concurrency,
        "slices": args.slices,
        "slice_seconds": args.slice,
        "warmup_seconds": args.warmup,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "serving_peers.json").write_text(json.dumps(results, indent=2))
    print(table(results))


def _first_row() -> list[float]:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer().data[0].tolist()


def _set_server(root: Path, values: dict[str, Any]) -> None:
    import yaml

    config = yaml.safe_load((root / "aims.yaml").read_text())
    config.setdefault("server", {}).update(values)
    (root / "aims.yaml").write_text(yaml.safe_dump(config))


def table(results: dict[str, Any]) -> str:
    """The results as a Markdown table: one row per tool and concurrency."""
    lines = [
        "| tool | concurrency | requests/s | p50 ms | p99 ms | server CPU ms/request |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for tool, by_c in results["tools"].items():
        for c, f in by_c.items():
            lines.append(
                f"| {tool} | {c} | {f['throughput_rps']:.0f} | {f['p50_ms']:.2f} | "
                f"{f['p99_ms']:.2f} | {f['server_cpu_ms_per_request']:.2f} |"
            )
    return "\n".join(lines)


RESULTS = HERE / "results"

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tools", default=",".join(TOOLS), help="Comma-separated; default all.")
    parser.add_argument("--concurrency", default="1,8,32", help="Comma-separated levels.")
    parser.add_argument("--slices", type=int, default=10, help="Measured slices per tool.")
    parser.add_argument("--slice", type=float, default=1.0, help="Seconds per slice.")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--load", action="store_true")
    parser.add_argument("--targets")
    parser.add_argument("--out")
    parser.add_argument(
        "--quick", action="store_true", help="3 half-second slices; results not comparable"
    )
    ns = parser.parse_args()
    if ns.quick:
        ns.slices, ns.slice, ns.warmup = 3, 0.5, 1.0
        RESULTS = RESULTS / "quick"
    if ns.load:
        serving._cpu_seconds = _tree_cpu_seconds
        ns.concurrency = int(ns.concurrency)
        ns.reconnect = True
        ns.workers = 1  # one server process each: the generator stays on its own core
        serving.load(ns)
    else:
        main(ns)
