"""Where LLM windows read spans from: the span store, or any reader of Arrow batches.

A :class:`SpanSource` says which hours hold spans of an application (so a
pass reads only windows with traffic) and reads the spans of an application
that started in ``[start, end)`` as :class:`pyarrow.RecordBatch` es in the
normalised span row (:func:`aims.core.genai.span.span_schema`).
:func:`store_source` reads the workspace's span store; :func:`table_source`
serves an in-memory table (imports from other systems, replays).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from aims.clock import utc

__all__ = ["COLUMNS", "MODEL_OPERATIONS", "SpanSource", "store_source", "table_source"]


class SpanSource(Protocol):
    """Where a pass reads spans."""

    def hours(self, application: str, start: datetime, end: datetime) -> set[datetime]:
        """Starts of the hours in ``[start, end)`` that may hold spans of ``application``."""
        ...

    def read(
        self, application: str, start: datetime, end: datetime, columns: Sequence[str]
    ) -> Iterator[pa.RecordBatch]:
        """The spans of ``application`` that started in ``[start, end)``."""
        ...


#: Operations that call a model: they are the requests of a window.
MODEL_OPERATIONS = ("chat", "text_completion", "generate_content", "embeddings")

#: The span columns a window reads (content columns never are).
COLUMNS: tuple[str, ...] = (
    "application",
    "version",
    "trace_id",
    "span_id",
    "operation",
    "agent_name",
    "end_user",
    "start_time",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "status",
    "refusal",
    "input_stats",
    "output_stats",
    "input_ngrams",
    "output_ngrams",
    "guardrail_verdict",
    "feedback_score",
    "evaluations",
)


class _Store:
    def __init__(self, url: str) -> None:
        self.url = url

    def hours(self, application: str, start: datetime, end: datetime) -> set[datetime]:
        from aims.storage.traces import span_partitions

        parts = span_partitions(self.url, application=application, start=start, end=end)
        return {utc(p.hour) for p in parts if p.files}

    def read(
        self, application: str, start: datetime, end: datetime, columns: Sequence[str]
    ) -> Iterator[pa.RecordBatch]:
        from aims.storage.traces import read_spans

        return iter(
            read_spans(self.url, application=application, start=start, end=end, columns=columns)
        )


def store_source(ws: Any) -> SpanSource:
    """Spans from the workspace's span store (``store.trace_log_url``)."""
    return _Store(ws.settings.trace_log_url)


class _Table:
    def __init__(self, table: pa.Table) -> None:
        self.table = table

    def _rows(self, application: str, start: datetime, end: datetime) -> pa.Table:
        ts = self.table.column("start_time")
        mask = pc.and_(
            pc.equal(self.table.column("application"), application),
            pc.and_(
                pc.greater_equal(ts, pa.scalar(start, ts.type)),
                pc.less(ts, pa.scalar(end, ts.type)),
            ),
        )
        return self.table.filter(mask)

    def hours(self, application: str, start: datetime, end: datetime) -> set[datetime]:
        times = self._rows(application, start, end).column("start_time").to_pylist()
        return {utc(t).replace(minute=0, second=0, microsecond=0) for t in times}

    def read(
        self, application: str, start: datetime, end: datetime, columns: Sequence[str]
    ) -> Iterator[pa.RecordBatch]:
        return iter(self._rows(application, start, end).select(list(columns)).to_batches())


def table_source(table: pa.Table) -> SpanSource:
    """Spans from an in-memory table in the span row schema."""
    return _Table(table)
