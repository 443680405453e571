"""What the gateway keeps of every call: the audit log's record, and counts on ``/metrics``.

Every call through the gateway, forwarded or refused, is recorded with the
agent, its owner, the server, the tool, the verdict and why, the screening's
findings, and the arguments' values hashed (keyed with the workspace's
personal-data salt, so equal values can be matched across calls without
being readable).

The records are written by a background thread, so the audit log's write
lock is not on the path of a call, and grouped: one ``gateway.calls`` event
per agent and tool per second (``interval``) holds the records of that
second's calls in order, with their count. A chained event costs about a
millisecond to write; grouping keeps the log's cost flat however busy an
agent is, as the refused-call audit does (:mod:`aims.server.auth_events`).
Closing the recorder writes what is left.

Each screening decision also becomes an OpenTelemetry guardrail span
(operation ``apply_guardrail``, ``gen_ai.guardrail.name`` and ``.verdict``) in
the span store of ``/v1/traces``, under application ``aims-gateway``, when the
server has one: one span per call and place screened (arguments, result).
"""

from __future__ import annotations

import collections
import functools
import hashlib
import hmac
import json
import logging
import secrets
import threading
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
from prometheus_client import CollectorRegistry, Counter

from aims.core.genai.span import span_schema
from aims.services import audit

__all__ = ["APPLICATION", "GatewayMetrics", "Recorder", "guardrail_spans", "hashed_arguments"]

APPLICATION = "aims-gateway"
"""The application name of the gateway's guardrail spans in the span store."""

log = logging.getLogger("aims.gateway")


def hashed_arguments(arguments: dict[str, Any], salt: str) -> dict[str, str]:
    """Each argument's value as a keyed hash (16 hex digits); names are kept.

    >>> hashed_arguments({"path": "/a"}, "s") == hashed_arguments({"path": "/a"}, "s")
    True
    """
    keyed = _keyed(salt)
    out = {}
    for name, value in arguments.items():
        text = _CANONICAL.encode(value)
        mac = keyed.copy()
        mac.update(text.encode())
        out[str(name)] = mac.hexdigest()[:16]
    return out


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
"""The argument values' canonical JSON (one encoder, where ``json.dumps`` builds one per call)."""


@functools.lru_cache(maxsize=4)
def _keyed(salt: str) -> hmac.HMAC:
    # Keying HMAC hashes the key's pads; copying a keyed one skips that on every argument.
    return hmac.new(salt.encode(), digestmod=hashlib.sha256)


