"""Traces as the dashboard lists and shows them: filters, cursor pages, one trace as a waterfall.

The list walks the span store's hour partitions newest first and stops once
it holds a page of complete traces, so a page costs the hours it shows (plus
one), not the whole store. A trace is assumed to last less than an hour: once
the hour before a trace's first span is read, the trace is complete. The
cursor is the last trace shown (its start and id); the next page reads from
that hour down. One trace is read from the hour its list row named (and the
next), never by scanning every partition.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import pyarrow as pa
import pyarrow.compute as pc

from aims.clock import now_utc, utc
from aims.errors import InvalidInput, NotFound
from aims.services.trace_view import tree_order
from aims.services.traces import trace_log_url
from aims.storage.traces import read_spans, span_partitions

__all__ = ["PAGE_SIZE", "TraceQuery", "trace_detail", "trace_list"]

PAGE_SIZE = 50
HOUR = dt.timedelta(hours=1)
STATUSES = ("ok", "error")
_LIST = [
    "trace_id", "parent_span_id", "application", "version", "name", "operation",
    "start_time", "end_time", "input_tokens", "output_tokens", "cost_usd", "status",
]  # fmt: skip
_DETAIL = [
    "trace_id", "span_id", "parent_span_id", "application", "version", "name", "operation",
    "provider", "request_model", "response_model", "agent_name", "tool_name", "start_time",
    "end_time", "latency_ms", "input_tokens", "output_tokens", "cost_usd", "status",
    "error_type", "finish_reasons", "refusal",
]  # fmt: skip


def _time(name: str, text: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        return utc(dt.datetime.fromisoformat(text))
    except ValueError:
        raise InvalidInput(
            f"{name} must be a time such as 2026-05-01T13:00 (UTC), not {text!r}"
        ) from None


@dataclass(frozen=True)
class TraceQuery:
    """The trace list's filters and cursor; :meth:`parse` reads them from a URL's query."""

    application: str = ""
    version: str = ""
    status: str = ""
    operation: str = ""
    since: str = ""
    until: str = ""
    before: str = ""

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> TraceQuery:
        """Check the query parameters; a wrong one raises :class:`InvalidInput`."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(params) - known)
        if unknown:
            raise InvalidInput(
                f"unknown trace list parameter {unknown[0]!r}; use {', '.join(sorted(known))}"
            )
        text = {k: str(params.get(k, "")).strip()[:200] for k in known}
        if text["status"] and text["status"] not in STATUSES:
            raise InvalidInput(f"status must be ok or error, not {text['status']!r}")
        q = cls(**text)
        q.window()
        q.cursor()
        return q

    def window(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The time range asked for (``since``, ``until``)."""
        lo, hi = _time("since", self.since), _time("until", self.until)
        if lo and hi and lo >= hi:
            raise InvalidInput("since must be before until")
        return lo, hi

    def cursor(self) -> tuple[dt.datetime, str] | None:
        """The last trace of the previous page: ``(start, trace id)``."""
        if not self.before:
            return None
        when, _, trace_id = self.before.rpartition("|")
        start = _time("before", when)
        if start is None or len(trace_id) != 32:
            raise InvalidInput("before must be a cursor taken from the list's 'older' link")
        return start, trace_id

    def link(self, **changes: Any) -> str:
        """This query's string with ``changes``, empty values left out."""
        pairs = {k: v for k, v in vars(replace(self, **changes)).items() if v}
        return "?" + urlencode(pairs) if pairs else "?"


def _summaries(batch: pa.RecordBatch, traces: dict[str, dict[str, Any]]) -> None:
    for span in batch.to_pylist():
        t = traces.get(span["trace_id"])
        if t is None:
            t = traces[span["trace_id"]] = {
                "trace_id": span["trace_id"],
                "application": span["application"],
                "version": span["version"],
                "root": span["name"],
                "start": span["start_time"],
                "end": span["end_time"],
                "spans": 0,
                "errors": 0,
                "operations": set(),
                "input_tokens": 0,
                "output_tokens": 0,
                "cost_usd": None,
            }
        t["spans"] += 1
        t["errors"] += span["status"] == "error"
        t["operations"].add(span["operation"])
        t["end"] = max(t["end"], span["end_time"])
        if span["start_time"] < t["start"] or not span["parent_span_id"]:
            t["start"] = min(t["start"], span["start_time"])
            if not span["parent_span_id"]:
                t["root"], t["application"] = span["name"], span["application"]
                t["version"] = span["version"] or t["version"]
        t["input_tokens"] += span["input_tokens"] or 0
        t["output_tokens"] += span["output_tokens"] or 0
        if span["cost_usd"] is not None:
            t["cost_usd"] = (t["cost_usd"] or 0.0) + span["cost_usd"]


def _wanted(
    t: dict[str, Any],
    q: TraceQuery,
    cursor: tuple[dt.datetime, str] | None,
    span: tuple[dt.datetime, dt.datetime],
) -> bool:
    if not span[0] <= t["start"] < span[1]:
        return False
    if q.version and str(t["version"] or "") != q.version.lstrip("v"):
        return False
    if q.status and ("error" if t["errors"] else "ok") != q.status:
        return False
    if q.operation and q.operation not in t["operations"]:
        return False
    return cursor is None or (t["start"], t["trace_id"]) < cursor


def trace_list(
    ws: Any,
    project: str | None,
    q: TraceQuery,
    *,
    size: int = PAGE_SIZE,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """One page of traces, newest first, and the cursor of the next (``None`` at the end).

    ``project`` is the viewer's project (``None``: every project). Without
    ``since`` the list looks back 7 days.
    """
    lo, hi = q.window()
    cursor = q.cursor()
    hi = hi or (now or now_utc()) + HOUR
    if cursor is not None:
        hi = min(hi, cursor[0] + HOUR)  # a trace started before the cursor ends within the hour
    lo = lo or hi - dt.timedelta(days=7)
    span = (lo, hi)
    lo -= HOUR  # the traces starting just after ``lo`` are read whole; older ones are left out
    url = trace_log_url(ws)
    app = q.application or None
    hours = sorted(
        {p.hour for p in span_partitions(url, project=project, application=app, start=lo, end=hi)},
        reverse=True,
    )
    traces: dict[str, dict[str, Any]] = {}
    complete: list[dict[str, Any]] = []
    read_hours = 0
    for i, hour in enumerate(hours):
        for batch in read_spans(
            url,
            project=project,
            application=app,
            start=max(hour, lo),
            end=min(hour + HOUR, hi),
            columns=_LIST,
        ):
            _summaries(batch, traces)
        read_hours += 1
        last = i == len(hours) - 1
        # Traces that started after this hour cannot gain spans from older hours.
        settled = [
            t
            for t in traces.values()
            if (last or t["start"] >= hour + HOUR) and _wanted(t, q, cursor, span)
        ]
        if last or len(settled) > size:
            complete = settled
            break
    complete.sort(key=lambda t: (t["start"], t["trace_id"]), reverse=True)
    page, more = complete[:size], len(complete) > size
    for t in page:
        t["duration_ms"] = (t["end"] - t["start"]).total_seconds() * 1000
        t["operations"] = sorted(o for o in t["operations"] if o)
    nxt = f"{page[-1]['start'].isoformat()}|{page[-1]['trace_id']}" if more and page else None
    return {"rows": page, "next": nxt, "hours_read": read_hours, "since": span[0]}


def trace_detail(
    ws: Any,
    trace_id: str,
    project: str | None,
    *,
    application: str | None = None,
    at: str = "",
) -> dict[str, Any]:
    """One trace's spans in tree order, each with its offset and width on the waterfall (in %).

    ``at`` (the trace's start, from the list) and ``application`` narrow the
    read to the partitions that can hold it; without ``at`` the last 24 hours
    are searched.
    """
    wanted = trace_id.strip().lower()
    if len(wanted) != 32 or any(c not in "0123456789abcdef" for c in wanted):
        raise InvalidInput(f"trace id {trace_id!r} is not 32 hex digits")
    start = _time("at", at)
    lo = (start or now_utc() - dt.timedelta(hours=24)) - dt.timedelta(minutes=1)
    hi = (start + HOUR) if start else None
    spans: list[dict[str, Any]] = []
    for batch in read_spans(
        trace_log_url(ws),
        project=project,
        application=application or None,
        start=lo,
        end=hi,
        columns=_DETAIL,
    ):
        mask = pc.equal(batch.column("trace_id"), pa.scalar(wanted))
        if pc.any(mask).as_py():
            spans.extend(batch.filter(mask).to_pylist())
    if not spans:
        raise NotFound(f"no span of trace {wanted} is in the span store around that time")
    ordered = tree_order(spans)
    t0 = min(s["start_time"] for s in ordered)
    t1 = max(s["end_time"] for s in ordered)
    total = max((t1 - t0).total_seconds() * 1000, 1e-3)
    for s in ordered:
        offset = (s["start_time"] - t0).total_seconds() * 1000
        s["offset_ms"] = offset
        s["left"] = round(100 * offset / total, 2)
        s["width"] = max(round(100 * s["latency_ms"] / total, 2), 0.3)
    costs = [s["cost_usd"] for s in ordered if s["cost_usd"] is not None]
    return {
        "trace_id": wanted,
        "spans": ordered,
        "start": t0,
        "duration_ms": total,
        "application": ordered[0]["application"],
        "version": ordered[0]["version"],
        "input_tokens": sum(s["input_tokens"] or 0 for s in ordered),
        "output_tokens": sum(s["output_tokens"] or 0 for s in ordered),
        "cost_usd": sum(costs) if costs else None,
        "errors": sum(s["status"] == "error" for s in ordered),
    }
