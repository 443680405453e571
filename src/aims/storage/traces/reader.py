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
_IDS = ["trace_id", "span_id"]


def _first_copies(batch: pa.RecordBatch, seen: set[tuple[str, str]]) -> pa.RecordBatch:
    """``batch`` without the spans in ``seen`` or repeated in it; adds its spans to ``seen``."""
    keep = []
    ids = zip(
        batch.column("trace_id").to_pylist(), batch.column("span_id").to_pylist(), strict=True
    )
    for key in ids:
        known = len(seen)
        seen.add(key)
        keep.append(len(seen) > known)
    return batch if all(keep) else batch.filter(pa.array(keep, pa.bool_()))


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
    unique: bool = True,
) -> Iterator[pa.RecordBatch]:
    """Spans of the store at ``url`` whose start time is in ``[start, end)``, batch by batch.

    Only partitions that can match are opened, and each file is read one
    row group at a time, so memory stays bounded by the batch size however
    large the store. ``columns`` picks columns (default: all); a column the
    files do not have is an :class:`~aims.errors.InvalidInput`.

    With ``unique`` (the default) a span stored twice, (trace id, span id)
    alike, comes out once: ingest drops an exporter's retry only within its
    window of recent spans, so a retry after a restart can reach the store. Both
    copies share a start time, hence an hour partition, so the ids are
    remembered one partition at a time.
    """
    layout = Layout(url)
    lo = None if start is None else pa.scalar(utc(start), pa.timestamp("us", tz="UTC"))
    hi = None if end is None else pa.scalar(utc(end), pa.timestamp("us", tz="UTC"))
    timed = lo is not None or hi is not None
    for part in list_partitions(
        layout, project=project, application=application, start=start, end=end
    ):
        seen: set[tuple[str, str]] | None = set() if unique else None
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
                # The filters need their columns even when the caller did not ask for them.
                needed = (["start_time"] if timed else []) + (_IDS if seen is not None else [])
                read = [*wanted, *(c for c in needed if c not in wanted)]
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
                    if seen is not None and batch.num_rows:
                        batch = _first_copies(batch, seen)
                    if batch.num_rows:
                        yield batch.select(wanted) if batch.schema.names != wanted else batch
