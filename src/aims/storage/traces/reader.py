"""Reading the span store as a stream of Arrow record batches."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from aims.clock import utc
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
    large the store. ``columns`` picks columns (default: all); a column the
    files do not have is an :class:`~aims.errors.InvalidInput`.
    """
    layout = Layout(url)
    lo = None if start is None else pa.scalar(utc(start), pa.timestamp("us", tz="UTC"))
    hi = None if end is None else pa.scalar(utc(end), pa.timestamp("us", tz="UTC"))
    timed = lo is not None or hi is not None
    for part in list_partitions(
        layout, project=project, application=application, start=start, end=end
    ):
        for path in part.files:
            with contextlib.nullcontext(path) if layout.local else layout.open(path) as source:
                pf = pq.ParquetFile(source, pre_buffer=False)
                present = pf.schema_arrow.names
                wanted = list(columns) if columns is not None else present
                unknown = [c for c in wanted if c not in present]
                if unknown:
                    raise InvalidInput(
                        f"unknown span column(s) {', '.join(unknown)}; "
                        f"columns are {', '.join(present)}"
                    )
                # The time filter needs start_time even when the caller did not ask for it.
                read = [*wanted, "start_time"] if timed and "start_time" not in wanted else wanted
                for batch in pf.iter_batches(batch_size=_BATCH_ROWS, columns=read):
                    if timed:
                        ts = batch.column("start_time")
                        keep = None
                        if lo is not None:
                            keep = pc.greater_equal(ts, lo)
                        if hi is not None:
                            below = pc.less(ts, hi)
                            keep = below if keep is None else pc.and_(keep, below)
                        batch = batch.filter(keep)
                    if batch.num_rows:
                        yield batch.select(wanted) if batch.schema.names != wanted else batch
