"""Monitoring windows: which are closed and pending, and the mergeable profile of each.

A window is ``[start, start + length)`` with ``start`` a multiple of the length
since midnight UTC; it is closed once ``now >= end + grace``. Its
:class:`WindowProfile` is built by streaming the prediction log in batches and
holds, per role:

* ``inputs``: profiles of the logged inputs on the training data's layouts;
* ``outputs``: profiles of the prediction, score, confidence and entropy on
  the layouts of the reference predictions;
* ``health``: rows, types, missing counts and newest timestamps of the inputs;
* ``sanity``: counts of null, NaN, infinite, out-of-range and unknown outputs
  and of low-confidence predictions.

Every part merges by addition, so a day is exactly the merge of its hours::

    day = merge_profiles([WindowProfile.loads(blob) for blob in hourly_blobs])
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgpack
import polars as pl

from aims.clock import utc
from aims.core.contract import HealthProfile
from aims.core.outputs import confidence_entropy, output_frame, text_of
from aims.core.profile import FrameProfile, profile_frame_like
from aims.core.windowing import window_column, window_start, windows_of_hour
from aims.errors import InvalidInput

if TYPE_CHECKING:
    from aims.services.monitor.reference import Reference

LOG_COLUMNS = frozenset(
    {
        "prediction_id",
        "request_id",
        "role",
        "ts",
        "latency_ms",
        "prediction",
        "score",
        "proba",
        "key",
        "contract_warnings",
        "model",
        "version",
        "hour",
    }
)
#: Probabilities may miss summing to one by this much (float rounding) before it counts.
PROBA_SUM_TOLERANCE = 1e-6
SANITY_KEYS = (
    "rows",
    "null_prediction",
    "nan",
    "inf",
    "out_of_range",
    "unknown_class",
    "invalid",
    "low_confidence",
    "contract_warnings",
)


def pending_windows(
    partitions: Iterable[tuple[int, datetime]],
    done: set[tuple[int, datetime]],
    *,
    seconds: int,
    now: datetime,
    grace: timedelta,
    since: datetime,
) -> dict[datetime, list[int]]:
    """Closed windows with log data and no stored results: start -> versions, oldest first.

    Parameters
    ----------
    partitions
        ``(version, hour)`` of every log partition.
    done
        ``(version, start)`` of windows already computed.
    since
        Windows starting earlier are not considered (the look-back limit).

    Examples
    --------
    >>> from datetime import UTC
    >>> h = datetime(2026, 1, 1, 10, tzinfo=UTC)
    >>> p = pending_windows([(1, h), (1, h + timedelta(hours=1))], set(), seconds=3600,
    ...                     now=h + timedelta(hours=2, minutes=1), grace=timedelta(minutes=5),
    ...                     since=h - timedelta(days=1))
    >>> [s.hour for s in p]
    [10]
    """
    step = timedelta(seconds=seconds)
    now = utc(now)
    out: dict[datetime, set[int]] = {}
    for version, hour in partitions:
        for start in windows_of_hour(hour, seconds):
            if start < since or start + step + grace > now or (version, start) in done:
                continue
            out.setdefault(start, set()).add(version)
    return {start: sorted(out[start]) for start in sorted(out)}


# --------------------------------------------------------------------------- columns
def input_columns(columns: Sequence[str]) -> dict[str, str]:
    """Log column -> input name, for every logged input (``input_score`` -> ``score``)."""
    out = {}
    for col in columns:
        if col in LOG_COLUMNS:
            continue
        if col.startswith("input_") and col[len("input_") :] in LOG_COLUMNS:
            out[col] = col[len("input_") :]
        else:
            out[col] = col
    return out


def sanity_counts(
    batch: pl.DataFrame, reference: Reference, low_confidence: float
) -> dict[str, int]:
    """Counts of rows whose output is null, NaN, infinite, out of range or an unknown class."""
    cols = batch.columns
    pred = pl.col("prediction").cast(pl.String) if "prediction" in cols else pl.lit(None, pl.String)
    false = pl.lit(False)
    score = pl.col("score").cast(pl.Float64) if "score" in cols else pl.lit(None, pl.Float64)
    has_proba = "proba" in cols and isinstance(batch.schema["proba"], pl.List)
    p = pl.col("proba").cast(pl.List(pl.Float64)) if has_proba else None

    def any_in_proba(test: pl.Expr) -> pl.Expr:
        if p is None:
            return false
        return p.list.eval(test).list.any().fill_null(False)

    nan = score.is_nan().fill_null(False) | any_in_proba(pl.element().is_nan())
    inf = score.is_infinite().fill_null(False) | any_in_proba(pl.element().is_infinite())
    unknown = false
    if reference.task == "regression":
        value = pred.cast(pl.Float64, strict=False)
        nan = (
            nan
            | value.is_nan().fill_null(False)
            | (pred.str.to_lowercase() == "nan").fill_null(False)
        )
        inf = inf | value.is_infinite().fill_null(False)
        lo, hi = reference.output_range or (-math.inf, math.inf)
        out = (value.is_finite() & ((value < lo) | (value > hi))).fill_null(False)
    else:
        finite = score.is_finite().fill_null(False)
        out = finite & ((score < 0) | (score > 1))
        if p is not None:
            bad = any_in_proba(pl.element().is_finite() & ((pl.element() < 0) | (pl.element() > 1)))
            off = ((p.list.sum() - 1).abs() > PROBA_SUM_TOLERANCE).fill_null(False)
            out = out | bad | (off & ~any_in_proba(~pl.element().is_finite()))
        if reference.classes:
            known = pl.lit(pl.Series(reference.classes, dtype=pl.String)).implode()
            unknown = (pred.is_not_null() & ~text_of(pred).is_in(known)).fill_null(False)
    null = pred.is_null()
    invalid = null | nan | inf | out | unknown
    low = false
    if reference.task == "classification":
        conf, _ = confidence_entropy(batch, len(reference.classes or ()) or 2)
        low = (conf < low_confidence).fill_null(False)
    row = batch.select(
        pl.len().alias("rows"),
        null.sum().alias("null_prediction"),
        nan.sum().alias("nan"),
        inf.sum().alias("inf"),
        out.sum().alias("out_of_range"),
        unknown.sum().alias("unknown_class"),
        invalid.sum().alias("invalid"),
        low.sum().alias("low_confidence"),
        # Rows the server predicted although they broke a warn rule of the input contract.
        (pl.col("contract_warnings").is_not_null() if "contract_warnings" in cols else false)
        .sum()
        .alias("contract_warnings"),
    ).row(0, named=True)
    return {k: int(row[k] or 0) for k in SANITY_KEYS}


# --------------------------------------------------------------------------- health (de)serialisation
def _ipc(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_ipc(buf)
    return buf.getvalue()


def _health_to_dict(h: HealthProfile) -> dict[str, Any]:
    newest = {k: v for k, v in h.newest.items() if v is not None}
    return {
        "rows": h.rows,
        "missing": dict(h.missing),
        "schema": _ipc(pl.DataFrame(schema=h.dtypes)),
        "newest": _ipc(
            pl.DataFrame(
                {k: [v] for k, v in newest.items()}, schema={k: h.dtypes[k] for k in newest}
            )
        ),
        "mixed": sorted(h.mixed_types),
    }


def _health_from_dict(d: dict[str, Any]) -> HealthProfile:
    dtypes = dict(pl.read_ipc(io.BytesIO(d["schema"])).schema)
    newest_frame = pl.read_ipc(io.BytesIO(d["newest"]))
    newest = {k: newest_frame[k][0] for k in newest_frame.columns} if newest_frame.height else {}
    return HealthProfile(int(d["rows"]), dtypes, dict(d["missing"]), newest, set(d["mixed"]))


# --------------------------------------------------------------------------- profiles
@dataclass
class WindowProfile:
    """Mergeable summary of one role's traffic in one window."""

    rows: int = 0
    inputs: FrameProfile | None = None
    outputs: FrameProfile | None = None
    health: HealthProfile | None = None
    sanity: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SANITY_KEYS, 0))

    def add(
        self, batch: pl.DataFrame, reference: Reference, low_confidence: float
    ) -> WindowProfile:
        """Profile one batch of log rows (of one role) into this profile; returns ``self``."""
        if batch.height == 0:
            return self
        names = input_columns(batch.columns)
        inputs = batch.select([pl.col(c).alias(n) for c, n in names.items()])
        part = WindowProfile(rows=batch.height)
        if inputs.width:
            part.health = HealthProfile.of(inputs)
            if reference.inputs is not None:
                part.inputs = profile_frame_like(reference.inputs, inputs)
        if reference.outputs is not None:
            outputs = output_frame(batch, reference.task, len(reference.classes or ()) or 2)
            keep = [c for c in outputs.columns if c in reference.outputs.columns]
            if keep:
                part.outputs = profile_frame_like(reference.outputs, outputs.select(keep))
        part.sanity = sanity_counts(batch, reference, low_confidence)
        merged = self.merge(part)
        self.rows, self.inputs, self.outputs = merged.rows, merged.inputs, merged.outputs
        self.health, self.sanity = merged.health, merged.sanity
        return self

    def merge(self, other: WindowProfile) -> WindowProfile:
        """Both windows' traffic together."""

        def both(a: Any, b: Any) -> Any:
            if a is None or b is None:
                return a if b is None else b
            return a.merge(b)

        return WindowProfile(
            self.rows + other.rows,
            both(self.inputs, other.inputs),
            both(self.outputs, other.outputs),
            both(self.health, other.health),
            {k: self.sanity.get(k, 0) + other.sanity.get(k, 0) for k in SANITY_KEYS},
        )

    def dumps(self) -> bytes:
        """Compact msgpack bytes (stored in ``monitor_windows.profile``)."""
        return msgpack.packb(
            {
                "aims_window_profile": 1,
                "rows": self.rows,
                "inputs": None if self.inputs is None else self.inputs.to_dict(),
                "outputs": None if self.outputs is None else self.outputs.to_dict(),
                "health": None if self.health is None else _health_to_dict(self.health),
                "sanity": self.sanity,
            },
            use_bin_type=True,
        )

    @classmethod
    def loads(cls, data: bytes) -> WindowProfile:
        try:
            d = msgpack.unpackb(data, raw=False, strict_map_key=False)
        except (ValueError, msgpack.exceptions.ExtraData) as exc:
            raise InvalidInput(f"cannot read a window profile: {exc}") from None
        if not isinstance(d, dict) or d.get("aims_window_profile") != 1:
            raise InvalidInput("not an aims window profile")
        return cls(
            int(d["rows"]),
            None if d["inputs"] is None else FrameProfile.from_dict(d["inputs"]),
            None if d["outputs"] is None else FrameProfile.from_dict(d["outputs"]),
            None if d["health"] is None else _health_from_dict(d["health"]),
            {k: int(d["sanity"].get(k, 0)) for k in SANITY_KEYS},
        )


