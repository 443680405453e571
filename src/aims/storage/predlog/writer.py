"""The background, batched writer of the prediction log."""

from __future__ import annotations

import atexit
import threading
import time
import uuid
import weakref
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import fsspec
import polars as pl

from aims.storage.predlog.schema import feature_column, hour_of


@dataclass
class _Chunk:
    model: str
    version: int
    role: str
    ts: datetime
    request_id: str
    latency_ms: float
    inputs: Sequence[Mapping[str, Any]]
    predictions: Sequence[Any]
    scores: Sequence[float | None] | None
    proba: Sequence[Sequence[float]] | None
    prediction_ids: list[str]
    keys: Sequence[str | None] | None


def new_id() -> str:
    """A prediction id: time-ordered hex (ms timestamp + random), 32 characters."""
    return f"{int(time.time() * 1000):012x}{uuid.uuid4().hex[:20]}"


class PredictionLogWriter:
    """Buffers predictions and writes them to Parquet off the request path.

    Parameters
    ----------
    root
        Folder or fsspec URL of the log.
    flush_interval
        Seconds between flushes: at most this much acknowledged work is lost if
        the process is killed (a clean :meth:`close` loses nothing).
    max_buffer_rows
        A flush starts early when this many rows are waiting.
    """

    def __init__(self, root: str, *, flush_interval: float = 1.0, max_buffer_rows: int = 50_000):
        self.root = str(root).rstrip("/")
        self.fs, self._base = fsspec.core.url_to_fs(self.root)
        self.flush_interval = flush_interval
        self.max_buffer_rows = max_buffer_rows
        self._buffer: list[_Chunk] = []
        self._rows = 0
        self._lock = threading.Lock()
        self._io_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self.rows_written = 0
        self.files_written = 0
        self.errors = 0
        self._thread = threading.Thread(target=self._loop, name="aims-predlog", daemon=True)
        self._thread.start()
        ref = weakref.ref(self)
        atexit.register(lambda: (w := ref()) is not None and w.close())

    def append(
        self,
        model: str,
        version: int,
        role: str,
        inputs: Sequence[Mapping[str, Any]],
        predictions: Sequence[Any],
        *,
        scores: Sequence[float | None] | None = None,
        proba: Sequence[Sequence[float]] | None = None,
        prediction_ids: list[str] | None = None,
        request_id: str | None = None,
        latency_ms: float = 0.0,
        keys: Sequence[str | None] | None = None,
        ts: datetime | None = None,
    ) -> list[str]:
        """Queue one request's predictions; returns their prediction ids. Never touches disk."""
        if self._stopped:
            raise RuntimeError("the prediction log writer is closed")
        ids = prediction_ids or [new_id() for _ in predictions]
        chunk = _Chunk(
            model,
            int(version),
            role,
            ts or datetime.now(UTC),
            request_id or uuid.uuid4().hex,
            float(latency_ms),
            inputs,
            predictions,
            scores,
            proba,
            ids,
            keys,
        )
        with self._lock:
            self._buffer.append(chunk)
            self._rows += len(ids)
            full = self._rows >= self.max_buffer_rows
        if full:
            self._wake.set()
        return ids

    def _loop(self) -> None:
        while not self._stopped:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # a bad batch must not stop logging; it is counted
                self.errors += 1

    def flush(self) -> int:
        """Write everything queued so far; returns the number of rows written."""
        with self._lock:
            chunks, self._buffer, self._rows = self._buffer, [], 0
        if not chunks:
            return 0
        groups: dict[tuple[str, int, str], list[_Chunk]] = defaultdict(list)
        for c in chunks:
            groups[(c.model, c.version, hour_of(c.ts))].append(c)
        written = 0
        with self._io_lock:
            for (model, version, hour), part in groups.items():
                frame = _frame(part)
                self._write(model, version, hour, frame)
                written += frame.height
        self.rows_written += written
        return written

    def _write(self, model: str, version: int, hour: str, frame: pl.DataFrame) -> None:
        folder = f"{self._base}/model={model}/version={version}/hour={hour}"
        self.fs.makedirs(folder, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        final = f"{folder}/part-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = f"{folder}/.tmp-{uuid.uuid4().hex}.parquet"
        # Written under a hidden name and renamed, so readers never see half a file.
        with self.fs.open(tmp, "wb") as f:
            frame.write_parquet(f, compression="zstd", statistics=True)
        self.fs.mv(tmp, final)
        self.files_written += 1

    def close(self) -> None:
        """Flush everything and stop the background thread (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self._wake.set()
        self._thread.join(timeout=30)
        self.flush()

    def __enter__(self) -> PredictionLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _frame(chunks: list[_Chunk]) -> pl.DataFrame:
    cols: dict[str, list[Any]] = defaultdict(list)
    features: list[str] = []
    seen: set[str] = set()
    for c in chunks:
        for row in c.inputs:
            for name in row:
                if name not in seen:
                    seen.add(name)
                    features.append(name)
    n_total = 0
    for c in chunks:
        n = len(c.prediction_ids)
        cols["prediction_id"].extend(c.prediction_ids)
        cols["request_id"].extend([c.request_id] * n)
        cols["role"].extend([c.role] * n)
        cols["ts"].extend([c.ts] * n)
        cols["latency_ms"].extend([c.latency_ms] * n)
        cols["prediction"].extend(None if p is None else str(p) for p in c.predictions)
        cols["score"].extend(c.scores if c.scores is not None else [None] * n)
        cols["proba"].extend(
            [list(map(float, p)) for p in c.proba] if c.proba is not None else [None] * n
        )
        cols["key"].extend(c.keys if c.keys is not None else [None] * n)
        for name in features:
            cols[feature_column(name)].extend(row.get(name) for row in c.inputs)
        n_total += n
    schema = {
        "prediction_id": pl.String,
        "request_id": pl.String,
        "role": pl.String,
        "ts": pl.Datetime("us", "UTC"),
        "latency_ms": pl.Float64,
        "prediction": pl.String,
        "score": pl.Float64,
        "proba": pl.List(pl.Float64),
        "key": pl.String,
    }
    fixed = pl.DataFrame({k: cols[k] for k in schema}, schema=schema)
    feats = (
        pl.DataFrame({feature_column(f): cols[feature_column(f)] for f in features}, strict=False)
        if features
        else pl.DataFrame()
    )
    return pl.concat([fixed, feats], how="horizontal") if features else fixed
