"""The prediction log: every served prediction, in Parquet, partitioned by model, version and hour.

Layout under the log root (a folder or any fsspec URL)::

    model=<name>/version=<n>/hour=<YYYY-MM-DDTHH>/part-<time>-<id>.parquet
    _labels/model=<name>/part-<time>-<id>.parquet

:class:`PredictionLogWriter` takes predictions off the request path (an O(1)
enqueue) and a background thread writes them in batches every flush window;
:class:`PredictionLogReader` scans partitions lazily so nothing loads the whole
log; :class:`LabelStore` attaches late ground truth by prediction id or key;
:func:`compact_closed` merges the small files of hours that are over.

Names are imported from their modules on first use: a server that only takes
in traces uses the layout and ids modules, and should not load Polars (which
the schema, reader and writer need) for that.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {
    "CompactionResult": "compaction",
    "compact": "compaction",
    "compact_closed": "compaction",
    "new_id": "ids",
    "new_ids": "ids",
    "LabelIngest": "labels",
    "LabelStore": "labels",
    "Partition": "layout",
    "PredictionLogReader": "reader",
    "FIXED_COLUMNS": "schema",
    "FIXED_SCHEMA": "schema",
    "ROLES": "schema",
    "apply_pii": "schema",
    "as_text": "schema",
    "feature_column": "schema",
    "hash_value": "schema",
    "PredictionLogWriter": "writer",
    "WriterStats": "writer",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'aims.storage.predlog' has no attribute {name!r}")
    return getattr(import_module(f"aims.storage.predlog.{module}"), name)


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
