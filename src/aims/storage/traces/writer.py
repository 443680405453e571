"""The background, batched writer of the span store.

:meth:`SpanWriter.append` only puts a reference to an Arrow table of span
rows on an in-memory queue; a background thread wakes every flush window,
takes the whole queue, splits it by (project, application, hour) and writes
one Parquet file per partition through the prediction log's
:class:`~aims.storage.predlog.layout.Layout` (a hidden file renamed when
complete, so readers never see half a file).

Durability: spans appended at time *t* are on disk by *t* + the flush window
+ the time one flush takes. A process killed with ``kill -9`` loses at most
that much acknowledged work; :meth:`SpanWriter.close` (also run at
interpreter exit) loses nothing. A flush that fails keeps its spans queued
and retries them at the next window; the queue is bounded, and a full queue
refuses new spans (:class:`~aims.errors.StoreUnavailable`) rather than
acknowledge spans it cannot keep.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections import defaultdict
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from aims.errors import ConfigError, InvalidInput, StoreUnavailable
from aims.storage.predlog.layout import Layout, describe, part_name
from aims.storage.predlog.writer_stats import WriterStats
from aims.storage.traces.layout import hour_dir
from aims.storage.traces.rows import int64_array

__all__ = ["PARTITION_COLUMNS", "SpanWriter"]

#: Columns the store is partitioned by (the hour is that of ``start_time``, UTC).
PARTITION_COLUMNS = ("project", "application", "start_time")

log = logging.getLogger("aims.traces")


class SpanWriter:
    """Queues span rows and writes them to Parquet off the request path.

    Parameters
    ----------
    url
        Folder or fsspec URL of the span store.
    flush_interval
        Seconds between flushes: the most acknowledged work a killed process loses
        (plus the time one flush takes).
    max_queue_rows
        Spans waiting at most; past it :meth:`append` raises
        :class:`~aims.errors.StoreUnavailable`.
    schema
        When given, every appended table is cast to it (the span row's
        :func:`~aims.core.genai.span.span_schema`), so a table that does not
        fit is refused by :meth:`append`, not by a later flush. The tables
        need the partition columns ``project``, ``application`` and
        ``start_time`` in any case.
    """

    def __init__(
        self,
        url: str,
        *,
        flush_interval: float = 1.0,
        max_queue_rows: int = 1_000_000,
        schema: pa.Schema | None = None,
    ) -> None:
        if not flush_interval > 0:
            raise ConfigError(
                f"flush_interval is a positive number of seconds, not {flush_interval!r}"
            )
        self.layout = Layout(url)
        self.url = self.layout.root
        self.flush_interval = float(flush_interval)
        self.max_queue_rows = max_queue_rows
        self._schema = schema
        self._queue: list[pa.Table] = []
        self._queued = 0
        self._lock = threading.Lock()  # the queue, held for O(1)
        self._io_lock = threading.Lock()  # one flush at a time
        self._wake = threading.Event()
        self._closed = False
        self._written = 0
        self._files = 0
        self._errors = 0
        self._last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="aims-span-writer", daemon=True)
        self._thread.start()
        _LIVE.add(self)

    def append(self, rows: pa.Table) -> None:
        """Queue ``rows`` (a table of span rows); never touches disk."""
        missing = [c for c in PARTITION_COLUMNS if c not in rows.schema.names]
        if missing:
            raise InvalidInput(f"span rows lack the partition column(s) {', '.join(missing)}")
        if self._schema is not None and rows.schema != self._schema:
            rows = rows.cast(self._schema)
        n = rows.num_rows
        if n == 0:
            return
        with self._lock:
            if self._closed:
                raise RuntimeError("the span writer is closed; create a new one")
            if self._queued + n > self.max_queue_rows:
                raise StoreUnavailable(
                    f"span store queue is full ({self._queued} spans waiting) because "
                    f"{self.url!r} cannot be written ({self._last_error or 'too slow'}); "
                    "fix the trace storage, spans are taken again once it drains"
                )
            self._queue.append(rows)
            self._queued += n

    def _run(self) -> None:
        deadline = time.monotonic() + self.flush_interval
        while not self._closed:
            self._wake.wait(max(0.0, deadline - time.monotonic()))
            # Counted from the start of the flush: a span waits one window plus one flush at most.
            deadline = time.monotonic() + self.flush_interval
            if self._closed:
                break
            try:
                self.flush()
            except StoreUnavailable:  # recorded in stats; the spans stay queued
                continue

    def flush(self) -> int:
        """Write everything queued so far, synchronously; returns the spans written.

        Raises :class:`~aims.errors.StoreUnavailable` if a file cannot be
        written; the spans not written stay queued for the next flush.
        """
        with self._io_lock:
            with self._lock:
                tables, self._queue, self._queued = self._queue, [], 0
            if not tables:
                return 0
            table = pa.concat_tables(tables)
            parts = _split(table)
            written = 0
            for i, ((project, application, hour), rows) in enumerate(parts):
                try:
                    self._write(project, application, hour, rows)
                except Exception as exc:
                    rest = [r for _, r in parts[i:]]
                    with self._lock:
                        self._queue[:0] = rest
                        self._queued += sum(r.num_rows for r in rest)
                    self._errors += 1
                    self._last_error = describe(exc)
                    log.warning("span store: flush to %s failed: %s", self.url, self._last_error)
                    raise StoreUnavailable(
                        f"span store {self.url!r} cannot be written ({self._last_error}); "
                        "the spans stay queued and are retried at the next flush"
                    ) from exc
                written += rows.num_rows
            self._written += written
            self._last_error = None
            return written

    def _write(self, project: str, application: str, hour: str, rows: pa.Table) -> None:
        def write(f: IO[bytes]) -> None:
            pq.write_table(rows, f, compression="zstd")

        self.layout.write_atomic(
            hour_dir(self.layout, project, application, hour), write, part_name()
        )
        self._files += 1

    @property
    def stats(self) -> WriterStats:
        """Counters for metrics and the readiness check."""
        return WriterStats(
            self._queued, self._written, self._files, self._errors, 0, self._last_error
        )

    def close(self) -> None:
        """Write everything queued and stop the background thread (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._wake.set()
        self._thread.join()
        _LIVE.discard(self)
        self.flush()

    def __enter__(self) -> SpanWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _split(table: pa.Table) -> list[tuple[tuple[str, str, str], pa.Table]]:
    """``table`` cut by (project, application, hour of start time)."""
    columns = (
        table.column("project"),
        table.column("application"),
        pc.strftime(table.column("start_time"), format="%Y-%m-%dT%H", locale="C"),
    )
    if table.num_rows and all(pc.count_distinct(c).as_py() == 1 for c in columns):
        # Nearly every flush holds one project, application and hour: no rows are
        # walked in Python, which would hold the interpreter's lock from the server's loop.
        return [(tuple(c[0].as_py() for c in columns), table)]
    projects, apps, hours = (c.to_pylist() for c in columns)
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for i, key in enumerate(zip(projects, apps, hours, strict=True)):
        groups[key].append(i)
    if len(groups) == 1:
        return [(next(iter(groups)), table)]
    return [(key, table.take(int64_array(idx))) for key, idx in groups.items()]


_LIVE: weakref.WeakSet[SpanWriter] = weakref.WeakSet()


def _close_all() -> None:
    for writer in list(_LIVE):
        try:
            writer.close()
        except Exception as exc:  # at exit there is no caller left to raise to
            log.error("span store: final flush to %s failed: %s", writer.url, describe(exc))


atexit.register(_close_all)
