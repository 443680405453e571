"""Inferring a first contract from a dataset, for a person to review and tighten.

What is inferred, per column, from one streaming pass over the data:

- ``logicalType`` from the data type, ``physicalType`` as the Polars type;
- ``required: true`` when no value is missing (null, or NaN in a number column),
  otherwise a ``nullValues`` rule allowing the share seen, plus ``margin`` of
  it, plus ``null_slack``;
- ``minimum``/``maximum`` for numbers: the range seen, widened by ``margin``
  times its width on each side (integers rounded outward, and a column that
  never went below zero keeps zero as its floor), of severity ``warn``
  (recorded and counted, not refused; ``range_severity="error"`` refuses);
- allowed values for text columns with at most ``max_categories`` distinct
  values that each appear at least twice on average;
- ``minLength``/``maxLength`` for other text columns, widened by ``margin``;
- ``unique: true`` for integer and text columns whose values never repeat
  (when at least ``unique_min_rows`` values were seen);
- a table-level ``rowCount`` of at least ``(1 - margin)`` times the rows seen.

Dates and timestamps get no range (later data is newer by nature); freshness
is an explicit choice (``freshness=("column", "1d")``) because the age of the
newest row says nothing about how fresh the next delivery must be.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from aims.core import frames
from aims.core.contract import _types
from aims.core.contract.model import (
    PII_ACTIONS,
    Column,
    Contract,
    Freshness,
    QualityRule,
    Table,
    Threshold,
    duration,
    parse_duration,
)
from aims.core.contract.severity import set_severity
from aims.errors import InvalidInput

__all__ = [
    "DEFAULT_MARGIN",
    "DEFAULT_MAX_CATEGORIES",
    "DEFAULT_NULL_SLACK",
    "DEFAULT_UNIQUE_MIN_ROWS",
    "infer_contract",
]

DEFAULT_MARGIN = 0.1
DEFAULT_MAX_CATEGORIES = 20
DEFAULT_NULL_SLACK = 0.01
DEFAULT_UNIQUE_MIN_ROWS = 20
_SIGNIFICANT_DIGITS = 6


def infer_contract(
    source: Any,
    *,
    name: str | None = None,
    margin: float = DEFAULT_MARGIN,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
    null_slack: float = DEFAULT_NULL_SLACK,
    unique_min_rows: int = DEFAULT_UNIQUE_MIN_ROWS,
    label: str | None = None,
    sensitive: Sequence[str] = (),
    pii: Mapping[str, str] | None = None,
    freshness: tuple[str, str | dt.timedelta] | None = None,
    range_severity: str = "warn",
) -> Contract:
    """Infer an ODCS contract from ``source``.

    Parameters
    ----------
    source
        A Parquet/CSV/Arrow file path, or a Polars (lazy), pandas or PyArrow table.
    name
        Name of the contract and its table; default: the file name without suffix.
    margin
        Relative widening of observed ranges, lengths, null shares and row count (0.1 = 10 %).
    max_categories
        Text columns with at most this many distinct values get an allowed-value list.
    null_slack
        Absolute share (0.01 = one percentage point) added to an observed null share.
    unique_min_rows
        Fewest non-null values before a never-repeating column is declared unique.
    label, sensitive, pii
        The label column, sensitive (fairness) columns, and personal-data columns with
        their action (``hash`` or ``drop``), recorded as aims custom properties.
    freshness
        ``(column, max_age)``, e.g. ``("event_time", "1d")``: adds a latency SLA.
    range_severity
        ``warn`` (default): a value outside an inferred range is recorded and
        counted, not refused, since a range seen on a sample is a guess;
        ``error`` refuses it. See :mod:`aims.core.contract.severity`.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"age": [23, 41, 35, 62], "city": ["Oslo", "Rome", "Oslo", "Rome"]})
    >>> c = infer_contract(df, name="people", max_categories=5)
    >>> col = c.column("age")
    >>> col.logical_type, col.required, col.minimum, col.maximum
    ('integer', True, 19, 66)
    >>> c.column("city").strict_allowed_values()
    ['Oslo', 'Rome']
    """
    if not 0 <= margin < 1:
        raise InvalidInput(f"margin must be in [0, 1), not {margin}")
    if max_categories < 0 or null_slack < 0 or unique_min_rows < 1:
        raise InvalidInput("max_categories and null_slack must be >= 0, unique_min_rows >= 1")
    lazy, default_name, what = _open(source)
    schema = _collect_schema(lazy, what)
    if not schema:
        raise InvalidInput(f"{what}: has no columns; a contract needs at least one")
    stats = _collect(lazy.select(_stat_exprs(schema)), what).row(0, named=True)
    rows = int(stats["__rows"])
    if rows == 0:
        raise InvalidInput(f"{what}: has no rows; infer a contract from data that has some")
    categorical = [
        c
        for c, t in schema.items()
        if _types.logical_type_of(t) == "string"
        and (n := stats.get(f"{c}__distinct")) is not None
        and 0 < n <= max_categories
        and stats[f"{c}__count"] >= 2 * n
    ]
    categories: dict[str, list[Any]] = {}
    if categorical:
        found = _collect(
            lazy.select(
                pl.col(c).cast(pl.String).drop_nulls().unique().sort().implode()
                for c in categorical
            ),
            what,
        ).row(0, named=True)
        categories = {c: list(found[c]) for c in categorical}
    columns = [
        _column(c, t, stats, rows, categories.get(c), margin, null_slack, unique_min_rows)
        for c, t in schema.items()
    ]
    for col in columns:
        if col.has_bounds:
            set_severity(col, "range", range_severity)
    table_name = name or default_name
    table = Table(table_name, columns, physical_type="table")
    table.quality.append(
        QualityRule(
            "rowCount", Threshold("mustBeGreaterOrEqualTo", math.floor(rows * (1 - margin)))
        )
    )
    contract = Contract(
        name=table_name,
        tables=[table],
        id=str(uuid.uuid4()),
        description={
            "purpose": f"Inferred by aims from {what} ({rows} rows). Review and tighten it.",
        },
        extra={"contractCreatedTs": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")},
    )
    _mark(table, label=label, sensitive=sensitive, pii=pii or {})
    if freshness is not None:
        contract.freshness.append(_freshness(table, freshness))
    return contract


def _open(source: Any) -> tuple[pl.LazyFrame, str, str]:
    if isinstance(source, str | Path):
        path = Path(source)
        return frames.scan(path), path.name.split(".")[0] or "dataset", str(path)
    if isinstance(source, pl.LazyFrame):
        return source, "dataset", "data"
    return frames.to_polars(source).lazy(), "dataset", "data"


def _collect_schema(lazy: pl.LazyFrame, what: str) -> dict[str, pl.DataType]:
    try:
        return dict(lazy.collect_schema())
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InvalidInput(f"{what}: cannot be parsed: {_first_line(exc)}") from None


def _collect(lazy: pl.LazyFrame, what: str) -> pl.DataFrame:
    try:
        return lazy.collect(engine="streaming")
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InvalidInput(f"{what}: cannot be parsed: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _stat_exprs(schema: dict[str, pl.DataType]) -> list[pl.Expr]:
    exprs = [pl.len().alias("__rows")]
    for name, dtype in schema.items():
        col = pl.col(name)
        logical = _types.logical_type_of(dtype)
        missing = col.is_null()
        if dtype.is_float():
            missing = missing | col.is_nan()
            exprs.append(col.is_infinite().sum().alias(f"{name}__inf"))
        exprs.append(missing.sum().alias(f"{name}__missing"))
        exprs.append((~missing).sum().alias(f"{name}__count"))
        if logical in ("integer", "number"):
            finite = col.filter(col.is_finite()) if dtype.is_float() else col
            exprs.append(finite.min().cast(pl.Float64).alias(f"{name}__min"))
            exprs.append(finite.max().cast(pl.Float64).alias(f"{name}__max"))
        if logical == "integer":
            exprs.append(col.drop_nulls().n_unique().alias(f"{name}__distinct"))
        if logical == "string":
            text = col.cast(pl.String)
            exprs.append(text.drop_nulls().n_unique().alias(f"{name}__distinct"))
            exprs.append(text.str.len_chars().min().alias(f"{name}__minlen"))
            exprs.append(text.str.len_chars().max().alias(f"{name}__maxlen"))
    return exprs


def _column(
    name: str,
    dtype: pl.DataType,
    stats: dict[str, Any],
    rows: int,
    categories: list[Any] | None,
    margin: float,
    null_slack: float,
    unique_min_rows: int,
) -> Column:
    logical = _types.logical_type_of(dtype)
    col = Column(name, logical or "string", physical_type=_types.physical_name(dtype))
    missing, count = int(stats[f"{name}__missing"]), int(stats[f"{name}__count"])
    if missing == 0:
        col.required = True
    else:
        share = 100.0 * missing / rows
        limit = _round_up(share * (1 + margin) + 100.0 * null_slack, 2)
        if limit < 100:
            col.quality.append(
                QualityRule("nullValues", Threshold("mustBeLessOrEqualTo", limit), "percent")
            )
    if stats.get(f"{name}__inf"):
        col.allow_non_finite = True
    low, high = stats.get(f"{name}__min"), stats.get(f"{name}__max")
    if logical in ("integer", "number") and low is not None and high is not None:
        col.minimum, col.maximum = _widen(low, high, margin, integer=logical == "integer")
    distinct = stats.get(f"{name}__distinct")
    if categories is not None:
        col.quality.append(
            QualityRule(
                "invalidValues", Threshold("mustBe", 0), arguments={"validValues": categories}
            )
        )
    elif logical == "string" and stats.get(f"{name}__minlen") is not None:
        col.min_length = math.floor(stats[f"{name}__minlen"] * (1 - margin))
        col.max_length = math.ceil(stats[f"{name}__maxlen"] * (1 + margin))
    if (
        logical in ("integer", "string")
        and categories is None
        and distinct is not None
        and count >= unique_min_rows
        and distinct == count
    ):
        col.unique = True
    return col


def _widen(low: float, high: float, margin: float, *, integer: bool) -> tuple[Any, Any]:
    width = high - low
    pad = margin * width if width > 0 else margin * abs(high)
    lo, hi = low - pad, high + pad
    if low >= 0 > lo:
        lo = 0.0  # a quantity never seen negative is not allowed to become negative
    if integer:
        return math.floor(lo), math.ceil(hi)
    return _round_sig(lo, down=True), _round_sig(hi, down=False)


def _round_sig(x: float, *, down: bool) -> float | int:
    """Round outward to a few significant digits, so bounds read well."""
    if x == 0 or not math.isfinite(x):
        return 0 if x == 0 else x
    scale = 10.0 ** (math.floor(math.log10(abs(x))) - _SIGNIFICANT_DIGITS + 1)
    steps = x / scale
    if abs(steps - round(steps)) < 1e-6:
        steps = round(steps)  # already on the grid; do not let float error push it out
    value = (math.floor if down else math.ceil)(steps) * scale
    value = float(f"{value:.{_SIGNIFICANT_DIGITS}g}")
    return int(value) if value.is_integer() else value


def _round_up(x: float, digits: int) -> float:
    scale = 10.0**digits
    return math.ceil(x * scale - 1e-9) / scale


def _mark(
    table: Table, *, label: str | None, sensitive: Sequence[str], pii: Mapping[str, str]
) -> None:
    if label is not None:
        table.column(label).label = True
    for name in sensitive:
        table.column(name).sensitive = True
    for name, action in pii.items():
        if action not in PII_ACTIONS:
            raise InvalidInput(f"PII action for {name!r} is 'hash' or 'drop', not {action!r}")
        table.column(name).pii = action


def _freshness(table: Table, spec: tuple[str, str | dt.timedelta]) -> Freshness:
    column, age = spec
    col = table.column(column)
    if col.logical_type not in ("date", "timestamp"):
        raise InvalidInput(
            f"freshness needs a date or timestamp column; {column!r} is {col.logical_type}"
        )
    if isinstance(age, dt.timedelta):
        value, unit = age.total_seconds() / 3600.0, "h"
    else:
        value, unit = parse_duration(age)
    return Freshness(None, column, duration(value, unit), value, unit)
