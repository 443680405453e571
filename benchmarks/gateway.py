#!/usr/bin/env python
"""MCP gateway benchmark: tool calls through ``/gateway/mcp`` against calls straight to the upstream.

One command reproduces the figures in ``docs/benchmarks.md`` (## MCP gateway)::

    .venv/bin/python benchmarks/gateway.py            # --concurrency 4 --slices 20 --slice 1.0

Two processes serve: the small upstream MCP server of the tests
(``tests/mcp_upstream.py``, the ``mcp`` SDK's streamable HTTP server with JSON
answers), and ``aims serve`` (the assembled server: token checks, the gateway
with its allow-list, pins, screening of arguments and results under the
default policy, rate limits, the audit of every call and the metrics). A
load generator in a third process keeps ``--concurrency`` calls of the
``echo`` tool in flight, with the same minimal JSON-RPC client for both paths:

(a) ``direct``: the upstream server itself, with the gateway's own credential;
(b) ``gateway``: the same tool as ``files__echo`` through the gateway, with the
    agent's audience-bound token.

The generator alternates between them in ``--slices`` slices of ``--slice``
seconds (direct, gateway, gateway, direct, ...) so both see the same
background load. Reported per path: calls per second, p50/p99 latency, and CPU
per call of each server (from ``/proc``; ``aims_loop`` is the event-loop thread
of aims serve, which serves the requests, apart from its audit and span
writers). The p99 added by the gateway is the target (at most 2 ms at
concurrency 4); the CPU per call is the steadier figure on a shared machine.
Results go to ``benchmarks/results/gateway_c<concurrency>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
SECRET = "gateway-benchmark-upstream-secret"

# The server of 'aims serve', run under cProfile in the workspace folder (--profile).
PROFILED = """
import cProfile, signal, sys, uvicorn
signal.signal(signal.SIGTERM, lambda *a: None)  # uvicorn raises it again after its shutdown
from aims.server.assembly import build_server
from aims.workspace import Workspace
app = build_server(Workspace.open())
server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning"))
profile = cProfile.Profile(__import__("time").thread_time)
profile.enable()
server.run()
profile.disable()
profile.dump_stats(sys.argv[1])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    url: str, proc: subprocess.Popen, timeout: float = 120.0, log: Path | None = None
) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            said = log.read_text()[-2000:] if log is not None and log.exists() else ""
            raise SystemExit(f"{proc.args!r} exited with {proc.returncode}\n{said}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {timeout:g} s")


def prepare(root: Path, upstream: str) -> tuple[Path, str]:
    """A workspace with agent ``bench-bot`` allowed to call ``files/echo``; returns it and the key."""
    import yaml

    from aims.services import identity, keys
    from aims.services.gateway import allowlist, inventory
    from aims.workspace import Workspace, init_workspace

    init_workspace(root)
    config = yaml.safe_load((root / "aims.yaml").read_text())
    # Limits far above the load, so the benchmark measures the checks, not refusals.
    config["gateway"] = {
        "agent_rate": 100000,
        "agent_burst": 100000,
        "tool_rate": 100000,
        "tool_burst": 100000,
    }
    config.setdefault("server", {}).update(rate_limit=100000, rate_burst=100000)
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    ws = Workspace.open(root)
    identity.add_principal(ws, "owner@bench.example", kind="human", actor="bench")
    identity.add_principal(
        ws, "bench-bot", kind="agent", owner="owner@bench.example", actor="bench"
    )
    identity.grant(ws, "bench-bot", role="viewer", project="default", actor="bench")
    key = keys.create_key(
        ws, project="default", role="viewer", actor="bench", principal="bench-bot"
    )[1]
    secret = root / "upstream.secret"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    inventory.add_server(
        ws,
        "files",
        owner="owner@bench.example",
        url=upstream,
        credential=f"file:{secret}",
        actor="bench",
    )
    allowlist.allow(ws, "bench-bot", "files", "echo", actor="bench")
    ws.close()
    return root, key


ARGUMENTS = {"text": "hello world, how are you today?"}


async def _slice(
    clients: list[Any], tool: str, seconds: float, out: list[float], errors: list[str]
) -> None:
    """Keep every client calling ``tool`` for ``seconds``; latencies (ms) into ``out``."""
    from aims.server.gateway.upstream import UpstreamError

    stop_at = time.perf_counter() + seconds

    async def one(client: Any) -> None:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            try:
                result = await client.call_tool(tool, ARGUMENTS)
                if result.get("isError"):
                    errors.append(str(result["content"][0]["text"]))
            except UpstreamError as exc:
                errors.append(str(exc))
            out.append((time.perf_counter() - t0) * 1000)

    await asyncio.gather(*(one(c) for c in clients))


