"""Data health of a monitoring window against the contract.

The monitor calls :func:`data_health` once per window. It reports:

- **schema changes**: contract columns missing from the data, new columns,
  pairs that look like a rename (same type family, similar name), and type
  changes (a different logical type is an issue; a different physical type in
  the same family, e.g. ``Int64`` to ``Int32``, is noted but not an issue);
- **null-share jumps**: per column, the share of missing values against a
  reference share (from the training data, say); without a reference, against
  the contract (``required`` allows none, ``nullValues`` its limit);
- **volume**: rows against an expected count, within ``volume_tolerance``;
- **freshness**: the newest timestamp of each column with a latency SLA.

Everything is computed from a :class:`HealthProfile`, a small summary of a
batch that merges by addition, so a window can be profiled in parts (per
file, per partition) and merged before the report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from aims.clock import now_utc, utc
from aims.core import frames
from aims.core.contract import _types
from aims.core.contract.model import Contract, Threshold
from aims.core.contract.renames import guess_renames
from aims.errors import InvalidInput

__all__ = [
    "DEFAULT_MAX_NULL_INCREASE",
    "DEFAULT_VOLUME_TOLERANCE",
    "HealthProfile",
    "HealthReport",
    "SchemaChange",
    "data_health",
]

DEFAULT_MAX_NULL_INCREASE = 0.05
DEFAULT_VOLUME_TOLERANCE = 0.5


@dataclass
class HealthProfile:
    """Rows, column types, missing-value counts and newest timestamps of a batch.

    Examples
    --------
    >>> import polars as pl
    >>> a = HealthProfile.of(pl.DataFrame({"x": [1.0, None]}))
    >>> b = HealthProfile.of(pl.DataFrame({"x": [float("nan"), 2.0, 3.0]}))
    >>> merged = a.merge(b)
    >>> merged.rows, merged.missing["x"]
    (5, 2)
    """

    rows: int
    dtypes: dict[str, pl.DataType]
    missing: dict[str, int]
    newest: dict[str, Any] = field(default_factory=dict)
    mixed_types: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, batch: Any) -> HealthProfile:
        """Profile a batch (a Polars, pandas or PyArrow table, or a file path)."""
        if isinstance(batch, str | Path):
            lazy = frames.scan(batch)
        elif isinstance(batch, pl.LazyFrame):
            lazy = batch
        else:
            lazy = frames.to_polars(batch).lazy()
        schema = dict(lazy.collect_schema())
        exprs = [pl.len().alias("__rows")]
        for name, dtype in schema.items():
            col = pl.col(name)
            missing = col.is_null() | col.is_nan() if dtype.is_float() else col.is_null()
            exprs.append(missing.sum().alias(f"m:{name}"))
            if dtype == pl.Date or isinstance(dtype, pl.Datetime):
                exprs.append(col.max().alias(f"t:{name}"))
        row = lazy.select(exprs).collect(engine="streaming").row(0, named=True)
        return cls(
            rows=int(row["__rows"]),
            dtypes=schema,
            missing={n: int(row[f"m:{n}"]) for n in schema},
            newest={n: row[f"t:{n}"] for n in schema if f"t:{n}" in row},
        )

    def merge(self, other: HealthProfile) -> HealthProfile:
        """The profile of both batches; a column absent from one is missing on its rows."""
        names = list(self.dtypes) + [n for n in other.dtypes if n not in self.dtypes]
        dtypes: dict[str, pl.DataType] = {}
        mixed = set(self.mixed_types) | set(other.mixed_types)
        for n in names:
            mine, theirs = self.dtypes.get(n), other.dtypes.get(n)
            if mine is not None and theirs is not None and mine != theirs:
                mixed.add(n)
            kept = mine if mine is not None else theirs
            if kept is not None:  # always: every name comes from one side or the other
                dtypes[n] = kept
        missing = {
            n: self.missing.get(n, self.rows) + other.missing.get(n, other.rows) for n in names
        }
        newest: dict[str, Any] = {}
        for n in set(self.newest) | set(other.newest):
            values = [v for v in (self.newest.get(n), other.newest.get(n)) if v is not None]
            newest[n] = max(values, key=_as_time) if values else None
        return HealthProfile(self.rows + other.rows, dtypes, missing, newest, mixed)


@dataclass
class SchemaChange:
    """One difference between the contract's columns and the data's."""

    kind: str  # added | missing | renamed | type_changed | physical_type_changed
    column: str
    expected: str | None = None
    actual: str | None = None

    @property
    def is_issue(self) -> bool:
        return self.kind != "physical_type_changed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "column": self.column,
            "expected": self.expected,
            "actual": self.actual,
            "issue": self.is_issue,
        }


@dataclass
class HealthReport:
    """The data health of one window; ``ok`` is False when any issue was found."""

    rows: int
    schema_changes: list[SchemaChange]
    null_shares: list[dict[str, Any]]
    volume: dict[str, Any]
    freshness: list[dict[str, Any]]
    issues: list[str]

    @property
    def ok(self) -> bool:
        return not self.issues

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "ok": self.ok,
            "rows": self.rows,
            "issues": self.issues,
            "schema_changes": [c.to_dict() for c in self.schema_changes],
            "null_shares": self.null_shares,
            "volume": self.volume,
            "freshness": [
                {**f, "newest": _types.python_value(f["newest"])} for f in self.freshness
            ],
        }


def data_health(
    contract: Contract,
    batch: Any,
    *,
    table: str | None = None,
    expected_rows: int | None = None,
    reference_null_shares: dict[str, float] | None = None,
    now: dt.datetime | None = None,
    max_null_increase: float = DEFAULT_MAX_NULL_INCREASE,
    volume_tolerance: float = DEFAULT_VOLUME_TOLERANCE,
    ignore: Sequence[str] = (),
) -> HealthReport:
    """Report schema changes, null-share jumps, volume and freshness of ``batch``.

    Parameters
    ----------
    contract
        The contract the data should follow.
    batch
        The window's data (any table :mod:`aims.core.frames` reads) or its
        :class:`HealthProfile`.
    table
        Which schema object of the contract; needed only when it has several.
    expected_rows
        Rows expected in the window; the volume is flagged outside
        ``expected_rows * (1 +/- volume_tolerance)``.
    reference_null_shares
        Column -> share of missing values (0 to 1) in the reference data.
    now
        When freshness is measured; default the current time (UTC).
    max_null_increase
        A null share more than this above its reference (absolute, 0.05 = five
        percentage points) is a jump.
    volume_tolerance
        Relative deviation from ``expected_rows`` that is still healthy.
    ignore
        Columns left out of the comparison, in the contract and in the data
        (e.g. the label before it arrives, or the log's own prediction column).

    Examples
    --------
    >>> import polars as pl
    >>> from aims.core.contract.model import Column, Table
    >>> c = Contract("t", [Table("t", [Column("age", "integer"), Column("city", "string")])])
    >>> report = data_health(c, pl.DataFrame({"age": ["41"], "town": ["Oslo"]}), expected_rows=10)
    >>> for issue in report.issues:
    ...     print(issue)
    age: type changed from integer to string
    city: looks renamed to town
    volume: 1 rows, expected 10
    """
    if max_null_increase < 0 or volume_tolerance < 0:
        raise InvalidInput("max_null_increase and volume_tolerance must be >= 0")
    target = contract.table(table)
    profile = batch if isinstance(batch, HealthProfile) else HealthProfile.of(batch)
    now = _as_time(now or now_utc())
    issues: list[str] = []

    skip = set(ignore)
    columns = [c for c in target.columns if c.name not in skip]
    changes = _schema_changes(columns, profile, skip)
    for change in changes:
        if change.kind == "type_changed":
            issues.append(
                f"{change.column}: type changed from {change.expected} to {change.actual}"
            )
        elif change.kind == "renamed":
            issues.append(f"{change.column}: looks renamed to {change.actual}")
        elif change.kind == "missing":
            issues.append(f"{change.column}: missing from the data")
        elif change.kind == "added":
            issues.append(f"{change.column}: not in the contract")

    shares: list[dict[str, Any]] = []
    for col in columns:
        if col.name not in profile.missing or col.name not in profile.dtypes:
            continue
        share = profile.missing[col.name] / profile.rows if profile.rows else 0.0
        reference, limit = _null_reference(col, reference_null_shares, max_null_increase)
        jumped = limit is not None and share > limit + 1e-12
        shares.append(
            {
                "column": col.name,
                "share": share,
                "reference": reference,
                "limit": limit,
                "jumped": jumped,
            }
        )
        if jumped:
            issues.append(f"{col.name}: null share {share:.1%}, limit {limit:.1%}")

    volume: dict[str, Any] = {"rows": profile.rows, "expected": expected_rows, "ratio": None}
    volume["ok"] = True
    if expected_rows is not None:
        ratio = profile.rows / expected_rows if expected_rows else float("inf")
        volume["ratio"] = ratio
        volume["ok"] = abs(ratio - 1.0) <= volume_tolerance
        if not volume["ok"]:
            issues.append(f"volume: {profile.rows} rows, expected {expected_rows}")

    freshness: list[dict[str, Any]] = []
    for fresh in contract.freshness_of(target.name):
        newest = profile.newest.get(fresh.column)
        age = (now - _as_time(newest)).total_seconds() if newest is not None else None
        stale = age is None or age > fresh.max_age.total_seconds()
        freshness.append(
            {
                "column": fresh.column,
                "newest": newest,
                "age_seconds": age,
                "max_age_seconds": fresh.max_age.total_seconds(),
                "stale": stale,
            }
        )
        if stale:
            shown = "no timestamp" if newest is None else f"newest {_types.python_value(newest)}"
            issues.append(f"{fresh.column}: stale ({shown})")

    return HealthReport(profile.rows, changes, shares, volume, freshness, issues)


def _schema_changes(
    columns: list[Any], profile: HealthProfile, skip: set[str]
) -> list[SchemaChange]:
    known = {c.name for c in columns} | skip
    added = {n: t for n, t in profile.dtypes.items() if n not in known}
    visible = {n: t for n, t in profile.dtypes.items() if n not in skip}
    renames = guess_renames(columns, visible)
    out: list[SchemaChange] = []
    for col in columns:
        dtype = profile.dtypes.get(col.name)
        if dtype is None:
            new = renames.get(col.name)
            kind = "renamed" if new else "missing"
            out.append(SchemaChange(kind, col.name, expected=col.name, actual=new))
            continue
        actual_logical = _types.logical_type_of(dtype)
        if col.name in profile.mixed_types or not _types.in_family(col.logical_type, dtype):
            out.append(
                SchemaChange(
                    "type_changed", col.name, col.logical_type, actual_logical or str(dtype)
                )
            )
        elif col.physical_type and col.physical_type != _types.physical_name(dtype):
            out.append(
                SchemaChange(
                    "physical_type_changed",
                    col.name,
                    col.physical_type,
                    _types.physical_name(dtype),
                )
            )
    renamed_to = set(renames.values())
    out.extend(
        SchemaChange("added", n, actual=_types.physical_name(t))
        for n, t in added.items()
        if n not in renamed_to
    )
    return out


def _null_reference(
    col: Any, reference: dict[str, float] | None, max_increase: float
) -> tuple[float | None, float | None]:
    """(reference share, highest healthy share) for one column."""
    if reference is not None and col.name in reference:
        ref = float(reference[col.name])
        return ref, ref + max_increase
    if col.required:
        return 0.0, 0.0
    for rule in col.quality:
        if rule.metric == "nullValues" and rule.unit == "percent" and rule.threshold is not None:
            limit = _upper(rule.threshold)
            if limit is not None:
                return None, limit / 100.0
    return None, None


def _upper(threshold: Threshold) -> float | None:
    if threshold.operator in ("mustBeLessThan", "mustBeLessOrEqualTo", "mustBe"):
        return float(threshold.value)
    if threshold.operator == "mustBeBetween":
        return float(threshold.value[1])
    return None


def _as_time(value: Any) -> dt.datetime:
    """A date (midnight) or datetime as an aware UTC time."""
    if isinstance(value, dt.datetime):
        return utc(value)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    raise InvalidInput(f"not a date or timestamp: {value!r}")
