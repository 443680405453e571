"""The prediction log: every served prediction, in Parquet, partitioned by model, version and hour.

Layout under the log root (a folder or any fsspec URL)::

    model=<name>/version=<n>/hour=<YYYY-MM-DDTHH>/part-<time>-<id>.parquet
    _labels/model=<name>/part-<time>-<id>.parquet

:class:`PredictionLogWriter` takes predictions off the request path (an O(1)
enqueue) and a background thread writes them in batches every flush window;
:class:`PredictionLogReader` scans partitions lazily so nothing loads the whole
log; :class:`LabelStore` attaches late ground truth by prediction id or key;
:func:`compact_closed` merges the small files of hours that are over.
"""

from aims.storage.predlog.compaction import CompactionResult, compact, compact_closed
from aims.storage.predlog.ids import new_id, new_ids
from aims.storage.predlog.labels import LabelIngest, LabelStore
from aims.storage.predlog.layout import Partition
from aims.storage.predlog.reader import PredictionLogReader
from aims.storage.predlog.schema import (
    FIXED_COLUMNS,
    FIXED_SCHEMA,
    ROLES,
    apply_pii,
    as_text,
    feature_column,
    hash_value,
)
from aims.storage.predlog.writer import PredictionLogWriter, WriterStats

__all__ = [
    "FIXED_COLUMNS",
    "FIXED_SCHEMA",
    "ROLES",
    "CompactionResult",
    "LabelIngest",
    "LabelStore",
    "Partition",
    "PredictionLogReader",
    "PredictionLogWriter",
    "WriterStats",
    "apply_pii",
    "as_text",
    "compact",
    "compact_closed",
    "feature_column",
    "hash_value",
    "new_id",
    "new_ids",
]