async def measure(
    paths: dict[str, tuple[str, str, str]],
    concurrency: int,
    slices: int,
    seconds: float,
    pids: dict[str, int | str] | None = None,
) -> dict:
    """Alternate slices between the paths, with ``concurrency`` kept-alive clients each."""
    from aims.server.gateway.upstream import UpstreamClient

    # One kept-alive connection per client and path.
    clients = {
        which: [UpstreamClient(which, url, token=token, timeout=30) for _ in range(concurrency)]
        for which, (url, token, _tool) in paths.items()
    }
    lat: dict[str, list[float]] = {w: [] for w in paths}
    spent: dict[str, float] = dict.fromkeys(paths, 0.0)
    cpu: dict[str, dict[str, float]] = {w: dict.fromkeys(pids or {}, 0.0) for w in paths}
    errors: list[str] = []
    for which in paths:  # warm-up: sessions opened, tool lists read, caches filled
        await clients[which][0].list_tools()
        await _slice(clients[which], paths[which][2], 1.0, [], errors)
    order = ["direct", "gateway", "gateway", "direct"]
    for i in range(slices * 2):
        which = order[i % 4]
        t0 = time.perf_counter()
        before = {name: cpu_seconds(pid) for name, pid in (pids or {}).items()}
        await _slice(clients[which], paths[which][2], seconds, lat[which], errors)
        for name, pid in (pids or {}).items():
            cpu[which][name] += cpu_seconds(pid) - before[name]
        spent[which] += time.perf_counter() - t0
    return {"lat": lat, "spent": spent, "errors": errors, "cpu": cpu}


def cpu_seconds(pid: int | str) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``); ``PID/task/TID``
    names one thread of it."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--slices", type=int, default=20)
    parser.add_argument("--slice", type=float, default=1.0)
    parser.add_argument("--profile", default=None, help="Write a cProfile of the aims server here.")
    args = parser.parse_args()
    import httpx

    procs: list[subprocess.Popen] = []
    # The repository first, so the tests' upstream server imports; a PYTHONPATH already set
    # (another checkout's sources) is kept after it.
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            up_port, aims_port = free_port(), free_port()
            upstream = f"http://127.0.0.1:{up_port}/mcp"
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "tests.mcp_upstream",
                        "--port",
                        str(up_port),
                        "--token",
                        SECRET,
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
            wait_for(f"http://127.0.0.1:{up_port}/control/seen", procs[-1])
            root, key = prepare(Path(tmp) / "ws", upstream)
            aims = str(Path(sys.executable).with_name("aims"))
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", PROFILED, args.profile, str(aims_port)]
                    if args.profile
                    else [aims, "serve", "--port", str(aims_port)],
                    cwd=root,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=(root / "serve.log").open("w"),
                    start_new_session=True,
                )
            )
            base = f"http://127.0.0.1:{aims_port}"
            wait_for(base + "/healthz", procs[-1], log=root / "serve.log")
            gateway = base + "/gateway/mcp"
            form = {"grant_type": "client_credentials", "resource": gateway}
            token = httpx.post(
                base + "/oauth/token", data=form, auth=("bench-bot", key), timeout=30
            ).json()["access_token"]
            # The gateway sees the tool, its owner approves it, the agent may call it.
            asyncio.run(measure({"gateway": (gateway, token, "files__echo")}, 1, 0, 0.1))
            from aims.services.gateway.pins import approve_pin
            from aims.workspace import Workspace

            ws = Workspace.open(root)
            approve_pin(ws, "files", "echo", actor="owner@bench.example")
            ws.close()
            paths = {
                "direct": (upstream, SECRET, "echo"),
                "gateway": (gateway, token, "files__echo"),
            }
            pids: dict[str, int | str] = {"upstream": procs[0].pid, "aims": procs[1].pid}
            # The main thread of aims serve runs the event loop, which serves every request:
            # its CPU is the request path's, apart from the audit and span writers' threads.
            pids["aims_loop"] = f"{procs[1].pid}/task/{procs[1].pid}"
            load_before = os.getloadavg()[0]
            got = asyncio.run(measure(paths, args.concurrency, args.slices, args.slice, pids))
            load_after = os.getloadavg()[0]
            lat, spent, errors = got["lat"], got["spent"], got["errors"]
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(30)
    report = {
        "concurrency": args.concurrency,
        "slices_per_path": args.slices,
        "python": platform.python_version(),
        # The machine's 1-minute load average before and after: latency under load mostly
        # measures waiting for a core, the CPU per call much less so.
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "errors": errors[:5],
        "n_errors": len(errors),
    }
    for which, values in lat.items():
        report[which] = {
            "calls": len(values),
            "calls_per_s": round(len(values) / spent[which], 1),
            "p50_ms": round(statistics.median(values), 3),
            "p99_ms": round(pct(values, 0.99), 3),
            "cpu_ms_per_call": {
                name: round(1000 * seconds / max(1, len(values)), 3)
                for name, seconds in got["cpu"][which].items()
            },
        }
    report["p50_added_ms"] = round(report["gateway"]["p50_ms"] - report["direct"]["p50_ms"], 3)
    report["p99_added_ms"] = round(report["gateway"]["p99_ms"] - report["direct"]["p99_ms"], 3)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"gateway_c{args.concurrency}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
