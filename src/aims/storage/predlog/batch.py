"""A batch of queued predictions and its conversion to one Polars frame.

The request path stores each request as a :class:`QueuedRequest` holding
references only; the background flush turns many of them into the frame
written to one Parquet file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from aims.storage.predlog.schema import FIXED_SCHEMA, as_text, feature_column

Inputs = Sequence[Mapping[str, Any]] | pl.DataFrame
#: Rows converted at a time when a flush builds its frame (see :func:`build_frame`).
BUILD_ROWS = 1024


@dataclass(slots=True)
class QueuedRequest:
    """One request's predictions, as queued (nothing is converted on the request path)."""

    model: str
    version: int
    role: str
    ts: datetime
    request_id: str
    latency_ms: float
    inputs: Inputs
    predictions: Sequence[Any]
    scores: Sequence[Any] | None
    proba: Sequence[Sequence[float] | None] | None
    prediction_ids: Sequence[str]
    keys: Sequence[Any] | None


def build_frame(chunks: Sequence[QueuedRequest]) -> pl.DataFrame:
    """The rows of ``chunks`` as one frame: fixed columns, then one column per feature.

    Built in slices of about :data:`BUILD_ROWS` rows: converting Python
    objects holds the interpreter lock, and a small slice keeps the pause it
    causes on request threads short.
    """
    slices: list[list[QueuedRequest]] = [[]]
    rows = 0
    for c in chunks:
        if rows >= BUILD_ROWS:
            slices.append([])
            rows = 0
        slices[-1].append(c)
        rows += len(c.prediction_ids)
    frames = [_build_slice(piece) for piece in slices]
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")


def _build_slice(chunks: Sequence[QueuedRequest]) -> pl.DataFrame:
    # ts and proba are built apart, by their fast paths below.
    cols: dict[str, list[Any]] = {n: [] for n in FIXED_SCHEMA if n not in ("ts", "proba")}
    micros: list[int] = []
    proba: list[Any] = []
    for c in chunks:
        n = len(c.prediction_ids)
        cols["prediction_id"].extend(c.prediction_ids)
        cols["request_id"].extend([c.request_id] * n)
        cols["role"].extend([c.role] * n)
        # Integers, not datetimes: converting Python datetimes is the slow path.
        micros.extend([(c.ts - _EPOCH) // _MICROSECOND] * n)
        cols["latency_ms"].extend([c.latency_ms] * n)
        cols["prediction"].extend(as_text(p) for p in c.predictions)
        cols["score"].extend(c.scores if c.scores is not None else [None] * n)
        proba.extend([_floats(p) for p in c.proba] if c.proba is not None else [None] * n)
        cols["key"].extend([as_text(k) for k in c.keys] if c.keys is not None else [None] * n)
    series = [
        pl.Series(name, values, dtype=FIXED_SCHEMA[name], strict=False)
        for name, values in cols.items()
    ]
    series.append(pl.Series("ts", micros, dtype=pl.Int64).cast(FIXED_SCHEMA["ts"]))
    series.append(_proba_column(proba))
    fixed = pl.DataFrame(series).select(list(FIXED_SCHEMA))
    features = _features(chunks)
    if features.width == 0:
        return fixed
    return pl.concat([fixed, features], how="horizontal")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _proba_column(rows: list[list[float] | None]) -> pl.Series:
    """Class probabilities as a list column; a matrix when every row has the same classes."""
    width = len(rows[0]) if rows and rows[0] is not None else None
    if width and all(r is not None and len(r) == width for r in rows):
        # One NumPy matrix instead of a Python list per row: about 20x faster.
        return pl.Series("proba", np.array(rows, dtype=float)).cast(FIXED_SCHEMA["proba"])
    return pl.Series("proba", rows, dtype=FIXED_SCHEMA["proba"], strict=False)


def _floats(values: Sequence[Any] | None) -> list[float] | None:
    if values is None:
        return None
    try:
        return [float(x) for x in values]
    except (TypeError, ValueError):
        return None  # not probabilities; the prediction itself is still logged


def _features(chunks: Sequence[QueuedRequest]) -> pl.DataFrame:
    parts: list[pl.DataFrame] = []
    rows: list[Mapping[str, Any]] = []
    for c in chunks:
        if isinstance(c.inputs, pl.DataFrame):
            if rows:
                parts.append(_from_rows(rows))
                rows = []
            parts.append(c.inputs)
        else:
            rows.extend(c.inputs)
    if rows:
        parts.append(_from_rows(rows))
    frame = parts[0] if len(parts) == 1 else pl.concat(parts, how="diagonal_relaxed")
    clash = {c: feature_column(c) for c in frame.columns if feature_column(c) != c}
    return frame.rename(clash) if clash else frame


def _from_rows(rows: list[Mapping[str, Any]]) -> pl.DataFrame:
    try:
        # Every row is looked at for the schema: a column may first appear late.
        return pl.DataFrame(rows, infer_schema_length=None, strict=False)
    except Exception:  # values Polars cannot type are kept as text, not lost
        names = list(dict.fromkeys(k for r in rows for k in r))
        return pl.DataFrame(
            {k: [None if r.get(k) is None else str(r.get(k)) for r in rows] for k in names},
            schema=dict.fromkeys(names, pl.String),
        )
