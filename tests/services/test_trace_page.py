"""The dashboard's trace list reads a page's hours, not the whole span store, and pages exactly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from aims.core.genai.span import SPAN_FIELDS, span_schema
from aims.errors import InvalidInput
from aims.services.trace_page import TraceQuery, trace_detail, trace_list
from aims.services.traces import trace_log_url
from aims.storage.traces import SpanWriter

T0 = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
HOURS = 10
PER_HOUR = 4


def _span(trace: int, span: int, start: dt.datetime, ms: float, **extra) -> dict:
    row = dict.fromkeys(SPAN_FIELDS)
    row.update(
        project="p",
        application="bot",
        version="1",
        trace_id=f"{trace:032x}",
        span_id=f"{trace * 10 + span:016x}",
        name="root" if span == 0 else f"chat {span}",
        operation="invoke_agent" if span == 0 else "chat",
        start_time=start,
        end_time=start + dt.timedelta(milliseconds=ms),
        latency_ms=ms,
        status="ok",
        dialect="otel-genai-1.37",
        input_tokens=None if span == 0 else 10,
        output_tokens=None if span == 0 else 5,
        cost_usd=None if span == 0 else 0.001,
    )
    if span:
        row["parent_span_id"] = f"{trace * 10:016x}"
    row.update(extra)
    return row


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory):
    """Ten hours of traces, four an hour; the last of each hour ends in the next hour."""
    from aims.workspace import Workspace, init_workspace

    root: Path = tmp_path_factory.mktemp("traces") / "ws"
    init_workspace(root)
    ws = Workspace.open(root)
    rows = []
    for h in range(HOURS):
        for k in range(PER_HOUR):
            trace = h * PER_HOUR + k + 1
            start = T0 + dt.timedelta(hours=h, minutes=15 * k + 14 * (k == PER_HOUR - 1))
            rows.append(_span(trace, 0, start, 120_000))
            # The second chat span of the hour's last trace starts in the next hour.
            rows.append(_span(trace, 1, start + dt.timedelta(seconds=1), 500))
            failing = {"status": "error", "error_type": "timeout"} if trace == 7 else {}
            rows.append(_span(trace, 2, start + dt.timedelta(seconds=90), 800, **failing))
    table = pa.Table.from_pylist(rows, schema=span_schema())
    writer = SpanWriter(trace_log_url(ws))
    writer.append(table)
    writer.close()
    yield ws
    ws.close()


def test_a_page_reads_its_hours_and_pages_follow_without_gaps(ws) -> None:
    now = T0 + dt.timedelta(hours=HOURS)
    seen: list[str] = []
    q = TraceQuery(since="2026-05-01T00:00")
    while True:
        page = trace_list(ws, "p", q, size=5, now=now)
        # Five traces of four an hour: a few hours around the page, never all ten.
        assert page["hours_read"] <= 5
        seen += [t["trace_id"] for t in page["rows"]]
        for t in page["rows"]:
            assert t["spans"] == 3 and t["input_tokens"] == 20  # complete across hour edges
            assert t["cost_usd"] == pytest.approx(0.002)
        if page["next"] is None:
            break
        q = TraceQuery(since=q.since, before=page["next"])
    expected = [f"{n:032x}" for n in range(HOURS * PER_HOUR, 0, -1)]
    assert seen == expected  # every trace once, newest first


def test_filters_keep_matching_traces(ws) -> None:
    now = T0 + dt.timedelta(hours=HOURS)
    errors = trace_list(ws, "p", TraceQuery(status="error"), now=now)["rows"]
    assert [t["trace_id"] for t in errors] == [f"{7:032x}"]
    assert trace_list(ws, "p", TraceQuery(version="2"), now=now)["rows"] == []
    assert trace_list(ws, "other", TraceQuery(), now=now)["rows"] == []
    window = TraceQuery(since="2026-05-01T02:00", until="2026-05-01T03:00")
    assert len(trace_list(ws, "p", window, now=now)["rows"]) == PER_HOUR
    with pytest.raises(InvalidInput, match="since must be before until"):
        TraceQuery.parse({"since": "2026-05-02T00:00", "until": "2026-05-01T00:00"})
    with pytest.raises(InvalidInput, match="unknown trace list parameter 'colour'"):
        TraceQuery.parse({"colour": "red"})


def test_one_trace_as_a_tree_with_its_waterfall(ws) -> None:
    t = trace_detail(ws, f"{7:032x}", "p", application="bot", at="2026-05-01T01:30:00+00:00")
    assert [(s["name"], s["depth"]) for s in t["spans"]] == [
        ("root", 0),
        ("chat 1", 1),
        ("chat 2", 1),
    ]
    assert t["errors"] == 1 and t["cost_usd"] == pytest.approx(0.002)
    assert [s["left"] for s in t["spans"]] == sorted(s["left"] for s in t["spans"])
    assert t["spans"][0]["width"] == 100.0
