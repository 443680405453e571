"""Profiles of partitioned data: one layout for every part, merged into the profile of the whole.

A profile merges by addition only when both sides were binned on the same
layouts. A partitioned reference (files of a lake, tasks of a Dask cluster,
partitions of a Spark job) is therefore built in three steps:

1. :func:`template` fixes the layouts once, from a sample (the engines use the
   first rows of the first non-empty part), and opens every category set so
   that values unseen in the sample are counted exactly (up to
   ``max_categories``) instead of spilling into "other";
2. :func:`profile_part` profiles each part on the template, anywhere: only
   the template travels to a worker, and only the part's profile comes back;
3. :func:`finish` merges nothing itself but closes the category sets of the
   merged profile, promoting the values seen anywhere into categories.

``finish(merge(profile_part(t, p) for p in parts))`` equals
``finish(profile_part(t, whole))``: the same histogram counts, tail buckets,
null/NaN/infinity counts, minimum, maximum and categories. The mean and
``m2`` are sums of floating-point numbers, so they depend on the order of
summation: they agree to a relative ``n * 2**-52`` (in practice 1e-15 to
1e-13); merging the same parts in the same order gives them bit for bit.

Examples
--------
>>> import polars as pl
>>> whole = pl.DataFrame({"x": [1.0, 2.0, float("nan"), 9.0], "c": ["a", "b", "z", None]})
>>> t = template(whole.head(2))
>>> parts = [profile_part(t, whole.slice(i, 2)) for i in (0, 2)]
>>> merged = finish(parts[0].merge(parts[1]))
>>> merged["x"].n, merged["x"].nans, merged["x"].maximum, merged["c"].frequencies()
(3, 1, 9.0, {'a': 1, 'b': 1, 'z': 1})
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

import polars as pl

from aims.core.profile import categorical as cat
from aims.core.profile import numeric as num
from aims.core.profile.frame import (
    ColumnProfile,
    FrameProfile,
    ProfileOptions,
    finalise_categories,
    profile_frame,
    profile_frame_like,
)
from aims.core.profile.unsupported import UnsupportedProfile
from aims.errors import InvalidInput

__all__ = [
    "blank",
    "finish",
    "is_template",
    "profile_columns",
    "profile_part",
    "profile_parts",
    "template",
]


def _blank(prof: ColumnProfile) -> ColumnProfile:
    """The layout of ``prof`` with nothing counted."""
    if isinstance(prof, num.NumericProfile):
        return num.NumericProfile(layout=prof.layout, kind=prof.kind, dtype=prof.dtype)
    if isinstance(prof, cat.CategoricalProfile):
        return cat.CategoricalProfile(layout=prof.layout, kind=prof.kind, dtype=prof.dtype)
    return UnsupportedProfile(prof.dtype, prof.kind, 0, 0, prof.reason)


def _opened(prof: ColumnProfile, opts: ProfileOptions) -> ColumnProfile:
    """``prof`` blank, with its category set opened up."""
    if isinstance(prof, cat.CategoricalProfile):
        # While the parts are counted, every value outside the sample's categories is
        # kept exactly (up to max_categories), so the final set does not depend on
        # which part saw a value first.
        layout = cat.CategoricalLayout(prof.layout.categories, max_extra=opts.max_categories)
        return cat.CategoricalProfile(layout=layout, kind=prof.kind, dtype=prof.dtype)
    return _blank(prof)


def blank(plan: FrameProfile) -> FrameProfile:
    """``plan``'s layouts with nothing counted: the profile of no rows, which merges as nothing."""
    return FrameProfile({n: _blank(p) for n, p in plan.columns.items()}, 0)


def template(
    sample: pl.DataFrame,
    *,
    kinds: Mapping[str, str] | None = None,
    columns: list[str] | None = None,
    options: ProfileOptions | None = None,
) -> FrameProfile:
    """Layouts fixed from ``sample``, with nothing counted: the plan every part follows.

    Numeric bin layouts are fitted on the sample's values, column kinds are
    inferred from it (or taken from ``kinds``), and categorical columns keep
    the sample's most frequent values as categories while counting up to
    ``max_categories`` others exactly.
    """
    if sample.height == 0:
        raise InvalidInput("no data to profile: the sample that fixes the layouts is empty")
    opts = options or ProfileOptions()
    fitted = profile_frame(sample, kinds=kinds, columns=columns, options=opts)
    return FrameProfile({n: _opened(p, opts) for n, p in fitted.columns.items()}, 0)


def is_template(prof: FrameProfile) -> bool:
    """Whether ``prof`` counts nothing (a layout plan from :func:`template`)."""
    return prof.rows == 0


def profile_part(plan: FrameProfile, frame: pl.DataFrame, *, threads: bool = True) -> FrameProfile:
    """Profile of one part (any number of rows, zero included) on ``plan``'s layouts.

    Columns of ``frame`` that the plan lacks are recorded as new (rows and
    nulls only); plan columns that ``frame`` lacks are left out, so they merge
    as if this part had none of their rows. ``threads=False`` profiles the
    columns on the calling thread only.
    """
    names = [c for c in frame.columns if c in plan.columns]
    return profile_frame_like(plan, frame.select(names), threads=threads)


def profile_parts(
    plan: FrameProfile, frames: Iterable[pl.DataFrame], *, threads: bool = True
) -> FrameProfile:
    """Profile of every frame of ``frames`` on ``plan``, merged in order (not finished)."""
    out: FrameProfile | None = None
    for frame in frames:
        part = profile_part(plan, frame, threads=threads)
        out = part if out is None else out.merge(part)
    return out if out is not None else blank(plan)


def profile_columns(
    plan: FrameProfile, columns: Iterable[Iterable[pl.DataFrame]]
) -> FrameProfile | None:
    """Profile of one part read a column at a time, on the calling thread.

    Each item of ``columns`` is one column's batches, as one-column frames in
    the part's order. The result equals :func:`profile_parts` of the same
    batches with every column together, bit for bit: a column's profile
    depends on its own batches alone, merged in the same order, and the
    columns come in the same order. ``None`` when no column has a batch (a
    part without rows, or without any of the plan's columns): the caller then
    profiles the part's whole batches.
    """
    out: dict[str, ColumnProfile] = {}
    rows: int | None = None
    for batches in columns:
        merged: FrameProfile | None = None
        for frame in batches:
            part = profile_part(plan, frame, threads=False)
            merged = part if merged is None else merged.merge(part)
        if merged is not None:
            out.update(merged.columns)
            rows = merged.rows
    return None if rows is None else FrameProfile(out, rows)


def finish(merged: FrameProfile, options: ProfileOptions | None = None) -> FrameProfile:
    """Close the category sets of a merged reference: values seen anywhere become categories.

    The categories are the ``max_categories`` most frequent values of the
    whole (ties by value); categorical layouts go back to ``max_extra``
    extras, so windows profiled on this reference count unseen values as
    before. Numeric columns are returned as they are.
    """
    opts = options or ProfileOptions()
    columns: dict[str, ColumnProfile] = {}
    for name, prof in merged.columns.items():
        if isinstance(prof, cat.CategoricalProfile):
            closed = finalise_categories(prof, opts)
            if closed.layout.max_extra != opts.max_extra:
                layout = cat.CategoricalLayout(closed.layout.categories, max_extra=opts.max_extra)
                closed = dataclasses.replace(closed, layout=layout)
            columns[name] = closed
        else:
            columns[name] = prof
    return FrameProfile(columns, merged.rows)
