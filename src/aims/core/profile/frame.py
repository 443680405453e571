"""Profiles of whole frames: build once from a reference, then profile windows alike.

The monitoring loop uses three calls::

    ref = profile(training_data)              # fixes bin edges and category sets
    hour = profile_like(ref, window)          # same layout, so it merges
    day = merge(*hours)                       # a day is the sum of its hours

Inputs may be a file path (Parquet, CSV/TSV, Arrow IPC: streamed in batches of
``batch_rows`` rows with bounded memory) or an in-memory Polars, pandas or
PyArrow table (profiled in one pass, columns in parallel threads).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np
import polars as pl

from aims.core import frames
from aims.core.profile import categorical as cat
from aims.core.profile import numeric as num
from aims.core.profile import numeric_layout as layouts
from aims.core.profile.kinds import (
    CATEGORICAL_KINDS,
    MAX_INT_CATEGORIES,
    NUMERIC_KINDS,
    Kind,
    as_float,
    as_labels,
    check_kind,
    compatible,
    kind_of,
    natural_kind,
)
from aims.core.profile.unsupported import UnsupportedProfile
from aims.errors import InvalidInput

__all__ = [
    "ColumnProfile",
    "FrameProfile",
    "ProfileOptions",
    "Progress",
    "UnsupportedProfile",
    "finalise_categories",
    "merge",
    "profile",
    "profile_frame",
    "profile_frame_like",
    "profile_like",
]

Progress = Callable[[int], None]


ColumnProfile = Union[num.NumericProfile, cat.CategoricalProfile, UnsupportedProfile]  # noqa: UP007


@dataclass(frozen=True)
class ProfileOptions:
    """Numerical choices made when a reference profile fixes its layouts.

    Parameters
    ----------
    bins
        Equal-width core bins per numeric column.
    growth
        Ratio of successive tail buckets beyond the core.
    margin
        Widening of the core beyond the reference's 0.1 %–99.9 % range, as a
        share of that range on each side.
    max_categories
        Categories kept per categorical column (the most frequent).
    max_extra
        Values outside the reference categories counted exactly per window.
    max_int_categories
        Integer columns with at most this many distinct values are categorical.
    """

    bins: int = layouts.DEFAULT_BINS
    growth: float = layouts.DEFAULT_GROWTH
    margin: float = layouts.DEFAULT_MARGIN
    max_categories: int = cat.DEFAULT_MAX_CATEGORIES
    max_extra: int = cat.DEFAULT_MAX_EXTRA
    max_int_categories: int = MAX_INT_CATEGORIES


@dataclass
class FrameProfile:
    """Profiles of the columns of one frame (or of several merged batches)."""

    columns: dict[str, ColumnProfile] = field(default_factory=dict)
    rows: int = 0

    def __getitem__(self, name: str) -> ColumnProfile:
        try:
            return self.columns[name]
        except KeyError:
            raise InvalidInput(
                f"no column {name!r} in this profile; it has {', '.join(self.columns) or 'none'}"
            ) from None

    def merge(self, other: FrameProfile) -> FrameProfile:
        """Both profiles together, column by column (a column in one only is kept)."""
        out: dict[str, ColumnProfile] = {}
        for name in list(self.columns) + [c for c in other.columns if c not in self.columns]:
            a, b = self.columns.get(name), other.columns.get(name)
            if a is not None and b is not None:
                out[name] = _merge_column(name, a, b)
            elif a is not None:
                out[name] = a
            elif b is not None:
                out[name] = b
        return FrameProfile(out, self.rows + other.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "aims_profile": 1,
            "rows": self.rows,
            "columns": {name: p.to_dict() for name, p in self.columns.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FrameProfile:
        if data.get("aims_profile") != 1:
            raise InvalidInput("not an aims profile (missing 'aims_profile': 1)")
        columns: dict[str, ColumnProfile] = {}
        for name, col in data["columns"].items():
            kind = col.get("type")
            if kind == "numeric":
                columns[name] = num.NumericProfile.from_dict(col)
            elif kind == "categorical":
                columns[name] = cat.CategoricalProfile.from_dict(col)
            elif kind == "unsupported":
                columns[name] = UnsupportedProfile.from_dict(col)
            else:
                raise InvalidInput(f"profile column {name!r} has unknown type {kind!r}")
        return cls(columns, int(data["rows"]))


def _merge_column(name: str, a: ColumnProfile, b: ColumnProfile) -> ColumnProfile:
    """Two profiles of column ``name``, merged; they must be of the same kind."""
    if isinstance(a, num.NumericProfile) and isinstance(b, num.NumericProfile):
        return a.merge(b)
    if isinstance(a, cat.CategoricalProfile) and isinstance(b, cat.CategoricalProfile):
        return a.merge(b)
    if isinstance(a, UnsupportedProfile) and isinstance(b, UnsupportedProfile):
        return a.merge(b)
    raise InvalidInput(f"column {name!r}: cannot merge a {a.kind} profile with a {b.kind} profile")


def merge(*profiles: FrameProfile) -> FrameProfile:
    """Merge frame profiles built with the same layouts (``profile_like``).

    Examples
    --------
    >>> ref = profile(pl.DataFrame({"x": [1.0, 2.0, 3.0]}))
    >>> day = merge(profile_like(ref, pl.DataFrame({"x": [1.0]})),
    ...             profile_like(ref, pl.DataFrame({"x": [2.0, 5.0]})))
    >>> day.rows, day["x"].n, day["x"].maximum
    (3, 3, 5.0)
    """
    if not profiles:
        raise InvalidInput("merge needs at least one profile")
    out = profiles[0]
    for p in profiles[1:]:
        out = out.merge(p)
    return out


# --------------------------------------------------------------------------- columns
def _dtype_name(series: pl.Series) -> str:
    return str(series.dtype)


def _reference_column(series: pl.Series, kind: Kind, opts: ProfileOptions) -> ColumnProfile:
    if kind in NUMERIC_KINDS:
        values = as_float(series)
        finite_mask = np.isfinite(values)
        finite = values if finite_mask.all() else values[finite_mask]
        layout = num.NumericLayout.fit(
            finite, bins=opts.bins, growth=opts.growth, margin=opts.margin
        )
        return _numeric_column(series, kind, layout)
    if kind in CATEGORICAL_KINDS:
        _, prof = cat.fit_layout(
            as_labels(series), max_categories=opts.max_categories, max_extra=opts.max_extra
        )
        prof.kind, prof.dtype = kind, _dtype_name(series)
        return prof
    return UnsupportedProfile(_dtype_name(series), "unsupported", series.len(), series.null_count())


def _numeric_column(series: pl.Series, kind: str, layout: num.NumericLayout) -> num.NumericProfile:
    nulls = series.null_count()
    if nulls:
        series = series.drop_nulls()
    return num.profile_values(
        as_float(series), layout, kind=kind, dtype=_dtype_name(series), nulls=nulls
    )


def _like_column(series: pl.Series, ref: ColumnProfile) -> ColumnProfile:
    if isinstance(ref, num.NumericProfile) and compatible(ref.kind, series.dtype):
        return _numeric_column(series, ref.kind, ref.layout)
    if isinstance(ref, cat.CategoricalProfile) and compatible(ref.kind, series.dtype):
        prof = cat.profile_labels(as_labels(series), ref.layout)
        prof.kind, prof.dtype = ref.kind, _dtype_name(series)
        return prof
    dtype = _dtype_name(series)
    same = isinstance(ref, UnsupportedProfile) and ref.reason != "mismatch" and ref.dtype == dtype
    reason = "unsupported" if same else "mismatch"
    return UnsupportedProfile(
        dtype, natural_kind(series.dtype), series.len(), series.null_count(), reason
    )


def _kind_guess(series: pl.Series) -> str:
    return kind_of(series)


def _map_columns(
    fn: Callable[[str], ColumnProfile], names: list[str], threads: bool = True
) -> dict[str, ColumnProfile]:
    workers = min(len(names), os.cpu_count() or 1) if threads else 1
    if workers <= 1:
        return {n: fn(n) for n in names}
    # NumPy ufuncs and Polars release the GIL, so columns profile in parallel
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip(names, pool.map(fn, names), strict=True))


def _select(frame: pl.DataFrame, columns: list[str] | None) -> list[str]:
    if columns is None:
        return list(frame.columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInput(
            f"column(s) {', '.join(map(repr, missing))} not in the data; "
            f"it has {', '.join(frame.columns)}"
        )
    return list(columns)


def _kinds_for(
    frame: pl.DataFrame, names: list[str], kinds: Mapping[str, str] | None, opts: ProfileOptions
) -> dict[str, Kind]:
    given = dict(kinds or {})
    out: dict[str, Kind] = {}
    for name in names:
        if name in given:
            out[name] = check_kind(given[name], name)
        else:
            out[name] = kind_of(frame.get_column(name), max_int_categories=opts.max_int_categories)
    return out


# --------------------------------------------------------------------------- frames
def profile_frame(
    frame: pl.DataFrame,
    *,
    kinds: Mapping[str, str] | None = None,
    columns: list[str] | None = None,
    options: ProfileOptions | None = None,
) -> FrameProfile:
    """Reference profile of an in-memory Polars frame (one pass, columns in parallel)."""
    opts = options or ProfileOptions()
    names = _select(frame, columns)
    resolved = _kinds_for(frame, names, kinds, opts)
    cols = _map_columns(lambda n: _reference_column(frame.get_column(n), resolved[n], opts), names)
    return FrameProfile(cols, frame.height)


def profile_frame_like(
    reference: FrameProfile,
    frame: pl.DataFrame,
    *,
    columns: list[str] | None = None,
    threads: bool = True,
) -> FrameProfile:
    """Profile an in-memory Polars frame on ``reference``'s layouts.

    Reference columns missing from ``frame`` are left out; columns of
    ``frame`` unknown to the reference are recorded with their type only
    (so a report can show them as new). Columns are profiled in parallel
    threads, or with ``threads=False`` one after another on the calling
    thread (a cluster task promised one core).
    """
    names = _select(frame, columns)

    def one(name: str) -> ColumnProfile:
        series = frame.get_column(name)
        ref = reference.columns.get(name)
        if ref is None:
            return UnsupportedProfile(
                _dtype_name(series), _kind_guess(series), series.len(), series.null_count(), "new"
            )
        return _like_column(series, ref)

    return FrameProfile(_map_columns(one, names, threads), frame.height)


def _batches(source: Any, columns: list[str] | None, batch_rows: int) -> Iterator[pl.DataFrame]:
    if isinstance(source, str | Path):
        yield from frames.iter_batches(source, batch_rows=batch_rows, columns=columns)
    else:
        frame = frames.to_polars(source)
        yield frame if columns is None else frame.select(_select(frame, columns))


def finalise_categories(
    prof: cat.CategoricalProfile, opts: ProfileOptions
) -> cat.CategoricalProfile:
    """Promote a streamed reference's extra values into its category set."""
    if not prof.extra:
        return prof
    pool = dict(zip(prof.layout.categories, prof.counts.tolist(), strict=True))
    pool.update(prof.extra)
    kept, spilled = cat._bound(pool, opts.max_categories)
    return dataclasses.replace(
        prof,
        layout=cat.CategoricalLayout(tuple(kept), max_extra=opts.max_extra),
        counts=np.asarray(list(kept.values()), dtype=np.int64),
        extra={},
        other=prof.other + spilled,
    )


