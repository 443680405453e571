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
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from prometheus_client import CollectorRegistry, Counter

from aims.core.genai.span import span_schema
from aims.server.gateway.wire import dumps_sorted
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

    Python touches each call once and each screened place once; Arrow repeats a
    call's values over its spans, parses the times and computes the starts. This
    runs on the recorder's thread for every call the gateway screens, and
    whatever it does in Python holds the interpreter's lock away from the event
    loop: built row by row, a busy second's spans held it for several
    milliseconds, which showed in the slowest calls.
    """
    calls = [(agent, record) for agent, _subject, record in batch if record.get("screening")]
    # Per call: a trace id (32 hex digits) and a span id (16) for each place screened (at most 2).
    ids = secrets.token_hex(32 * len(calls))
    of_call: list[int] = []
    span_ids: list[str] = []
    places: list[str] = []
    verdicts: list[str] = []
    attributes: list[str | None] = []
    for i, (_agent, record) in enumerate(calls):
        base = 64 * i + 32
        findings = record["findings"]
        for j, (place, verdict) in enumerate(record["screening"].items()):
            of_call.append(i)
            span_ids.append(ids[base + 16 * j : base + 16 * j + 16])
            places.append(place)
            verdicts.append(verdict)
            found = [f for f in findings if f["place"] == place] if findings else None
            attributes.append(json.dumps({"findings": found}) if found else None)
    n = len(of_call)
    take = pa.array(of_call, type=pa.int32())
    schema = span_schema()
    ms = pa.array([float(r["ms"]) for _a, r in calls], type=pa.float64())
    end = pc.cast(pa.array([r["at"] for _a, r in calls]), schema.field("end_time").type)
    micros = pc.cast(pc.round(pc.multiply(ms, 1000.0)), pa.int64())
    start = pc.subtract(end, pc.cast(micros, pa.duration("us")))
    per_call = {
        "project": pa.array([r.get("project") or "default" for _a, r in calls]),
        "trace_id": pa.array([ids[64 * i : 64 * i + 32] for i in range(len(calls))]),
        "agent_name": pa.array([a for a, _r in calls]),
        "tool_name": pa.array([f"{r['server']}/{r['tool']}" for _a, r in calls]),
        "start_time": start,
        "end_time": end,
        "latency_ms": ms,
    }
    per_span = {
        "span_id": span_ids,
        "name": [_SPAN_NAMES[p] for p in places],
        "guardrail_name": [_GUARDRAIL_NAMES[p] for p in places],
        "guardrail_verdict": verdicts,
        "attributes": attributes,
    }
    arrays = []
    for f in schema:
        if f.name in per_call:
            arrays.append(per_call[f.name].take(take).cast(f.type))
        elif f.name in per_span:
            arrays.append(pa.array(per_span[f.name], type=f.type))
        elif f.name in _CONSTANT:
            arrays.append(pa.repeat(pa.scalar(_CONSTANT[f.name], f.type), n))
        else:
            arrays.append(pa.nulls(n, type=f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


_PLACES = ("description", "arguments", "result")
_SPAN_NAMES = {p: f"apply_guardrail aims.gateway.{p}" for p in _PLACES}
_GUARDRAIL_NAMES = {p: f"aims.gateway.screening.{p}" for p in _PLACES}
_CONSTANT = {
    "application": APPLICATION,
    "operation": "apply_guardrail",
    "mcp_method": "tools/call",
    "status": "ok",
    "dialect": "aims",
}
"""The span columns that are the same for every guardrail span."""


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
                        payload_json=dumps_sorted({"count": len(calls), "calls": calls}),
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
