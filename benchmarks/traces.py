#!/usr/bin/env python
"""Trace ingest benchmark: aims against Arize Phoenix, spans per second over OTLP/HTTP.

One command reproduces the figures (the first run creates Phoenix's own
environment, ``benchmarks/venv-phoenix``, with ``arize-phoenix`` from PyPI)::

    .venv/bin/python benchmarks/traces.py            # --spans 10000 --batch 512 --clients 2
    .venv/bin/python benchmarks/traces.py --quick    # aims only, 2,000 spans

The spans are GenAI traces of the current OpenTelemetry conventions, made once
with the OpenTelemetry SDK and kept in memory: an ``invoke_agent`` root span
with chat spans (model, provider, input and output token counts, a short input
and output message) and tool spans under it. Both servers get the same spans.

Each server runs in its own process pinned to CPU 0 (``taskset``): ``aims
serve`` on a fresh workspace, authenticated with a predictor key's token and
keeping message content in full (as Phoenix does), and ``phoenix serve`` with
its defaults (SQLite in a fresh working folder, no authentication). The senders
(``--clients`` threads, each with its own official ``OTLPSpanExporter`` sending
Protobuf batches of ``--batch`` spans) run in this process, pinned to CPU 1.

Both servers answer an export before the spans are on disk (each has a
background writer), so a run is timed from the first request until the
server's own store holds every span: the row count of aims's Parquet span
store and of Phoenix's ``spans`` table, polled from this process. Afterwards
the spans are counted once more through each tool's own reader (aims's
``read_spans``, Phoenix's GraphQL API); a run whose stores miss spans is
reported as such. Reported per server: stored spans per second of wall time,
stored spans per CPU-second of the server process (its user + system time,
the figure that depends least on what else the machine runs), the CPU time of
the senders while sending, the server's peak resident memory (``VmHWM``: over
the whole run, and before the first span), its resident memory at the end, and
the load average before and after. Results go to ``benchmarks/results/traces.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sqlite3
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
# Phoenix lives in its own environment, never in aims's: pinned so that a
# re-run measures the same release.
PHOENIX_REQUIREMENTS = ["arize-phoenix==20.26.1"]
SPANS_PER_TRACE = 8  # one agent span, then chat and tool calls in turn
WARM_UP_SPANS = 1024


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """User + system CPU time of this process (the senders) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb(pid: int, field: str = "VmHWM") -> float:
    """Peak (``VmHWM``) or current (``VmRSS``) resident memory of process ``pid``, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Target:
    """A server that takes OTLP/HTTP traces and can say how many spans it stored."""

    name = "target"
    proc: subprocess.Popen[bytes]
    url: str
    headers: dict[str, str]

    def start(self, folder: Path) -> None:
        raise NotImplementedError

    def stored_now(self) -> int:
        """Spans in the server's store at this moment (read without the server's help)."""
        raise NotImplementedError

    def stored_by_api(self) -> int:
        """Spans the tool itself says it holds, asked once the run is over."""
        raise NotImplementedError

    def launch(self, command: list[str], env: dict[str, str], log: Path) -> None:
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                ["taskset", "-c", str(SERVER_CPU), *command],
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, probe: str) -> None:
        deadline = time.monotonic() + 300  # Phoenix runs its migrations first
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited while starting")
            try:
                if httpx.get(probe, timeout=2).status_code == 200:
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
        # Phoenix keeps every attribute, messages included: aims keeps them too here.
        with (root / "aims.yaml").open("a") as f:
            f.write("\ntraces:\n  content: full\n")
        ws = Workspace.open(root)
        _, key = keys.create_key(ws, project="default", role="predictor", actor="bench@x.org")
        ws.close()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "aims", "-w", str(root), "serve", "--port", str(port)]
        self.launch(
            [*command, "--log-level", "warning"],
            {"AIMS_USER": "bench@x.org"},
            folder / "aims.log",
        )
        self.wait_ready(f"{self.url}/readyz")
        token = httpx.post(f"{self.url}/v1/auth/token", json={"api_key": key}).json()
        self.headers = {"Authorization": f"Bearer {token['access_token']}"}
        self.store = root / ".aims" / "traces"

    def stored_now(self) -> int:
        import pyarrow.parquet as pq

        # Row counts from the footers of finished files (hidden ones are still being
        # written): cheap enough to poll.
        return sum(pq.read_metadata(p).num_rows for p in self.store.rglob("part-*.parquet"))

    def stored_by_api(self) -> int:
        from aims.storage.traces import read_spans

        return sum(b.num_rows for b in read_spans(str(self.store), columns=["span_id"]))


def phoenix_python() -> Path:
    """The interpreter of Phoenix's own environment, created the first time."""
    python = HERE / "venv-phoenix" / "bin" / "python"
    if not python.exists():
        print("venv-phoenix: creating (a few minutes)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(python.parent.parent)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *PHOENIX_REQUIREMENTS], check=True
        )
    return python


