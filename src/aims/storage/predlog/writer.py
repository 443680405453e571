"""The background, batched writer of the prediction log.

The request path calls :meth:`PredictionLogWriter.append`, which only puts a
reference to the request's predictions on an in-memory queue. A background
thread wakes every flush window, takes the whole queue, builds one Polars
frame per (model, version, hour) and writes it as one Parquet file, under a
hidden name that is renamed when complete.

Durability: a prediction appended at time *t* is on disk by *t* + the flush
window + the time one flush takes, so killing the process loses at most that
much acknowledged work; :meth:`~PredictionLogWriter.close` (also run at
interpreter exit) loses nothing. The guarantee is against the process dying,
not the machine: files are not fsynced, so a power cut can lose what the
operating system had not written yet.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import uuid
import weakref
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import IO, Any

import polars as pl

from aims.clock import now_utc, utc
from aims.errors import ConfigError, StoreUnavailable
from aims.refs import check_name
from aims.storage.predlog.batch import (
    Inputs,
    QueuedRequest,
    build_frame,
    check_inputs,
    check_lengths,
    check_texts,
)
from aims.storage.predlog.ids import new_id, new_ids
from aims.storage.predlog.layout import Layout, describe, part_name
from aims.storage.predlog.schema import (
    apply_pii,
    apply_pii_frame,
    check_pii,
    check_role,
    hour_of,
)
from aims.storage.predlog.writer_stats import WriterStats

__all__ = ["PredictionLogWriter", "WriterStats", "new_id", "new_ids"]

log = logging.getLogger("aims.predlog")


class PredictionLogWriter:
    """Buffers predictions and writes them to Parquet off the request path.

    Parameters
    ----------
    root
        Folder or fsspec URL of the log.
    flush_interval
        Seconds between flushes: at most this much acknowledged work (plus the
        time one flush takes) is lost if the process is killed.
    max_batch_rows
        A flush starts early when this many rows are queued.
    max_queue_rows
        When this many rows are waiting (the log cannot be written, or cannot
        keep up), :meth:`append` raises :class:`~aims.errors.StoreUnavailable`
        instead of growing without bound: the caller fails the request rather
        than acknowledge a prediction that will not be logged.
    pii
        Model name -> {column: ``"hash"`` or ``"drop"``}: personal-data inputs
        are hashed or dropped inside :meth:`append`, before anything is queued.
    salt
        Workspace secret the hashes are keyed with (required for ``"hash"``).

    Examples
    --------
    >>> import tempfile
    >>> with PredictionLogWriter(tempfile.mkdtemp()) as writer:
    ...     ids = writer.append("churn", 1, "production", [{"age": 41}], [1], scores=[0.83])
    >>> len(ids)
    1
    """

    def __init__(
        self,
        root: str,
        *,
        flush_interval: float = 1.0,
        max_batch_rows: int = 50_000,
        max_queue_rows: int = 2_000_000,
        pii: Mapping[str, Mapping[str, str]] | None = None,
        salt: str | bytes | None = None,
    ) -> None:
        if not flush_interval > 0:
            raise ConfigError(
                f"flush_interval is a positive number of seconds, not {flush_interval!r}"
            )
        if max_batch_rows < 1 or max_queue_rows < max_batch_rows:
            raise ConfigError(
                f"need 1 <= max_batch_rows <= max_queue_rows, got {max_batch_rows} and {max_queue_rows}"
            )
        self.layout = Layout(root)
        self.root = self.layout.root
        self.flush_interval = float(flush_interval)
        self.max_batch_rows = max_batch_rows
        self.max_queue_rows = max_queue_rows
        self._salt = salt
        self._pii: dict[str, dict[str, str]] = {}
        for model, columns in (pii or {}).items():
            self.set_pii(model, columns)
        self._known_models: set[str] = set()
        self.file_tag = ""
        """Part of every file name this writer makes, e.g. ``-w1`` for worker 1 of a server."""
        self._rows_written = 0
        self._files_written = 0
        self._errors = 0
        self._dropped = 0
        self._last_error: str | None = None
        self._closed = False
        self._start()
        _LIVE.add(self)

    def _start(self) -> None:
        self._buffer: list[QueuedRequest] = []
        self._queued = 0
        self._lock = threading.Lock()  # guards the queue: held for O(1) only
        self._io_lock = threading.Lock()  # one flush at a time, so flush() waits for a running one
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="aims-predlog-writer", daemon=True)
        self._thread.start()

    def set_pii(self, model: str, columns: Mapping[str, str]) -> None:
        """Set the personal-data handling of ``model``'s inputs (replaces the previous one)."""
        actions = check_pii(columns)
        if "hash" in actions.values() and not self._salt:
            raise ConfigError(
                f"model {model!r} hashes personal data ({', '.join(sorted(actions))}) but the "
                "prediction log writer has no salt; pass the workspace salt"
            )
        self._pii[model] = dict(actions)

    # -- request path ----------------------------------------------------------

    def append(
        self,
        model: str,
        version: int,
        role: str,
        inputs: Inputs,
        predictions: Sequence[Any],
        *,
        scores: Sequence[Any] | None = None,
        proba: Sequence[Sequence[float] | None] | None = None,
        prediction_ids: Sequence[str] | None = None,
        request_id: str | None = None,
        latency_ms: float = 0.0,
        keys: Sequence[Any] | None = None,
        ts: datetime | None = None,
        contract_warnings: Sequence[str | None] | None = None,
    ) -> list[str]:
        """Queue one request's predictions and return their prediction ids.

        Never touches disk: the cost is checking lengths and values, making
        the ids and (when the model has personal-data columns) hashing or
        dropping them. The writer keeps references to ``inputs`` and the other
        sequences, so do not change them afterwards.

        This is the point of truth for what is logged: a value the log could
        not store (text that is not valid Unicode or longer than
        :data:`~aims.storage.predlog.batch.MAX_TEXT_CHARS`, an integer past 64
        bits, a list or an object) raises :class:`~aims.errors.InvalidInput`
        naming the row and field, and nothing of the request is queued.

        Parameters
        ----------
        model, version, role
            Which model answered, and as ``production``, ``canary`` or ``shadow``.
        inputs
            One mapping per prediction (or a Polars frame, one row each), as
            checked against the input contract.
        predictions
            The predicted class or value per row (stored as text, see
            :func:`~aims.storage.predlog.schema.as_text`).
        scores
            Positive-class probability, top probability or regression value per row.
        proba
            Class probabilities per row, in the order of the model's classes.
        prediction_ids
            Ids to use (default: new time-ordered ids).
        request_id, latency_ms, ts
            The request's id, model latency and time (default: now, UTC).
        keys
            The business key of each row, when the contract names one.
        contract_warnings
            Per row, the input contract's ``warn`` rules it broke as
            ``"field:rule,..."`` (None: none); stored in ``contract_warnings``.
        """
        n = len(predictions)
        check_lengths(
            n,
            inputs=inputs,
            scores=scores,
            proba=proba,
            prediction_ids=prediction_ids,
            keys=keys,
            contract_warnings=contract_warnings,
        )
        if model not in self._known_models:
            check_name(model, "model name")
            self._known_models.add(model)
        check_role(role)
        if n == 0:
            return []
        check_inputs(inputs)
        check_texts(prediction_ids, keys, predictions)
        pii = self._pii.get(model)
        if pii:
            inputs = (
                apply_pii_frame(inputs, pii, self._salt or "")
                if isinstance(inputs, pl.DataFrame)
                else apply_pii(inputs, pii, self._salt or "")
            )
        # A tuple: the caller gets its own list back and may change it freely.
        ids = tuple(prediction_ids) if prediction_ids is not None else tuple(new_ids(n))
        chunk = QueuedRequest(
            model,
            int(version),
            role,
            utc(ts) if ts is not None else now_utc(),
            request_id or uuid.uuid4().hex,
            float(latency_ms),
            inputs,
            predictions,
            scores,
            proba,
            ids,
            keys,
            contract_warnings,
        )
        with self._lock:
            # Checked under the lock: close() sets the flag under it too, so a
            # row is either refused or in the queue its final flush writes.
            if self._closed:
                raise RuntimeError("the prediction log writer is closed; create a new one")
            if self._queued + n > self.max_queue_rows:
                raise StoreUnavailable(
                    f"prediction log queue is full ({self._queued} rows waiting) because "
                    f"{self.root!r} cannot be written ({self._last_error or 'too slow'}); "
                    "fix the log storage, predictions resume being logged once it drains"
                )
            self._buffer.append(chunk)
            self._queued += n
            early = self._queued >= self.max_batch_rows
        if early:
            self._wake.set()
        return list(ids)

    # -- background ------------------------------------------------------------

    def _run(self) -> None:
        deadline = time.monotonic() + self.flush_interval
        while not self._stopping:
            self._wake.wait(max(0.0, deadline - time.monotonic()))
            self._wake.clear()
            if self._stopping:
                break
            # The next deadline counts from the start of this flush, so a row
            # waits at most one window plus one flush's duration.
            deadline = time.monotonic() + self.flush_interval
            try:
                self.flush()
            except Exception:  # recorded in stats; the rows stay queued
                continue

    def flush(self) -> int:
        """Write everything queued so far, synchronously; returns the rows written.

        Raises :class:`~aims.errors.StoreUnavailable` if a file cannot be
        written; the rows that were not written stay queued for the next flush.
        """
        with self._io_lock:
            with self._lock:
                chunks, self._buffer, self._queued = self._buffer, [], 0
            if not chunks:
                return 0
            groups: dict[tuple[str, int, str], list[QueuedRequest]] = {}
            for c in chunks:
                groups.setdefault((c.model, c.version, hour_of(c.ts)), []).append(c)
            written = 0
            pending = list(groups.items())
            while pending:
                (model, version, hour), part = pending.pop(0)
                frame = self._frame(model, part)
                if frame is None:
                    continue
                try:
                    self._write(model, version, hour, frame)
                except Exception as exc:
                    self._requeue(part + [c for _, cs in pending for c in cs])
                    self._errors += 1
                    self._last_error = describe(exc)
                    log.warning(
                        "prediction log: flush to %s failed: %s", self.root, self._last_error
                    )
                    raise StoreUnavailable(
                        f"prediction log {self.root!r} cannot be written ({self._last_error}); "
                        "the predictions stay queued and are retried at the next flush"
                    ) from exc
                written += frame.height
            self._rows_written += written
            # Health is current: a flush that wrote everything clears the last failure.
            self._last_error = None
            return written

    def _frame(self, model: str, part: list[QueuedRequest]) -> pl.DataFrame | None:
        """The frame of ``part``; requests that do not convert are dropped and counted.

        :meth:`append` admits only values that convert, so this is a safety
        net: whatever happens here, the rows are either in the frame or counted
        on ``rows_dropped``, never silently lost, and never retried forever.
        """
        try:
            return build_frame(part)
        except Exception:
            good = self._salvage(model, part)
        if not good:
            return None
        try:
            return build_frame(good)
        except Exception as exc:  # each converts alone, not together
            self._drop(model, good, exc)
            return None

    def _salvage(self, model: str, part: list[QueuedRequest]) -> list[QueuedRequest]:
        """The requests of ``part`` that convert; the others are dropped and reported.

        They are not retried: the same values would fail again and block the queue.
        """
        good: list[QueuedRequest] = []
        for c in part:
            try:
                build_frame([c])
            except Exception as exc:
                self._drop(model, [c], exc)
            else:
                good.append(c)
        return good

    def _drop(self, model: str, chunks: list[QueuedRequest], exc: Exception) -> None:
        """Count and log requests that cannot be stored (they do not make the log unhealthy)."""
        for c in chunks:
            self._dropped += len(c.prediction_ids)
            log.error(
                "prediction log: request %s to %s could not be stored: %s",
                c.request_id,
                model,
                # ascii(): the message may quote text that cannot be encoded.
                ascii(describe(exc)),
            )

    def _requeue(self, chunks: list[QueuedRequest]) -> None:
        with self._lock:
            self._buffer[:0] = chunks
            self._queued += sum(len(c.prediction_ids) for c in chunks)

    def _write(self, model: str, version: int, hour: str, frame: pl.DataFrame) -> None:
        def write(f: IO[bytes]) -> None:
            frame.write_parquet(f, compression="zstd", statistics=True)

        self.layout.write_atomic(
            self.layout.partition_dir(model, version, hour), write, part_name(self.file_tag)
        )
        self._files_written += 1

    # -- lifecycle -------------------------------------------------------------

    @property
    def stats(self) -> WriterStats:
        return WriterStats(
            self._queued,
            self._rows_written,
            self._files_written,
            self._errors,
            self._dropped,
            self._last_error,
        )

    def close(self) -> None:
        """Write everything queued and stop the background thread (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stopping = True
        self._wake.set()
        self._thread.join()
        _LIVE.discard(self)
        self.flush()

    def __enter__(self) -> PredictionLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _after_fork(self) -> None:
        # The child gets the parent's queue but not its thread; the parent
        # writes those rows, so the child starts empty with a thread of its own.
        if not self._closed:
            self._start()


_LIVE: weakref.WeakSet[PredictionLogWriter] = weakref.WeakSet()


def _close_all() -> None:
    for writer in list(_LIVE):
        try:
            writer.close()
        except Exception as exc:  # at exit there is no caller left to raise to
            log.error("prediction log: final flush to %s failed: %s", writer.root, describe(exc))


def _reset_after_fork() -> None:
    for writer in list(_LIVE):
        writer._after_fork()


atexit.register(_close_all)
os.register_at_fork(after_in_child=_reset_after_fork)
