#!/usr/bin/env python
"""Trace ingest benchmark: spans per second over OTLP/HTTP from the official exporter.

One command reproduces the figures::

    .venv/bin/python benchmarks/traces.py [--spans 50000] [--batch 512] [--clients 2]

The spans are GenAI chat and tool spans of the current OpenTelemetry
conventions (model, provider, token counts, a short input and output message),
made once with the OpenTelemetry SDK and kept in memory. Each target server
runs in its own process pinned to CPU 0; the senders (``--clients`` threads,
each with its own ``OTLPSpanExporter`` sending Protobuf batches of ``--batch``
spans) run in this process, pinned to CPU 1. Reported per target: spans per
second of wall time, spans per CPU-second of the server process (its user +
system time, the figure that does not depend on what else the machine runs),
and the server's peak resident memory. Results go to
``benchmarks/results/traces.json``.

A target is a :class:`Target`: how to start it, where to send spans, how to
stop it. ``aims`` is the only one here; a peer (Arize Phoenix in its own
environment, say) is another subclass added to :data:`TARGETS`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SERVER_CPU = 0
CLIENT_CPU = 1


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Target:
    """A server that takes OTLP/HTTP traces."""

    name = "target"
    proc: subprocess.Popen[bytes]
    url: str
    headers: dict[str, str]

    def start(self, folder: Path) -> None:
        raise NotImplementedError

    def wait_ready(self, probe: str) -> None:
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited while starting")
            try:
                if httpx.get(probe, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not become ready")
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(60)


class Aims(Target):
    """``aims serve`` on a fresh workspace, with a predictor key's token."""

    name = "aims"

    def start(self, folder: Path) -> None:
        from aims.services import keys
        from aims.workspace import Workspace, init_workspace

        root = folder / "ws"
        init_workspace(root)
        ws = Workspace.open(root)
        _, key = keys.create_key(ws, project="default", role="predictor", actor="bench@x.org")
        ws.close()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [
                "taskset",
                "-c",
                str(SERVER_CPU),
                sys.executable,
                "-m",
                "aims",
                "-w",
                str(root),
                "serve",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env={**os.environ, "AIMS_USER": "bench@x.org"},
            stdout=subprocess.DEVNULL,
        )
        self.wait_ready(f"{self.url}/readyz")
        token = httpx.post(f"{self.url}/v1/auth/token", json={"api_key": key}).json()
        self.headers = {"Authorization": f"Bearer {token['access_token']}"}
        self.store = root / ".aims" / "traces"

    def stored(self) -> int:
        from aims.storage.traces import read_spans

        return sum(b.num_rows for b in read_spans(str(self.store), columns=["span_id"]))


TARGETS: dict[str, type[Target]] = {"aims": Aims}


def make_spans(n: int) -> list[Any]:
    """``n`` finished GenAI spans (a chat call and a tool call per agent step)."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "bench-agent"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    messages = json.dumps(
        [{"role": "user", "parts": [{"type": "text", "content": "Where is my order 1234?"}]}]
    )
    answer = json.dumps(
        [
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": "It ships tomorrow."}],
                "finish_reason": "stop",
            }
        ]
    )
    for i in range(n):
        if i % 2 == 0:
            with tracer.start_as_current_span("chat gpt-4o-mini") as span:
                span.set_attributes(
                    {
                        "gen_ai.operation.name": "chat",
                        "gen_ai.provider.name": "openai",
                        "gen_ai.request.model": "gpt-4o-mini",
                        "gen_ai.usage.input_tokens": 120 + i % 50,
                        "gen_ai.usage.output_tokens": 30,
                        "gen_ai.conversation.id": f"conv-{i // 10}",
                        "gen_ai.input.messages": messages,
                        "gen_ai.output.messages": answer,
                    }
                )
        else:
            with tracer.start_as_current_span("execute_tool lookup") as span:
                span.set_attributes(
                    {
                        "gen_ai.operation.name": "execute_tool",
                        "gen_ai.tool.name": "lookup_order",
                        "gen_ai.tool.call.id": f"call-{i}",
                    }
                )
    spans = list(memory.get_finished_spans())
    provider.shutdown()
    return spans


def send(target: Target, spans: list[Any], batch: int, clients: int) -> dict[str, Any]:
    """Send ``spans`` from ``clients`` threads; the figures of the run."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    batches = [spans[i : i + batch] for i in range(0, len(spans), batch)]
    failures = [0]
    lock = threading.Lock()
    queue = list(reversed(batches))

    def worker() -> None:
        exporter = OTLPSpanExporter(endpoint=f"{target.url}/v1/traces", headers=target.headers)
        while True:
            with lock:
                if not queue:
                    break
                item = queue.pop()
            if exporter.export(item) is not SpanExportResult.SUCCESS:
                with lock:
                    failures[0] += 1
        exporter.shutdown()

    cpu0 = cpu_seconds(target.proc.pid)
    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    cpu = cpu_seconds(target.proc.pid) - cpu0
    return {
        "spans": len(spans),
        "failed_batches": failures[0],
        "wall_s": round(wall, 3),
        "spans_per_s": round(len(spans) / wall),
        "server_cpu_s": round(cpu, 3),
        "spans_per_cpu_s": round(len(spans) / cpu) if cpu else None,
        "peak_rss_mb": round(peak_rss_mb(target.proc.pid), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=512, help="Spans per export request.")
    parser.add_argument("--clients", type=int, default=2, help="Sending threads.")
    parser.add_argument("--targets", default=",".join(TARGETS), help="Comma-separated targets.")
    args = parser.parse_args()
    os.sched_setaffinity(0, {CLIENT_CPU % (os.cpu_count() or 1)})
    spans = make_spans(args.spans)
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "batch": args.batch,
        "clients": args.clients,
    }
    for name in args.targets.split(","):
        target = TARGETS[name]()
        with tempfile.TemporaryDirectory() as folder:
            target.start(Path(folder))
            try:
                send(target, spans[: min(2000, len(spans))], args.batch, args.clients)  # warm-up
                results[name] = send(target, spans, args.batch, args.clients)
            finally:
                target.stop()
            if isinstance(target, Aims):
                results[name]["stored"] = target.stored()
        print(name, json.dumps(results[name]))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "traces.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
