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
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from aims.services import audit

__all__ = ["GatewayMetrics", "Recorder", "hashed_arguments"]

log = logging.getLogger("aims.gateway")


def hashed_arguments(arguments: dict[str, Any], salt: str) -> dict[str, str]:
    """Each argument's value as a keyed hash (16 hex digits); names are kept.

    >>> hashed_arguments({"path": "/a"}, "s") == hashed_arguments({"path": "/a"}, "s")
    True
    """
    out = {}
    for name, value in arguments.items():
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        out[str(name)] = hmac.new(salt.encode(), text.encode(), hashlib.sha256).hexdigest()[:16]
    return out


class GatewayMetrics:
    """The gateway's counters, registered on the server's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls = Counter(
            "aims_gateway_calls",
            "Tool calls through the MCP gateway, by server, tool and verdict.",
            ["server", "tool", "verdict"],
            registry=registry,
        )
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


class Recorder:
    """A background writer of ``gateway.calls`` events (see the module docstring)."""

    def __init__(self, ws: Any, *, interval: float = 1.0) -> None:
        self.ws = ws
        self.interval = interval
        self._queue: queue.Queue[tuple[str, str, dict[str, Any]] | threading.Event | None] = (
            queue.Queue()
        )
        self._thread = threading.Thread(target=self._run, name="aims-gateway-audit", daemon=True)
        self._thread.start()

    def record(self, agent: str, subject: str, payload: dict[str, Any]) -> None:
        """Queue the record of one call; it is written within ``interval`` seconds."""
        self._queue.put((agent, subject, payload))

    def _run(self) -> None:
        stop = False
        while not stop:
            batch: list[tuple[str, str, dict[str, Any]]] = []
            flushed: list[threading.Event] = []
            try:
                item = self._queue.get(timeout=self.interval)
            except queue.Empty:
                continue
            while True:
                if item is None:
                    stop = True
                elif isinstance(item, threading.Event):
                    flushed.append(item)
                else:
                    batch.append(item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._write(batch)
            for done in flushed:
                done.set()

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

    def flush(self, timeout: float = 10.0) -> bool:
        """Write everything queued so far; False if the writer did not catch up in ``timeout``."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued and stop the writer."""
        self._queue.put(None)
        self._thread.join(timeout)
