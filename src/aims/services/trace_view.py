"""Traces read back from the span store: a list of recent traces, and one trace as a span tree."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from aims.errors import InvalidInput, NotFound
from aims.services.traces import trace_log_url
from aims.storage.traces import read_spans
from aims.workspace import Workspace

__all__ = ["list_traces", "trace_tree", "tree_order"]

_LIST_COLUMNS = [
    "trace_id", "span_id", "parent_span_id", "project", "application", "version", "name",
    "start_time", "end_time", "input_tokens", "output_tokens", "cost_usd", "status",
]  # fmt: skip
_TREE_COLUMNS = [
    "trace_id", "span_id", "parent_span_id", "project", "application", "version", "name",
    "operation", "provider", "request_model", "response_model", "agent_name", "tool_name",
    "start_time", "end_time", "latency_ms", "input_tokens", "output_tokens", "cost_usd",
    "status", "error_type", "finish_reasons", "dialect",
]  # fmt: skip


def _add(total: Any, value: Any) -> Any:
    if value is None:
        return total
    return value if total is None else total + value


def list_traces(
    ws: Workspace,
    *,
    project: str | None = None,
    application: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The newest ``limit`` traces: root span, start, duration, span count, tokens, cost, errors.

    A trace's spans may be in several partitions (hours, applications); they
    are summed as the store is streamed, holding one summary per trace.
    """
    if limit < 1:
        raise InvalidInput(f"limit must be 1 or more, got {limit}")
    traces: dict[str, dict[str, Any]] = {}
    for batch in read_spans(
        trace_log_url(ws),
        project=project,
        application=application,
        start=since,
        end=until,
        columns=_LIST_COLUMNS,
    ):
        for span in batch.to_pylist():
            t = traces.get(span["trace_id"])
            if t is None:
                t = traces[span["trace_id"]] = {
                    "trace_id": span["trace_id"],
                    "project": span["project"],
                    "application": span["application"],
                    "version": span["version"],
                    "root": None,
                    "start": span["start_time"],
                    "end": span["end_time"],
                    "spans": 0,
                    "errors": 0,
                    "input_tokens": None,
                    "output_tokens": None,
                    "cost_usd": None,
                }
            t["spans"] += 1
            t["errors"] += span["status"] == "error"
            t["start"] = min(t["start"], span["start_time"])
            t["end"] = max(t["end"], span["end_time"])
            for key in ("input_tokens", "output_tokens", "cost_usd"):
                t[key] = _add(t[key], span[key])
            if not span["parent_span_id"]:
                t["root"] = span["name"]
                t["application"], t["version"] = span["application"], span["version"]
    newest = sorted(traces.values(), key=lambda t: t["start"], reverse=True)[:limit]
    for t in newest:
        t["duration_ms"] = round((t["end"] - t["start"]).total_seconds() * 1000, 3)
    return newest


def trace_tree(ws: Workspace, trace_id: str, *, project: str | None = None) -> list[dict[str, Any]]:
    """The spans of ``trace_id`` in tree order (parents before children, siblings by start),
    each with its ``depth``; raises :class:`~aims.errors.NotFound` when no span has that id."""
    wanted = trace_id.strip().lower()
    if len(wanted) != 32 or any(c not in "0123456789abcdef" for c in wanted):
        raise InvalidInput(f"trace id {trace_id!r} is not 32 hex digits")
    spans: list[dict[str, Any]] = []
    for batch in read_spans(trace_log_url(ws), project=project, columns=_TREE_COLUMNS):
        mask = pc.equal(batch.column("trace_id"), pa.scalar(wanted))
        if pc.any(mask).as_py():
            spans.extend(batch.filter(mask).to_pylist())
    if not spans:
        raise NotFound(f"no span of trace {wanted} is in the span store; see 'aims traces list'")
    return tree_order(spans)


def tree_order(spans: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``spans`` parents first, siblings by start, each with its ``depth`` in the tree."""
    by_id = {s["span_id"]: s for s in spans}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for s in by_id.values():
        # A span whose parent never arrived is shown as a root rather than lost.
        parent = s["parent_span_id"] if s["parent_span_id"] in by_id else None
        children.setdefault(parent, []).append(s)
    out: list[dict[str, Any]] = []
    stack = [(s, 0) for s in sorted(children.get(None, []), key=lambda s: s["start_time"])][::-1]
    while stack:
        span, depth = stack.pop()
        out.append({**span, "depth": depth})
        kids = sorted(children.get(span["span_id"], []), key=lambda s: s["start_time"])
        stack.extend((k, depth + 1) for k in reversed(kids))
    if len(out) < len(by_id):  # parent links that loop: shown flat, never dropped
        shown = {s["span_id"] for s in out}
        out += [{**s, "depth": 0} for s in by_id.values() if s["span_id"] not in shown]
    return out
