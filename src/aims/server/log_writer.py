"""The server's prediction log writer, made when the first prediction is logged.

:class:`~aims.storage.predlog.PredictionLogWriter` builds its batches with
Polars, tens of megabytes once loaded. A server that serves no model (one that
takes in traces, or only shows the dashboard) never logs a prediction, so the
writer, and Polars with it, is made on first use. The log's URL is still
opened at start, so a wrong URL or a missing fsspec driver stops the server
then rather than failing its first prediction.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from aims.storage.predlog.layout import Layout
from aims.storage.predlog.writer_stats import WriterStats

if TYPE_CHECKING:
    from aims.storage.predlog.writer import PredictionLogWriter

__all__ = ["DeferredLogWriter"]

_NOTHING_YET = WriterStats(0, 0, 0, 0, 0, None)


class DeferredLogWriter:
    """A :class:`~aims.storage.predlog.PredictionLogWriter` made on the first ``append``.

    Parameters
    ----------
    root
        Folder or fsspec URL of the log (opened now, to fail early).
    options
        Passed to the writer when it is made (``flush_interval``, ...).

    Examples
    --------
    >>> import sys, tempfile
    >>> log = DeferredLogWriter(tempfile.mkdtemp())
    >>> log.stats.rows_written, log.made
    (0, False)
    >>> ids = log.append("churn", 1, "production", [{"age": 41}], [1])
    >>> log.flush(), log.made
    (1, True)
    >>> log.close()
    """

    def __init__(self, root: str, **options: Any) -> None:
        self.root = Layout(root).root
        self._options = options
        self._writer: PredictionLogWriter | None = None
        self._lock = threading.Lock()
        self._file_tag = ""
        self._closed = False

    @property
    def made(self) -> bool:
        """Whether the writer exists (a prediction has been logged)."""
        return self._writer is not None

    @property
    def file_tag(self) -> str:
        """Part of every file name the writer makes, e.g. ``-w1`` for worker 1 of a server."""
        return self._file_tag

    @file_tag.setter
    def file_tag(self, tag: str) -> None:
        with self._lock:
            self._file_tag = tag
            if self._writer is not None:
                self._writer.file_tag = tag

    def _made(self) -> PredictionLogWriter:
        writer = self._writer
        if writer is not None:
            return writer
        with self._lock:
            if self._writer is None:
                if self._closed:
                    raise RuntimeError("the prediction log writer is closed; create a new one")
                from aims.storage.predlog.writer import PredictionLogWriter

                made = PredictionLogWriter(self.root, **self._options)
                made.file_tag = self._file_tag
                self._writer = made
            return self._writer

    def append(self, *args: Any, **kwargs: Any) -> list[str]:
        """Queue predictions, as :meth:`PredictionLogWriter.append` (making the writer first)."""
        return self._made().append(*args, **kwargs)

    def flush(self) -> int:
        """Write what is queued now; the rows written (0 before the first prediction)."""
        writer = self._writer
        return 0 if writer is None else writer.flush()

    @property
    def stats(self) -> WriterStats:
        """The writer's counters (all zero before the first prediction)."""
        writer = self._writer
        return _NOTHING_YET if writer is None else writer.stats

    def close(self) -> None:
        """Write everything queued and stop the writer (idempotent)."""
        with self._lock:
            self._closed = True
            writer = self._writer
        if writer is not None:
            writer.close()
