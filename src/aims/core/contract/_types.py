"""ODCS logical types against Polars data types.

Typed sources (Parquet, Arrow, in-memory frames) carry a data type per
column; a column whose type is outside the family of its logical type fails
the contract's ``type`` rule as a whole (a producer changed the type). The one
lenient case is an ``integer`` column stored as floats, which pandas produces
whenever an integer column has a missing value: there every non-integral value
fails, the rest pass.

Text sources (CSV) carry no types: every value is parsed as its logical type
and each value that does not parse fails the ``type`` rule on its own row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")

# Tried in order; the first that parses a value wins. Offsets are converted to UTC,
# and values without one are taken to be UTC.
_AWARE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%:z")
_NAIVE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
)


def logical_type_of(dtype: pl.DataType) -> str | None:
    """The ODCS logical type for a Polars data type (None for ``Null``/unknown)."""
    if dtype.is_integer():
        return "integer"
    if dtype.is_float() or dtype.is_decimal():
        return "number"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum | pl.Categorical):
        return "string"
    if dtype == pl.Date:
        return "date"
    if isinstance(dtype, pl.Datetime):
        return "timestamp"
    if dtype == pl.Time:
        return "time"
    if isinstance(dtype, pl.Struct):
        return "object"
    if isinstance(dtype, pl.List | pl.Array):
        return "array"
    return None


def physical_name(dtype: pl.DataType) -> str:
    """A short, stable name for a Polars type: ``Int64``, ``Datetime(us, UTC)``, ``String``."""
    if isinstance(dtype, pl.Datetime):
        zone = f", {dtype.time_zone}" if dtype.time_zone else ""
        return f"Datetime({dtype.time_unit}{zone})"
    if isinstance(dtype, pl.Enum):
        return "Enum"
    if isinstance(dtype, pl.Categorical):
        return "Categorical"
    return str(dtype)


def in_family(logical: str | None, dtype: pl.DataType) -> bool:
    """Whether a column of type ``dtype`` holds values of the ``logical`` type as they are."""
    if logical is None or dtype == pl.Null:
        return True
    actual = logical_type_of(dtype)
    if logical == actual:
        return True
    if logical == "number" and actual == "integer":
        return True
    if logical == "date" and actual == "timestamp":
        return True  # pandas has no date type; dates arrive as midnight timestamps
    if logical == "timestamp" and actual == "date":
        return True
    # Vectors and maps arrive as lists (of numbers, of key/value structs).
    return logical in ("vector", "map") and actual == "array"


Check = Literal["none", "values", "column"]


@dataclass
class View:
    """How to read one column as its logical type.

    ``typed`` is the column as values of the logical type (null where a value
    is unreadable), ``present`` is true where a value is given (not null, not
    NaN), and ``check`` says how the ``type`` rule applies: ``none`` (the data
    type fits), ``values`` (per value: given but unreadable) or ``column`` (the
    data type does not fit at all; every given value fails). ``guard``, when
    set, must be and-ed into value rules (it is false on NaN, which ``typed``
    still holds), and ``missing`` counts the rows without a value.
    """

    typed: pl.Expr
    present: pl.Expr
    check: Check
    missing: pl.Expr
    guard: pl.Expr | None = None

    @property
    def type_failure(self) -> pl.Expr:
        """True on rows whose value is given but not of the logical type."""
        return self.present & self.typed.is_null()


def view(name: str, logical: str | None, dtype: pl.DataType, *, text: bool) -> View:
    """The :class:`View` of column ``name`` of type ``dtype`` under ``logical``."""
    col = pl.col(name)
    present = col.is_not_null()
    # Null counts are kept in Arrow metadata: counting them reads no values.
    missing = col.null_count()
    guard = None
    if dtype.is_float():
        # NaN is a missing number, not a value to compare with bounds (Polars
        # orders NaN above every number).
        guard = col.is_not_nan()
        present = present & guard
        missing = missing + col.is_nan().sum()
    if text and dtype == pl.String and logical not in (None, "string"):
        parsed = _parse_text(col, logical)
        if parsed is not None:
            if logical == "number":
                present = present & ~parsed.is_nan().fill_null(False)
                parsed = pl.when(present).then(parsed)
            return View(parsed, present, "values", (~present).sum())
    if logical == "integer" and dtype.is_float():
        whole = pl.when(col.is_finite() & (col == col.floor())).then(col.cast(pl.Int64))
        return View(whole, present, "values", missing)
    if not in_family(logical, dtype):
        return View(pl.lit(None, dtype=dtype).alias(name), present, "column", missing)
    if isinstance(dtype, pl.Categorical | pl.Enum):
        return View(col.cast(pl.String), present, "none", missing)
    if dtype.is_decimal():
        return View(col.cast(pl.Float64), present, "none", missing)
    return View(col, present, "none", missing, guard)


def _parse_text(col: pl.Expr, logical: str | None) -> pl.Expr | None:
    text = col.str.strip_chars()
    if logical == "integer":
        as_float = text.cast(pl.Float64, strict=False)
        integral = pl.when(as_float.is_finite() & (as_float == as_float.floor()))
        return pl.coalesce(
            text.cast(pl.Int64, strict=False), integral.then(as_float.cast(pl.Int64))
        )
    if logical == "number":
        return text.cast(pl.Float64, strict=False)
    if logical == "boolean":
        lower = text.str.to_lowercase()
        return pl.when(lower.is_in(_TRUE)).then(True).when(lower.is_in(_FALSE)).then(False)
    if logical in ("timestamp", "date"):
        stamp = _parse_timestamp(text)
        return stamp.dt.date() if logical == "date" else stamp
    if logical == "time":
        return pl.coalesce(
            text.str.to_time("%H:%M:%S%.f", strict=False), text.str.to_time("%H:%M", strict=False)
        )
    return None


def _parse_timestamp(text: pl.Expr) -> pl.Expr:
    text = text.str.replace(r"Z$", "+00:00")
    aware = [
        text.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC")
        for f in _AWARE_FORMATS
    ]
    naive = [
        text.str.to_datetime(f, strict=False, time_unit="us").dt.replace_time_zone("UTC")
        for f in _NAIVE_FORMATS
    ]
    return pl.coalesce([*aware, *naive])


def typed_dtype(logical: str | None, dtype: pl.DataType, *, text: bool) -> pl.DataType:
    """The data type of :attr:`View.typed` for a column of ``dtype``."""
    parsed: dict[str, pl.DataType] = {
        "integer": pl.Int64(),
        "number": pl.Float64(),
        "boolean": pl.Boolean(),
        "timestamp": pl.Datetime("us", "UTC"),
        "date": pl.Date(),
        "time": pl.Time(),
    }
    if text and dtype == pl.String and logical in parsed:
        return parsed[logical]
    if logical == "integer" and dtype.is_float():
        return pl.Int64()
    if isinstance(dtype, pl.Categorical | pl.Enum):
        return pl.String()
    if dtype.is_decimal():
        return pl.Float64()
    return dtype


def literal(value: Any, logical: str | None, dtype: pl.DataType) -> Any:
    """A contract value (bound, allowed value) as a Python value comparable to ``dtype``."""
    if logical in ("date", "timestamp", "time") and isinstance(value, str):
        if dtype == pl.Time:
            return dt.time.fromisoformat(value)
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if dtype == pl.Date:
            return stamp.date()
        return _align_zone(stamp, dtype)
    if isinstance(value, dt.datetime):
        return value.date() if dtype == pl.Date else _align_zone(value, dtype)
    if dtype == pl.String and not isinstance(value, str):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return value


def _align_zone(stamp: dt.datetime, dtype: pl.DataType) -> dt.datetime:
    zone = dtype.time_zone if isinstance(dtype, pl.Datetime) else None
    if zone is None:
        if stamp.tzinfo is not None:
            return stamp.astimezone(dt.UTC).replace(tzinfo=None)
        return stamp
    if stamp.tzinfo is None:
        return stamp.replace(tzinfo=dt.UTC)
    return stamp


def python_value(value: Any) -> Any:
    """A value from a frame in a JSON-friendly form (ISO text for dates, text for NaN/inf)."""
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [python_value(v) for v in value]
    if isinstance(value, dict):
        return {k: python_value(v) for k, v in value.items()}
    return value