def merge_profiles(profiles: Iterable[WindowProfile]) -> WindowProfile:
    """Merge window profiles (e.g. the hours of a day) into one.

    Examples
    --------
    >>> a, b = WindowProfile(rows=3), WindowProfile(rows=4)
    >>> merge_profiles([a, b]).rows
    7
    """
    out = WindowProfile()
    for p in profiles:
        out = out.merge(p)
    return out


def profile_windows(
    batches: Iterable[pl.DataFrame],
    reference: Reference,
    low_confidence: float,
    *,
    seconds: int,
    wanted: set[datetime] | None = None,
) -> dict[tuple[datetime, str], WindowProfile]:
    """Stream ``batches`` of log rows once: a profile per (window start, role) found in them.

    Rows of windows not in ``wanted`` (when given) are skipped.
    """
    out: dict[tuple[datetime, str], WindowProfile] = {}
    for batch in batches:
        if batch.height == 0:
            continue
        if "role" not in batch.columns:
            batch = batch.with_columns(pl.lit("production").alias("role"))
        batch = batch.with_columns(
            window_column(pl.col("ts"), seconds).alias("_window"),
            pl.col("role").fill_null("production"),
        )
        for (when, role), part in batch.partition_by(["_window", "role"], as_dict=True).items():
            start = utc(when)
            if wanted is not None and start not in wanted:
                continue
            prof = out.setdefault((start, str(role)), WindowProfile())
            prof.add(part.drop("_window"), reference, low_confidence)
    return out


__all__ = [
    "SANITY_KEYS",
    "WindowProfile",
    "input_columns",
    "merge_profiles",
    "output_frame",
    "pending_windows",
    "profile_windows",
    "sanity_counts",
    "text_of",
    "window_start",
    "windows_of_hour",
]
