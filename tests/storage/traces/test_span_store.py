"""The span store: the batched writer's partitions, streaming reads, filters, failures."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from aims.core.genai.span import SPAN_FIELDS, span_schema
from aims.errors import InvalidInput, StoreUnavailable
from aims.storage.traces import SpanWriter, read_spans, span_partitions

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def rows(n: int, *, project="support", application="bot", start=T0, step=timedelta(minutes=1)):
    out = []
    for i in range(n):
        row = dict.fromkeys(SPAN_FIELDS)
        begin = start + i * step
        row.update(
            project=project,
            application=application,
            trace_id=f"{i + 1:032x}",
            span_id=f"{i + 1:016x}",
            name="chat",
            start_time=begin,
            end_time=begin + timedelta(milliseconds=5),
            latency_ms=5.0,
            status="ok",
            dialect="otel-genai-1.37",
            input_tokens=i,
        )
        out.append(row)
    return pa.Table.from_pylist(out, schema=span_schema())


def test_spans_are_partitioned_by_project_application_and_hour(tmp_path):
    with SpanWriter(str(tmp_path), flush_interval=60) as writer:
        writer.append(rows(90))  # 09:30 to 10:59: two hours
        writer.append(rows(3, project="other", application="agent"))
        assert writer.flush() == 93
        writer.append(rows(1, application="../../escape"))
    names = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet"))
    assert {n.rsplit("/", 1)[0] for n in names} == {
        "project=support/application=bot/hour=2026-03-01T09",
        "project=support/application=bot/hour=2026-03-01T10",
        "project=other/application=agent/hour=2026-03-01T09",
        # Separators become "_" and a leading dot too: no folder escapes the store.
        "project=support/application=_._.._escape/hour=2026-03-01T09",
    }
    parts = span_partitions(str(tmp_path), project="support", application="bot")
    assert [p.hour.hour for p in parts] == [9, 10]


def test_reads_stream_only_what_is_asked(tmp_path):
    with SpanWriter(str(tmp_path), flush_interval=60) as writer:
        writer.append(rows(90))
        writer.append(rows(3, project="other"))
    batches = list(
        read_spans(
            str(tmp_path),
            project="support",
            start=T0 + timedelta(minutes=10),
            end=T0 + timedelta(minutes=40),
            columns=["trace_id", "input_tokens"],
        )
    )
    table = pa.Table.from_batches(batches)
    assert table.column_names == ["trace_id", "input_tokens"]
    assert sorted(table.column("input_tokens").to_pylist()) == list(range(10, 40))
    assert sum(b.num_rows for b in read_spans(str(tmp_path))) == 93
    with pytest.raises(InvalidInput, match="unknown span column"):
        list(read_spans(str(tmp_path), columns=["nope"]))


def test_the_background_thread_writes_within_the_flush_window(tmp_path):
    writer = SpanWriter(str(tmp_path), flush_interval=0.05)
    try:
        writer.append(rows(5))
        deadline = time.monotonic() + 10
        while writer.stats.rows_written < 5 and time.monotonic() < deadline:
            time.sleep(0.01)  # polling the outcome, bounded; not a wait standing in for one
        assert writer.stats.rows_written == 5
    finally:
        writer.close()


def test_a_store_that_cannot_be_written_keeps_spans_queued_then_refuses(tmp_path):
    blocker = tmp_path / "store"
    blocker.write_text("a file where the store's folder should be")
    writer = SpanWriter(str(blocker), flush_interval=60, max_queue_rows=10)
    writer.append(rows(6))
    with pytest.raises(StoreUnavailable, match="cannot be written"):
        writer.flush()
    assert writer.stats.queued_rows == 6 and writer.stats.flush_errors == 1
    with pytest.raises(StoreUnavailable, match="queue is full"):
        writer.append(rows(6))
    blocker.unlink()
    assert writer.flush() == 6
    writer.close()
    assert sum(b.num_rows for b in read_spans(str(blocker))) == 6


def test_any_fsspec_url_holds_the_store():
    import uuid

    url = f"memory://traces-{uuid.uuid4().hex}"
    with SpanWriter(url, flush_interval=60, schema=span_schema()) as writer:
        writer.append(rows(3, application="remote"))
    (part,) = span_partitions(url)
    assert (part.project, part.application, len(part.files)) == ("support", "remote", 1)
    table = pa.Table.from_batches(list(read_spans(url, columns=["span_id", "application"])))
    assert table.num_rows == 3 and set(table.column("application").to_pylist()) == {"remote"}


def test_rows_without_the_partition_columns_are_refused_on_append(tmp_path):
    with SpanWriter(str(tmp_path), flush_interval=60) as writer:
        with pytest.raises(InvalidInput, match="partition column"):
            writer.append(pa.table({"name": ["x"]}))
        assert writer.stats.queued_rows == 0


def test_a_span_stored_twice_is_read_once(tmp_path):
    # Two flushes, so the copies are in two files of the same hour partition (as a retry
    # that reached a restarted server would be), plus a copy inside one append.
    with SpanWriter(str(tmp_path), flush_interval=60) as writer:
        writer.append(rows(5))
        writer.flush()
        writer.append(pa.concat_tables([rows(2), rows(2)]))
    files = list(tmp_path.rglob("*.parquet"))
    assert len(files) == 2
    assert sum(b.num_rows for b in read_spans(str(tmp_path), unique=False)) == 9
    batches = list(read_spans(str(tmp_path), columns=["input_tokens"]))
    assert batches[0].schema.names == ["input_tokens"]
    assert sorted(pa.Table.from_batches(batches).column("input_tokens").to_pylist()) == [
        0,
        1,
        2,
        3,
        4,
    ]
    # Same ids in another project are another span.
    with SpanWriter(str(tmp_path), flush_interval=60) as writer:
        writer.append(rows(1, project="other"))
    assert sum(b.num_rows for b in read_spans(str(tmp_path))) == 6
