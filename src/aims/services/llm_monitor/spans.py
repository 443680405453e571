"""Where LLM windows read spans from: the span store, or any reader of Arrow batches.

A span source is a callable ``source(application, start, end, columns)``
returning an iterator of :class:`pyarrow.RecordBatch` in the normalised span
row (:func:`aims.core.genai.span.span_schema`), holding the spans of
``application`` that started in ``[start, end)``. :func:`store_source` reads
the workspace's span store; :func:`table_source` serves an in-memory table
(imports from other systems, replays).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from aims.errors import AimsError

__all__ = ["COLUMNS", "MODEL_OPERATIONS", "SpanSource", "store_source", "table_source"]

SpanSource = Callable[[str, datetime, datetime, Sequence[str]], Iterator[pa.RecordBatch]]

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


def store_source(ws: Any) -> SpanSource:
    """Spans from the workspace's span store (``store.trace_log_url``)."""
    try:
        from aims.storage.traces import read_spans
    except ImportError:  # the span store is part of the traces install
        raise AimsError(
            "this aims has no span store (aims.storage.traces); LLM windows need traces ingested "
            "with POST /v1/traces"
        ) from None
    url = ws.settings.trace_log_url

    def read(
        application: str, start: datetime, end: datetime, columns: Sequence[str]
    ) -> Iterator[pa.RecordBatch]:
        return iter(read_spans(url, application=application, start=start, end=end, columns=columns))

    return read


def table_source(table: pa.Table) -> SpanSource:
    """Spans from an in-memory table in the span row schema."""

    def read(
        application: str, start: datetime, end: datetime, columns: Sequence[str]
    ) -> Iterator[pa.RecordBatch]:
        ts = table.column("start_time")
        mask = pc.and_(
            pc.equal(table.column("application"), application),
            pc.and_(
                pc.greater_equal(ts, pa.scalar(start, ts.type)),
                pc.less(ts, pa.scalar(end, ts.type)),
            ),
        )
        return iter(table.filter(mask).select(list(columns)).to_batches())

    return read


def applications(table: pa.Table) -> list[str]:
    """The applications named in a table of spans."""
    return sorted(str(a) for a in pc.unique(table.column("application")).to_pylist())
