"""Reading the span store as a stream of Arrow record batches."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from aims.clock import utc
from aims.core.genai.span import SPAN_FIELDS
from aims.errors import InvalidInput
from aims.storage.predlog.layout import Layout
from aims.storage.traces.layout import SpanPartition, list_partitions

__all__ = ["read_spans", "span_partitions"]

_BATCH_ROWS = 16_384


def span_partitions(
    url: str,
    *,
    project: str | None = None,
    application: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[SpanPartition]:
    """The partitions of the span store at ``url`` that can hold matching spans."""
    return list_partitions(
        Layout(url), project=project, application=application, start=start, end=end
    )


def read_spans(
    url: str,
    *,
    project: str | None = None,
    application: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    columns: Sequence[str] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Spans of the store at ``url`` whose start time is in ``[start, end)``, batch by batch.

    Only partitions that can match are opened, and each file is read one
    row group at a time, so memory stays bounded by the batch size however
    large the store. ``columns`` picks columns (default: all of
    :data:`~aims.core.genai.span.SPAN_FIELDS`).
    """
    if columns is not None:
        unknown = [c for c in columns if c not in SPAN_FIELDS]
        if unknown:
            raise InvalidInput(
                f"unknown span column(s) {', '.join(unknown)}; columns are {', '.join(SPAN_FIELDS)}"
            )
    layout = Layout(url)
    lo = None if start is None else pa.scalar(utc(start), pa.timestamp("us", tz="UTC"))
    hi = None if end is None else pa.scalar(utc(end), pa.timestamp("us", tz="UTC"))
    wanted = list(columns) if columns is not None else list(SPAN_FIELDS)
    # The time filter needs start_time even when the caller did not ask for it.
    read = (
        wanted if (lo is None and hi is None) or "start_time" in wanted else [*wanted, "start_time"]
    )
    for part in list_partitions(
        layout, project=project, application=application, start=start, end=end
    ):
        for path in part.files:
            with contextlib.nullcontext(path) if layout.local else layout.open(path) as source:
                pf = pq.ParquetFile(source, pre_buffer=False)
                present = set(pf.schema_arrow.names)
                cols = [c for c in read if c in present]
                for batch in pf.iter_batches(batch_size=_BATCH_ROWS, columns=cols):
                    if lo is not None or hi is not None:
                        keep = None
                        ts = batch.column("start_time")
                        if lo is not None:
                            keep = pc.greater_equal(ts, lo)
                        if hi is not None:
                            below = pc.less(ts, hi)
                            keep = below if keep is None else pc.and_(keep, below)
                        batch = batch.filter(keep)
                    if batch.num_rows:
                        yield batch.select(wanted) if batch.schema.names != wanted else batch
