"""The data contract as aims sees it: tables, columns, constraints, quality rules.

A :class:`Contract` is the typed form of an ODCS v3 document (see
:mod:`aims.core.contract.odcs` for reading and writing it). It keeps what
aims checks in named fields and everything else verbatim in ``extra``
dictionaries, so a contract written by a data team survives a read/write
round trip.

What aims checks, per column (ODCS ``schema[].properties[]``):
``logicalType``, ``required``, ``unique``, ``primaryKey``, ``enum`` (allowed
values), ``logicalTypeOptions`` (``minimum``/``maximum``, their exclusive
forms, ``minLength``/``maxLength``, ``pattern``) and the ODCS library quality
metrics ``nullValues``, ``missingValues``, ``invalidValues`` and
``duplicateValues``. Per table: ``rowCount`` and ``duplicateValues`` over a
composite key. Per contract: the SLA property ``latency`` (alias
``freshness``) on a timestamp column.

aims-specific facts live in ODCS ``customProperties`` on the column:

=====================  ==========================================================
``aimsLabel: true``    the column is the target the model learns
``aimsSensitive: true`` a sensitive attribute for fairness slices
``aimsPii: hash|drop`` personal data: hashed or dropped before anything is logged
``aimsAllowNonFinite`` ``true`` lets a number column hold ``inf``/``-inf``
=====================  ==========================================================
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aims.errors import InvalidInput

__all__ = [
    "LIBRARY_METRICS",
    "LOGICAL_TYPES",
    "NO_FAILURES",
    "OPERATORS",
    "PII_ACTIONS",
    "Column",
    "Contract",
    "Freshness",
    "PiiAction",
    "QualityRule",
    "Table",
    "Threshold",
    "Unit",
    "duration",
    "label_column",
    "parse_duration",
    "pii_columns",
    "sensitive_columns",
]

LOGICAL_TYPES = (
    "string",
    "date",
    "timestamp",
    "time",
    "number",
    "integer",
    "object",
    "array",
    "boolean",
    "map",
    "vector",
)
"""The ODCS v3 logical types."""

OPERATORS = (
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
)
"""ODCS comparison operators of a quality rule; a rule carries exactly one."""

LIBRARY_METRICS = ("nullValues", "missingValues", "invalidValues", "duplicateValues", "rowCount")
"""The ODCS library metrics aims evaluates."""

PiiAction = Literal["hash", "drop"]
PII_ACTIONS: tuple[PiiAction, ...] = ("hash", "drop")
"""What to do with a personal-data column before anything is logged."""

Unit = Literal["rows", "percent"]


@dataclass(frozen=True)
class Threshold:
    """An ODCS operator and the value it compares a metric to.

    Examples
    --------
    >>> Threshold("mustBeBetween", (100, 120)).holds(99)
    False
    >>> Threshold("mustBeLessOrEqualTo", 2.5).describe()
    '<= 2.5'
    """

    operator: str
    value: Any

    def holds(self, x: float) -> bool:
        """Whether the measured value ``x`` satisfies the rule."""
        op, v = self.operator, self.value
        if op == "mustBe":
            return bool(x == v)
        if op == "mustNotBe":
            return bool(x != v)
        if op == "mustBeGreaterThan":
            return bool(x > v)
        if op == "mustBeGreaterOrEqualTo":
            return bool(x >= v)
        if op == "mustBeLessThan":
            return bool(x < v)
        if op == "mustBeLessOrEqualTo":
            return bool(x <= v)
        if op == "mustBeBetween":
            return bool(v[0] <= x <= v[1])
        if op == "mustNotBeBetween":
            return not v[0] <= x <= v[1]
        raise InvalidInput(f"unknown operator {op!r}; use one of {', '.join(OPERATORS)}")

    def describe(self) -> str:
        """The rule in mathematical notation, e.g. ``between 100 and 120``."""
        symbols = {
            "mustBe": "=",
            "mustNotBe": "!=",
            "mustBeGreaterThan": ">",
            "mustBeGreaterOrEqualTo": ">=",
            "mustBeLessThan": "<",
            "mustBeLessOrEqualTo": "<=",
        }
        if self.operator in symbols:
            return f"{symbols[self.operator]} {self.value}"
        lo, hi = self.value
        word = "between" if self.operator == "mustBeBetween" else "not between"
        return f"{word} {lo} and {hi}"

    def allows_none(self, unit: str = "rows") -> bool:
        """True when the rule tolerates no failing row at all (``mustBe: 0`` and kin)."""
        op, v = self.operator, self.value
        below_one_row = unit == "rows" and isinstance(v, int | float) and 0 < v <= 1
        return (
            (op == "mustBe" and v == 0)
            or (op == "mustBeLessThan" and below_one_row)
            or (op == "mustBeLessOrEqualTo" and v == 0)
            or (op == "mustBeBetween" and tuple(v) == (0, 0))
        )


NO_FAILURES = Threshold("mustBe", 0)
"""The threshold of constraints from the schema itself: no failing row."""


@dataclass
class QualityRule:
    """One entry of an ODCS ``quality`` list.

    Library rules (``metric`` set) are evaluated; ``text``, ``sql`` and
    ``custom`` rules are kept for the round trip and reported as skipped.
    """

    metric: str | None
    threshold: Threshold | None = None
    unit: Unit = "rows"
    arguments: dict[str, Any] = field(default_factory=dict)
    type: str = "library"
    severity: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """A short name for reports: the rule's ``name``, else its metric or type."""
        return str(self.extra.get("name") or self.metric or self.type)