def guardrail_spans(batch: list[tuple[str, str, dict[str, Any]]]) -> pa.Table:
    """Span rows of the screening decisions in ``batch`` (agent, subject, call record).

    Built column by column, with one draw of random bytes for all the trace and
    span ids: a table built row by row costs several times more, and this runs
    for every call the gateway screens.
    """
    cols: dict[str, list[Any]] = {name: [] for name in _SPAN_COLUMNS}
    # Per call: a trace id (32 hex digits) and a span id (16) for each place screened (at most 2).
    ids = secrets.token_hex(32 * len(batch))
    for i, (agent, _subject, record) in enumerate(batch):
        screening = record.get("screening") or {}
        if not screening:
            continue
        end = datetime.fromisoformat(record["at"])
        start = end - timedelta(milliseconds=record["ms"])
        base = 64 * i
        trace = ids[base : base + 32]
        project = record.get("project") or "default"
        tool = f"{record['server']}/{record['tool']}"
        for j, (place, verdict) in enumerate(screening.items()):
            found = [f for f in record["findings"] if f["place"] == place]
            cols["project"].append(project)
            cols["trace_id"].append(trace)
            cols["span_id"].append(ids[base + 32 + 16 * j : base + 48 + 16 * j])
            cols["name"].append(f"apply_guardrail aims.gateway.{place}")
            cols["agent_name"].append(agent)
            cols["tool_name"].append(tool)
            cols["start_time"].append(start)
            cols["end_time"].append(end)
            cols["latency_ms"].append(float(record["ms"]))
            cols["guardrail_name"].append(f"aims.gateway.screening.{place}")
            cols["guardrail_verdict"].append(verdict)
            cols["attributes"].append(json.dumps({"findings": found}) if found else None)
    n = len(cols["trace_id"])
    constant = {
        "application": APPLICATION,
        "operation": "apply_guardrail",
        "mcp_method": "tools/call",
        "status": "ok",
        "dialect": "aims",
    }
    schema = span_schema()
    arrays = []
    for f in schema:
        if f.name in cols:
            arrays.append(pa.array(cols[f.name], type=f.type))
        elif f.name in constant:
            arrays.append(pa.array([constant[f.name]] * n, type=f.type))
        else:
            arrays.append(pa.nulls(n, type=f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


_SPAN_COLUMNS = (
    "project",
    "trace_id",
    "span_id",
    "name",
    "agent_name",
    "tool_name",
    "start_time",
    "end_time",
    "latency_ms",
    "guardrail_name",
    "guardrail_verdict",
    "attributes",
)
"""The span columns that vary from one guardrail span to the next."""


class GatewayMetrics:
    """The gateway's counters, registered on the server's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls = Counter(
            "aims_gateway_calls",
            "Tool calls through the MCP gateway, by server, tool and verdict.",
            ["server", "tool", "verdict"],
            registry=registry,
        )
        self._calls: dict[tuple[str, str, str], Any] = {}
        self.refusals = Counter(
            "aims_gateway_refusals",
            "Tool calls the MCP gateway refused, by reason.",
            ["reason"],
            registry=registry,
        )
        self.findings = Counter(
            "aims_gateway_screening_findings",
            "Screening findings at the MCP gateway, by place and category.",
            ["place", "category"],
            registry=registry,
        )
        self.blocked_tools = Counter(
            "aims_gateway_tools_withheld",
            "Tools withheld from an agent's tool list, by reason.",
            ["reason"],
            registry=registry,
        )

    def count_call(self, server: str, tool: str, verdict: str) -> None:
        """Count one call; each label set's child is looked up once (a lookup takes a lock)."""
        key = (server, tool, verdict)
        child = self._calls.get(key)
        if child is None:
            child = self._calls[key] = self.calls.labels(server, tool, verdict)
        child.inc()


class Recorder:
    """A background writer of ``gateway.calls`` events (see the module docstring)."""

    def __init__(self, ws: Any, *, interval: float = 1.0, spans: Any = None) -> None:
        self.ws = ws
        self.interval = interval
        self.spans = spans
        """The span store's writer (:class:`aims.storage.traces.SpanWriter`), or None."""
        # A call appends to a deque and wakes nobody: waking the writer on every call (as a
        # queue's put does) costs a thread switch per call. The writer wakes each interval,
        # or when asked to flush or stop.
        self._pending: collections.deque[tuple[str, str, dict[str, Any]]] = collections.deque()
        self._flushes: collections.deque[threading.Event] = collections.deque()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="aims-gateway-audit", daemon=True)
        self._thread.start()

    def record(self, agent: str, subject: str, payload: dict[str, Any]) -> None:
        """Queue the record of one call; it is written within ``interval`` seconds."""
        self._pending.append((agent, subject, payload))

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            stopping = self._stopping
            # Flush requests are taken before the records: every record queued before a
            # request is then in this batch, written before the request is answered.
            flushed = _drain(self._flushes)
            batch = _drain(self._pending)
            if batch:
                self._write(batch)
            for done in flushed:
                done.set()
            if stopping:
                return

    def _write(self, batch: list[tuple[str, str, dict[str, Any]]]) -> None:
        grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for agent, subject, payload in batch:
            grouped.setdefault((agent, subject), []).append(payload)
        try:
            with self.ws.db.session() as s:
                for (agent, subject), calls in grouped.items():
                    audit.record(
                        s,
                        actor=agent,
                        action="gateway.calls",
                        subject=subject,
                        payload={"count": len(calls), "calls": calls},
                    )
        except Exception as exc:  # the store may be down; the calls were served, say so loudly
            log.error("could not audit %d gateway calls: %s", len(batch), exc)
        if self.spans is not None:
            try:
                table = guardrail_spans(batch)
                if table.num_rows:
                    self.spans.append(table)
            except Exception as exc:  # a full span queue must not stop the audit
                log.warning("could not store %d guardrail spans: %s", len(batch), exc)

    def flush(self, timeout: float = 10.0) -> bool:
        """Write everything queued so far; False if the writer did not catch up in ``timeout``."""
        done = threading.Event()
        self._flushes.append(done)
        self._wake.set()
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued and stop the writer."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)


def _drain(items: collections.deque[Any]) -> list[Any]:
    out = []
    while items:
        out.append(items.popleft())
    return out
