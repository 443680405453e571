"""Column kinds: how aims decides whether a column is numeric or categorical.

Every column of a frame gets one kind, decided from its Polars type (and, for
integers, from how many distinct values the reference holds):

========== ==================================================== =====================
kind       Polars types                                         profiled as
========== ==================================================== =====================
numeric    floats, decimals, integers with more than            histogram + moments
           ``max_int_categories`` distinct values
datetime   Date, Datetime, Duration, Time (as microseconds)     histogram + moments
boolean    Boolean                                              category counts
categorical String, Categorical, Enum, integers with at most    category counts
           ``max_int_categories`` distinct values
unsupported List, Struct, Binary, Object, Null, ...             row and null counts
========== ==================================================== =====================

An integer column with few distinct values (a 0/1 label, a rating from 1 to 5)
behaves like a set of categories, so it is compared as one; past that it is a
quantity. The cut-off is an explicit parameter.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl

from aims.errors import InvalidInput

__all__ = [
    "CATEGORICAL_KINDS",
    "KINDS",
    "MAX_INT_CATEGORIES",
    "NUMERIC_KINDS",
    "Kind",
    "as_float",
    "as_labels",
    "check_kind",
    "compatible",
    "kind_of",
    "natural_kind",
]

Kind = Literal["numeric", "datetime", "boolean", "categorical", "unsupported"]
KINDS: tuple[Kind, ...] = ("numeric", "datetime", "boolean", "categorical", "unsupported")
NUMERIC_KINDS: frozenset[str] = frozenset({"numeric", "datetime"})
CATEGORICAL_KINDS: frozenset[str] = frozenset({"boolean", "categorical"})

MAX_INT_CATEGORIES = 10
"""Integer columns with at most this many distinct values are categorical."""


def kind_of(series: pl.Series, *, max_int_categories: int = MAX_INT_CATEGORIES) -> Kind:
    """The kind of ``series`` (see the module docstring for the rules).

    Parameters
    ----------
    series
        The column, usually from the reference data.
    max_int_categories
        Integer columns with at most this many distinct non-null values are
        categorical; with more they are numeric.

    Examples
    --------
    >>> kind_of(pl.Series([0, 1, 1, 0]))
    'categorical'
    >>> kind_of(pl.Series(range(100)))
    'numeric'
    >>> kind_of(pl.Series(["a", "b"]))
    'categorical'
    """
    dtype = series.dtype
    if dtype.is_integer():
        distinct = series.drop_nulls().n_unique()
        return "categorical" if distinct <= max_int_categories else "numeric"
    return natural_kind(dtype)


def natural_kind(dtype: pl.DataType) -> Kind:
    """The kind a column of ``dtype`` can be compared as, ignoring cardinality.

    Integers count as numeric here; it is used to decide whether a current
    column can be compared with a reference column of a given kind.
    """
    if dtype == pl.Boolean:
        return "boolean"
    if dtype.is_numeric():
        return "numeric"
    if dtype.is_temporal():
        return "datetime"
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum | pl.Categorical):
        return "categorical"
    return "unsupported"


def compatible(kind: str, dtype: pl.DataType) -> bool:
    """Whether a column of ``dtype`` can be profiled like a reference column of ``kind``."""
    other = natural_kind(dtype)
    if kind == "categorical":
        # integer categories (a 0/1 label) stay comparable with integer columns
        return other in ("categorical", "numeric") and (
            other == "categorical" or dtype.is_integer() or dtype.is_float()
        )
    if kind == "numeric":
        return other == "numeric"
    return other == kind


def check_kind(kind: str, column: str) -> Kind:
    """Validate a kind given by a user for ``column``."""
    if kind not in KINDS or kind == "unsupported":
        allowed = ", ".join(k for k in KINDS if k != "unsupported")
        raise InvalidInput(f"column {column!r}: unknown kind {kind!r}; use one of {allowed}")
    return kind


def as_float(series: pl.Series) -> np.ndarray:
    """The values of a numeric or temporal column as float64 (nulls as NaN).

    Temporal values become microseconds (durations, times, datetimes since
    the Unix epoch; dates are converted to datetimes first).
    """
    dtype = series.dtype
    if dtype == pl.Date:
        series = series.cast(pl.Datetime("us"))
        dtype = series.dtype
    if isinstance(dtype, pl.Datetime | pl.Duration):
        if getattr(dtype, "time_unit", "us") != "us":
            series = series.dt.cast_time_unit("us")
        series = series.to_physical()
    elif dtype == pl.Time:
        # nanoseconds since midnight
        series = series.to_physical() // 1000
    if series.dtype != pl.Float64:
        series = series.cast(pl.Float64)
    return series.to_numpy(allow_copy=True)


def as_labels(series: pl.Series) -> pl.Series:
    """The values of a categorical column as strings (nulls kept as nulls).

    Booleans become ``"true"``/``"false"``; whole floats are written as
    integers so that a label read as ``1.0`` matches the reference's ``1``.
    """
    dtype = series.dtype
    if dtype.is_float():
        whole = series.is_not_nan() & ((series - series.floor()) == 0)
        as_int = series.cast(pl.Int64, strict=False).cast(pl.String)
        as_text = series.cast(pl.String)
        return (
            pl.select(pl.when(whole).then(as_int).otherwise(as_text)).to_series().alias(series.name)
        )
    if dtype != pl.String:
        return series.cast(pl.String)
    return series
