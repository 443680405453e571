"""The span store of LLM traces: normalised span rows in Parquet, partitioned by project,
application and hour.

Layout under the store root (a folder or any fsspec URL)::

    project=<p>/application=<a>/hour=<YYYY-MM-DDTHH>/part-<time>-<id>.parquet

It shares the prediction log's file handling (:class:`aims.storage.predlog.layout.Layout`:
hidden temporary files renamed when complete, fsspec filesystems, compacted
files replacing parts): :class:`SpanWriter` queues Arrow tables off the
request path and a background thread writes them every flush window;
:func:`read_spans` streams record batches of only the partitions asked for.
"""

from aims.storage.traces.reader import read_spans, span_partitions
from aims.storage.traces.writer import SpanWriter

__all__ = ["SpanWriter", "read_spans", "span_partitions"]
