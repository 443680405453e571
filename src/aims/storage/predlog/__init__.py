"""The prediction log: every served prediction, in Parquet, partitioned by model, version and hour.

Layout under the log root (a folder or any fsspec URL)::

    model=<name>/version=<n>/hour=<YYYY-MM-DDTHH>/part-<time>-<uuid>.parquet
    _labels/model=<name>/part-<time>-<uuid>.parquet

:class:`PredictionLogWriter` takes predictions off the request path (an O(1)
enqueue) and a background thread writes them in batches every flush window;
:class:`PredictionLogReader` scans partitions lazily so nothing loads the whole
log; :class:`LabelStore` attaches late ground truth by prediction id or key.
"""

from aims.storage.predlog.labels import LabelStore
from aims.storage.predlog.reader import PredictionLogReader
from aims.storage.predlog.schema import FIXED_COLUMNS, apply_pii, feature_column
from aims.storage.predlog.writer import PredictionLogWriter

__all__ = [
    "FIXED_COLUMNS",
    "LabelStore",
    "PredictionLogReader",
    "PredictionLogWriter",
    "apply_pii",
    "feature_column",
]