def _widen(prof: ColumnProfile, opts: ProfileOptions) -> ColumnProfile:
    if not isinstance(prof, cat.CategoricalProfile):
        return prof
    layout = cat.CategoricalLayout(prof.layout.categories, max_extra=opts.max_categories)
    return dataclasses.replace(prof, layout=layout, extra=dict(prof.extra))


def profile(
    data: Any,
    *,
    kinds: Mapping[str, str] | None = None,
    columns: list[str] | None = None,
    options: ProfileOptions | None = None,
    batch_rows: int = frames.DEFAULT_BATCH_ROWS,
    progress: Progress | None = None,
) -> FrameProfile:
    """Reference profile of ``data`` (file path or in-memory table).

    Parameters
    ----------
    data
        A Parquet/CSV/TSV/Arrow file path (streamed) or a Polars, pandas or
        PyArrow table.
    kinds
        Column name -> kind, overriding the inferred kind (see
        :mod:`aims.core.profile.kinds`).
    columns
        Columns to profile (default: all).
    options
        Layout choices (bins, tail growth, category bounds).
    batch_rows
        Rows per batch when streaming a file.
    progress
        Called with the number of rows of each batch processed.

    Notes
    -----
    When a file is streamed, the first batch fixes the numeric bin layouts;
    later values outside it fall in the geometric tail buckets, so nothing
    is lost, only resolved more coarsely. Categories found after the first
    batch join the category set at the end (up to ``max_categories``).

    Examples
    --------
    >>> p = profile(pl.DataFrame({"x": [1.0, 2.0, None], "c": ["a", "b", "a"]}))
    >>> p["x"].n, p["x"].nulls, p["c"].frequencies()
    (2, 1, {'a': 2, 'b': 1})
    """
    opts = options or ProfileOptions()
    batches = _batches(data, columns, batch_rows)
    first = next(batches, None)
    if first is None:
        raise InvalidInput("no data to profile")
    ref = profile_frame(first, kinds=kinds, columns=columns, options=opts)
    if progress is not None:
        progress(first.height)
    streamed = False
    out = ref
    for batch in batches:
        if not streamed:
            # while streaming a reference, keep every new category exactly (up to
            # max_categories) so the final category set does not depend on batch order
            streamed = True
            ref.columns = {n: _widen(p, opts) for n, p in ref.columns.items()}
            out = ref
        out = out.merge(profile_frame_like(ref, batch))
        if progress is not None:
            progress(batch.height)
    if streamed:
        out.columns = {
            name: finalise_categories(p, opts) if isinstance(p, cat.CategoricalProfile) else p
            for name, p in out.columns.items()
        }
    return out


def profile_like(
    reference: FrameProfile,
    data: Any,
    *,
    columns: list[str] | None = None,
    batch_rows: int = frames.DEFAULT_BATCH_ROWS,
    progress: Progress | None = None,
) -> FrameProfile:
    """Profile ``data`` with the same layouts as ``reference``, so the two compare and merge.

    Examples
    --------
    >>> ref = profile(pl.DataFrame({"c": ["a", "b"]}))
    >>> profile_like(ref, pl.DataFrame({"c": ["a", "z", "z"]}))["c"].frequencies()
    {'a': 1, 'b': 0, 'z': 2}
    """
    parts: Iterable[pl.DataFrame] = _batches(data, columns, batch_rows)
    out: FrameProfile | None = None
    for batch in parts:
        p = profile_frame_like(reference, batch, columns=columns)
        out = p if out is None else out.merge(p)
        if progress is not None:
            progress(batch.height)
    if out is None:
        raise InvalidInput("no data to profile")
    return out