class Phoenix(Target):
    """``phoenix serve`` (Arize Phoenix) with its defaults: SQLite, no authentication."""

    name = "phoenix"

    def start(self, folder: Path) -> None:
        python = phoenix_python()
        work = folder / "phoenix"
        work.mkdir()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.headers = {}
        self.database = work / "phoenix.db"
        self.launch(
            [str(python.parent / "phoenix"), "serve"],
            {
                "PHOENIX_WORKING_DIR": str(work),
                "PHOENIX_HOST": "127.0.0.1",
                "PHOENIX_PORT": str(port),
                "PHOENIX_GRPC_PORT": str(free_port()),
                "PHOENIX_TELEMETRY_ENABLED": "false",
            },
            folder / "phoenix.log",
        )
        self.wait_ready(f"{self.url}/healthz")
        self.version = subprocess.run(
            [str(python), "-c", "import phoenix; print(phoenix.__version__)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    def stored_now(self) -> int:
        db = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=10)
        try:
            return int(db.execute("SELECT count(*) FROM spans").fetchone()[0])
        finally:
            db.close()

    def stored_by_api(self) -> int:
        query = "{ projects { edges { node { name recordCount } } } }"
        answer = httpx.post(f"{self.url}/graphql", json={"query": query}, timeout=60).json()
        return sum(e["node"]["recordCount"] for e in answer["data"]["projects"]["edges"])


TARGETS: dict[str, type[Target]] = {"aims": Aims, "phoenix": Phoenix}


def make_spans(n: int) -> list[Any]:
    """``n`` finished GenAI spans: traces of an agent span over chat and tool calls."""
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
    made = 0
    while made < n:
        trace = made // SPANS_PER_TRACE
        with tracer.start_as_current_span("invoke_agent support") as agent:
            agent.set_attributes(
                {
                    "gen_ai.operation.name": "invoke_agent",
                    "gen_ai.agent.name": "support",
                    "gen_ai.conversation.id": f"conv-{trace}",
                }
            )
            made += 1
            step = 0
            while made < n and step < SPANS_PER_TRACE - 1:
                if step % 2 == 0:
                    with tracer.start_as_current_span("chat gpt-4o-mini") as span:
                        span.set_attributes(
                            {
                                "gen_ai.operation.name": "chat",
                                "gen_ai.provider.name": "openai",
                                "gen_ai.request.model": "gpt-4o-mini",
                                "gen_ai.response.model": "gpt-4o-mini",
                                "gen_ai.usage.input_tokens": 120 + made % 50,
                                "gen_ai.usage.output_tokens": 30,
                                "gen_ai.conversation.id": f"conv-{trace}",
                                "gen_ai.input.messages": messages,
                                "gen_ai.output.messages": answer,
                            }
                        )
                else:
                    with tracer.start_as_current_span("execute_tool lookup_order") as span:
                        span.set_attributes(
                            {
                                "gen_ai.operation.name": "execute_tool",
                                "gen_ai.tool.name": "lookup_order",
                                "gen_ai.tool.call.id": f"call-{made}",
                            }
                        )
                made += 1
                step += 1
    spans = list(memory.get_finished_spans())
    provider.shutdown()
    return spans


def load_average() -> float:
    return round(os.getloadavg()[0], 1)


def wait_stored(target: Target, expected: int, stall_s: float) -> tuple[int, float]:
    """Poll the store until it holds ``expected`` spans or stops growing for ``stall_s``."""
    seen, last_change = -1, time.perf_counter()
    while True:
        now = target.stored_now()
        if now >= expected:
            return now, time.perf_counter()
        if now != seen:
            seen, last_change = now, time.perf_counter()
        elif time.perf_counter() - last_change > stall_s:
            return now, last_change
        time.sleep(0.1)


def send(target: Target, spans: list[Any], batch: int, clients: int) -> tuple[int, float]:
    """Send ``spans`` from ``clients`` exporter threads; failed batches and wall time."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    batches = [spans[i : i + batch] for i in range(0, len(spans), batch)]
    failures = [0]
    lock = threading.Lock()
    queue = list(reversed(batches))

    def worker() -> None:
        exporter = OTLPSpanExporter(
            endpoint=f"{target.url}/v1/traces", headers=target.headers, timeout=120
        )
        while True:
            with lock:
                if not queue:
                    break
                item = queue.pop()
            if exporter.export(item) is not SpanExportResult.SUCCESS:
                with lock:
                    failures[0] += 1
        exporter.shutdown()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures[0], time.perf_counter() - t0


def measure(
    target: Target, warm: list[Any], spans: list[Any], batch: int, clients: int, stall_s: float
) -> dict[str, Any]:
    """Warm ``target`` up, then time ``spans`` from the first request until all are stored.

    The warm-up spans are other spans than the timed ones: a store that keeps
    one row per span id (Phoenix) would not count a span sent twice.
    """
    # Start-up included: for aims, the token exchange (an argon2id check of the key,
    # 64 MiB while it runs) has happened by now.
    start_peak = peak_rss_mb(target.proc.pid)
    send(target, warm, batch, clients)
    before, _ = wait_stored(target, len(warm), stall_s)
    if before < len(warm):
        raise RuntimeError(f"{target.name} stored {before} of the {len(warm)} warm-up spans")
    expected = before + len(spans)
    load0, cpu0, own0 = load_average(), cpu_seconds(target.proc.pid), own_cpu_seconds()
    t0 = time.perf_counter()
    failed, sent_s = send(target, spans, batch, clients)
    sender_cpu = own_cpu_seconds() - own0
    stored, t_stored = wait_stored(target, expected, stall_s)
    wall = t_stored - t0
    cpu = cpu_seconds(target.proc.pid) - cpu0
    ingested = stored - before
    return {
        "spans": len(spans),
        "failed_batches": failed,
        "sent_wall_s": round(sent_s, 3),
        "stored_wall_s": round(wall, 3),
        "spans_per_s": round(ingested / wall),
        "server_cpu_s": round(cpu, 2),
        "spans_per_cpu_s": round(ingested / cpu) if cpu else None,
        "sender_cpu_s": round(sender_cpu, 2),
        "peak_rss_mb": round(peak_rss_mb(target.proc.pid), 1),
        "start_peak_rss_mb": round(start_peak, 1),
        "end_rss_mb": round(peak_rss_mb(target.proc.pid, "VmRSS"), 1),
        "load_average": [load0, load_average()],
        "stored": ingested,
        "complete": stored >= expected,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--spans",
        type=int,
        default=10_000,
        help=f"Timed spans per server, after {WARM_UP_SPANS:,} spans of warm-up.",
    )
    parser.add_argument("--batch", type=int, default=512, help="Spans per export request.")
    parser.add_argument("--clients", type=int, default=2, help="Sending threads.")
    parser.add_argument(
        "--targets", default=",".join(TARGETS), help="Comma-separated: aims, phoenix."
    )
    parser.add_argument(
        "--stall",
        type=float,
        default=120.0,
        help="Seconds a store may stop growing before the run is called incomplete.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="aims only, 2,000 spans, results in benchmarks/results/quick/ (a smoke run)",
    )
    args = parser.parse_args()
    results_dir = RESULTS
    if args.quick:
        results_dir = RESULTS / "quick"
        if "--spans" not in sys.argv:
            args.spans = 2_000
        if "--targets" not in sys.argv:
            args.targets = "aims"
    names = args.targets.split(",")
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    os.sched_setaffinity(0, {CLIENT_CPU % (os.cpu_count() or 1)})
    spans = make_spans(WARM_UP_SPANS + args.spans)
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "spans": args.spans,
        "batch": args.batch,
        "clients": args.clients,
    }
    for name in names:
        target = TARGETS[name]()
        with tempfile.TemporaryDirectory() as folder:
            target.start(Path(folder))
            try:
                row = measure(
                    target,
                    spans[:WARM_UP_SPANS],
                    spans[WARM_UP_SPANS:],
                    args.batch,
                    args.clients,
                    args.stall,
                )
                row["stored_by_api"] = target.stored_by_api() - WARM_UP_SPANS
                if isinstance(target, Phoenix):
                    row["version"] = target.version
            finally:
                target.stop()
        results[name] = row
        print(name, json.dumps(row), flush=True)
    if "aims" in results and "phoenix" in results:
        a, p = results["aims"], results["phoenix"]
        results["aims_vs_phoenix"] = {
            "throughput_x": round(a["spans_per_s"] / p["spans_per_s"], 1),
            "throughput_per_cpu_x": round(a["spans_per_cpu_s"] / p["spans_per_cpu_s"], 1),
            "peak_rss_ratio": round(a["peak_rss_mb"] / p["peak_rss_mb"], 2),
        }
        print("aims vs phoenix", json.dumps(results["aims_vs_phoenix"]))
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "traces.json").write_text(json.dumps(results, indent=2) + "\n")
    short = [n for n in names if not results[n]["complete"] or results[n]["failed_batches"]]
    if short:
        # A throughput over spans that were not all stored means nothing: fail the run.
        sys.exit(f"not every span was acknowledged and stored by: {', '.join(short)}")


if __name__ == "__main__":
    main()