@dataclass
class Column:
    """One property of a schema object: a column of a table."""

    name: str
    logical_type: str | None = None
    physical_type: str | None = None
    required: bool = False
    unique: bool = False
    primary_key: bool = False
    allowed_values: list[Any] | None = None
    minimum: Any = None
    maximum: Any = None
    exclusive_minimum: Any = None
    exclusive_maximum: Any = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    quality: list[QualityRule] = field(default_factory=list)
    description: str | None = None
    label: bool = False
    sensitive: bool = False
    pii: PiiAction | None = None
    allow_non_finite: bool = False
    options_extra: dict[str, Any] = field(default_factory=dict)
    custom_extra: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_bounds(self) -> bool:
        """Whether any of the four range bounds is set."""
        return any(
            b is not None
            for b in (self.minimum, self.maximum, self.exclusive_minimum, self.exclusive_maximum)
        )

    def strict_allowed_values(self) -> list[Any] | None:
        """Allowed values that admit no exception: ``enum``, or ``invalidValues`` at zero."""
        if self.allowed_values is not None:
            return self.allowed_values
        for rule in self.quality:
            valid = rule.arguments.get("validValues")
            if rule.metric == "invalidValues" and valid is not None and _strict(rule):
                return list(valid)
        return None

    def strict_patterns(self) -> list[str]:
        """Regular expressions every value must match (search semantics)."""
        out = [self.pattern] if self.pattern else []
        for rule in self.quality:
            pattern = rule.arguments.get("pattern")
            if rule.metric == "invalidValues" and pattern and _strict(rule):
                out.append(str(pattern))
        return out


def _strict(rule: QualityRule) -> bool:
    return rule.threshold is not None and rule.threshold.allows_none(rule.unit)


@dataclass
class Table:
    """One schema object: the columns of a table and its table-level rules."""

    name: str
    columns: list[Column] = field(default_factory=list)
    quality: list[QualityRule] = field(default_factory=list)
    physical_type: str | None = None
    description: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def column(self, name: str) -> Column:
        """The column called ``name``; raises ``InvalidInput`` naming the known ones."""
        for col in self.columns:
            if col.name == name:
                return col
        known = ", ".join(c.name for c in self.columns) or "(none)"
        raise InvalidInput(f"table {self.name!r} has no column {name!r}; it has: {known}")

    @property
    def names(self) -> list[str]:
        """The column names in contract order."""
        return [c.name for c in self.columns]


