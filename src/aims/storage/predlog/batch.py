"""A batch of queued predictions and its conversion to one Polars frame.

The request path stores each request as a :class:`QueuedRequest` holding
references only; the background flush turns many of them into the frame
written to one Parquet file.

What may be queued is decided here too: :func:`check_inputs` admits only
values every Parquet column can hold (null, booleans, 64-bit integers, floats,
valid Unicode text of at most :data:`MAX_TEXT_CHARS` characters, dates and
times), so a queued request always converts, and a value that could not be
stored is refused while the caller can still be told, before anything is
acknowledged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence, Sized
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl

from aims.errors import InvalidInput
from aims.storage.predlog.schema import FIXED_SCHEMA, as_text, feature_column

__all__ = [
    "BUILD_ROWS",
    "MAX_TEXT_CHARS",
    "Inputs",
    "QueuedRequest",
    "build_frame",
    "check_inputs",
    "check_lengths",
    "check_texts",
    "text_problem",
    "value_problem",
]

Inputs = Sequence[Mapping[str, Any]] | pl.DataFrame
#: Rows converted at a time when a flush builds its frame (see :func:`build_frame`).
BUILD_ROWS = 1024
#: Longest text value the log takes (longer text is refused, not cut).
MAX_TEXT_CHARS = 65_536
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: Value types stored as they are (besides bool, int, float, str and None).
_SCALARS = (dt.date, dt.time, dt.timedelta, Decimal, np.bool_, np.integer, np.floating)
#: Column types of a frame of inputs that Parquet stores.
_FRAME_TYPES = (
    pl.Boolean, pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32,
    pl.UInt64, pl.Float32, pl.Float64, pl.String, pl.Null, pl.Date, pl.Datetime,
    pl.Duration, pl.Time, pl.Categorical, pl.Enum, pl.Decimal,
)  # fmt: skip


def value_problem(value: Any) -> str | None:
    """Why ``value`` cannot be stored in a log column, or None when it can.

    The answer never quotes the value: it may be personal data.

    Examples
    --------
    >>> [value_problem(v) for v in (None, True, 3, 2.5, float("nan"), "text")]
    [None, None, None, None, None, None]
    >>> value_problem(2**64), value_problem([1, 2]), value_problem(chr(0xDC00))
    ('an integer outside the 64-bit range', 'a list', 'text that is not valid Unicode (a lone surrogate)')
    """
    t = type(value)
    if value is None or t is float or t is bool:
        return None
    if t is int:
        return None if INT64_MIN <= value <= INT64_MAX else "an integer outside the 64-bit range"
    if t is str:
        return text_problem(value)
    if isinstance(value, _SCALARS):
        return None
    if isinstance(value, int):  # an int subclass (IntEnum...): the same bound
        return None if INT64_MIN <= value <= INT64_MAX else "an integer outside the 64-bit range"
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, float):
        return None
    return f"a {t.__name__}"


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored (too long, or not valid Unicode), or None."""
    if len(text) > MAX_TEXT_CHARS:
        return f"text longer than {MAX_TEXT_CHARS} characters"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "text that is not valid Unicode (a lone surrogate)"
    return None


def check_lengths(n: int, *, inputs: Sized, **columns: Sized | None) -> None:
    """Refuse a request whose inputs or per-row columns do not hold one entry per prediction.

    Examples
    --------
    >>> check_lengths(2, inputs=[{}, {}], scores=[0.1])
    Traceback (most recent call last):
    ...
    aims.errors.InvalidInput: 1 scores for 2 predictions; they must match
    """
    if len(inputs) != n:
        raise InvalidInput(f"{len(inputs)} input rows but {n} predictions; they must match")
    for name, seq in columns.items():
        if seq is not None and len(seq) != n:
            raise InvalidInput(f"{len(seq)} {name} for {n} predictions; they must match")


def check_texts(
    prediction_ids: Sequence[Any] | None, keys: Sequence[Any] | None, predictions: Sequence[Any]
) -> None:
    """Refuse ids, keys and predictions the log could not store, naming the row and field."""
    for name, seq in (
        ("prediction_id", prediction_ids),
        ("key", keys),
        ("prediction", predictions),
    ):
        for i, value in enumerate(seq or ()):
            problem = text_problem(value) if isinstance(value, str) else None
            if name == "prediction_id" and not isinstance(value, str):
                problem = "not text"
            if problem is not None:
                message = f"row {i}, {name}: {problem} cannot be stored"
                raise InvalidInput(
                    message,
                    details=[{"row": i, "field": name, "rule": "storable", "message": message}],
                )


def check_inputs(inputs: Inputs) -> None:
    """Refuse (:class:`~aims.errors.InvalidInput`) inputs that the log could not store.

    The error's ``details`` name the row, the field and the rule
    (``storable``) of every value refused, and never the value itself.
    """
    details: list[dict[str, Any]] = []
    if isinstance(inputs, pl.DataFrame):
        for name, dtype in inputs.schema.items():
            problem = text_problem(name)
            if problem is None and not isinstance(dtype, _FRAME_TYPES):
                problem = f"a column of type {dtype}"
            if problem is not None:
                details.append(_detail(None, name, problem))
    else:
        names: set[Any] = set()
        for row, record in enumerate(inputs):
            if not isinstance(record, Mapping):
                details.append(_detail(row, "(record)", "a record that is not an object"))
                continue
            names.update(record)
            for name, value in record.items():
                t = type(value)
                # The common values first, without a call.
                if value is None or t is float or t is bool:
                    continue
                if t is int and INT64_MIN <= value <= INT64_MAX:
                    continue
                if t is str and (value.isascii() and len(value) <= MAX_TEXT_CHARS):
                    continue
                problem = value_problem(value)
                if problem is not None:
                    details.append(_detail(row, name, problem))
        for name in names:
            problem = text_problem(name) if isinstance(name, str) else "a name that is not text"
            if problem is not None:
                details.append(_detail(None, name, f"a field name that is {problem}"))
    if details:
        raise InvalidInput(
            f"{len(details)} value(s) cannot be stored in the prediction log: "
            + "; ".join(d["message"] for d in details[:3])
            + ("" if len(details) <= 3 else "; ..."),
            details=details,
        )


def _detail(row: int | None, name: Any, problem: str) -> dict[str, Any]:
    field = (
        name.encode("utf-8", "backslashreplace").decode() if isinstance(name, str) else repr(name)
    )
    where = f"row {row}, " if row is not None else ""
    return {
        "row": row,
        "field": field,
        "rule": "storable",
        "message": f"{where}{field}: {problem} cannot be stored; send a number, text, "
        "a boolean or null",
    }


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
    contract_warnings: Sequence[str | None] | None = None


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
        warned = c.contract_warnings
        cols["contract_warnings"].extend(warned if warned is not None else [None] * n)
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
    frame = parts[0] if len(parts) == 1 else _concat(parts)
    clash = {c: feature_column(c) for c in frame.columns if feature_column(c) != c}
    return frame.rename(clash) if clash else frame


def _concat(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """Frames stacked by column name; a column whose types do not meet becomes text."""
    try:
        return pl.concat(parts, how="diagonal_relaxed")
    except Exception:  # e.g. a column that is a date in one request and a number in another
        return pl.concat([p.cast(pl.String) for p in parts], how="diagonal_relaxed")


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