@dataclass
class Freshness:
    """An SLA on the newest timestamp of a column: it must be at most ``max_age`` old."""

    table: str | None
    column: str
    max_age: dt.timedelta
    value: float
    unit: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Contract:
    """A data contract: identity, tables, and freshness SLAs.

    Examples
    --------
    >>> c = Contract(name="loans", tables=[Table("loans", [Column("y", "integer", label=True)])])
    >>> c.columns[0].name, label_column(c)
    ('y', 'y')
    """

    name: str
    tables: list[Table] = field(default_factory=list)
    id: str | None = None
    version: str = "1.0.0"
    api_version: str = "v3.1.0"
    status: str = "draft"
    freshness: list[Freshness] = field(default_factory=list)
    description: dict[str, Any] = field(default_factory=dict)
    sla_extra: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    _record_validator: Any = field(default=None, init=False, repr=False, compare=False)

    def table(self, name: str | None = None) -> Table:
        """The table called ``name``, or the only table when ``name`` is None."""
        if name is None:
            if len(self.tables) == 1:
                return self.tables[0]
            if not self.tables:
                raise InvalidInput(f"contract {self.name!r} describes no table (empty schema)")
            names = ", ".join(t.name for t in self.tables)
            raise InvalidInput(
                f"contract {self.name!r} describes several tables ({names}); say which one"
            )
        for table in self.tables:
            if table.name == name:
                return table
        names = ", ".join(t.name for t in self.tables) or "(none)"
        raise InvalidInput(f"contract {self.name!r} has no table {name!r}; it has: {names}")

    @property
    def columns(self) -> list[Column]:
        """The columns of the contract's only table."""
        return self.table().columns

    def column(self, name: str) -> Column:
        """The column ``name`` of the contract's only table."""
        return self.table().column(name)

    def freshness_of(self, table: str) -> list[Freshness]:
        """The freshness SLAs that apply to ``table``."""
        return [f for f in self.freshness if f.table in (None, table)]

    def restrict(self, columns: Sequence[str], *, table: str | None = None) -> Contract:
        """A copy that describes only ``columns`` of one table (e.g. a model's features).

        Table-level rules and freshness SLAs on dropped columns are dropped too.
        Raises ``InvalidInput`` naming any column the contract does not have.

        Examples
        --------
        >>> c = Contract("t", [Table("t", [Column("a"), Column("b"), Column("y", label=True)])])
        >>> c.restrict(["b", "a"]).table().names
        ['b', 'a']
        """
        source = self.table(table)
        unknown = [c for c in columns if c not in source.names]
        if unknown:
            raise InvalidInput(
                f"contract {self.name!r} has no column(s) {', '.join(map(repr, unknown))}; "
                f"it has: {', '.join(source.names)}"
            )
        keep = set(columns)
        out = copy.deepcopy(self)
        out._record_validator = None
        target = out.table(table)
        target.columns = [target.column(name) for name in columns]
        target.quality = [
            q for q in target.quality if set(map(str, q.arguments.get("properties", []))) <= keep
        ]
        out.tables = [target]
        out.freshness = [f for f in out.freshness if f.column in keep]
        return out


def label_column(contract: Contract, table: str | None = None) -> str | None:
    """The column marked ``aimsLabel: true``, or None when there is none."""
    labels = [c.name for c in contract.table(table).columns if c.label]
    if len(labels) > 1:
        raise InvalidInput(
            f"contract {contract.name!r} marks {len(labels)} label columns "
            f"({', '.join(labels)}); keep aimsLabel on one column"
        )
    return labels[0] if labels else None


def sensitive_columns(contract: Contract, table: str | None = None) -> list[str]:
    """Columns marked ``aimsSensitive: true`` (attributes for fairness slices)."""
    return [c.name for c in contract.table(table).columns if c.sensitive]


def pii_columns(contract: Contract, table: str | None = None) -> dict[str, PiiAction]:
    """Personal-data columns and what to do with them before logging (hash or drop)."""
    return {c.name: c.pii for c in contract.table(table).columns if c.pii is not None}


_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
    "w": 604800.0,
    "week": 604800.0,
    "weeks": 604800.0,
    "y": 365.25 * 86400.0,
    "yr": 365.25 * 86400.0,
    "year": 365.25 * 86400.0,
    "years": 365.25 * 86400.0,
}


def duration(value: float, unit: str) -> dt.timedelta:
    """An SLA value and unit (``4``, ``"d"``) as a timedelta.

    Examples
    --------
    >>> duration(36, "h")
    datetime.timedelta(days=1, seconds=43200)
    """
    seconds = _UNITS.get(unit.strip().lower())
    if seconds is None:
        raise InvalidInput(f"unknown time unit {unit!r}; use one of s, m, h, d, w, y")
    if not math.isfinite(value) or value <= 0:
        raise InvalidInput(f"a duration must be a positive number, not {value!r}")
    return dt.timedelta(seconds=value * seconds)


def parse_duration(text: str) -> tuple[float, str]:
    """``"24h"`` -> ``(24.0, "h")``; the unit is one :func:`duration` understands."""
    text = text.strip()
    i = len(text)
    while i > 0 and text[i - 1].isalpha():
        i -= 1
    number, unit = text[:i].strip(), text[i:]
    try:
        value = float(number)
    except ValueError:
        raise InvalidInput(
            f"cannot read {text!r} as a duration; write a number and a unit, e.g. 24h or 7d"
        ) from None
    duration(value, unit or "?")
    return value, unit
