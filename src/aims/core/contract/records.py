"""Online validation of request records (dicts) against a contract.

The prediction server validates each request before it reaches a model. A
request is a handful of records, so this is plain Python over checks
compiled once per contract: building a DataFrame would cost more than the
checks themselves.

Per record and field, the first failing rule is reported, in this order:

==================  ==============================================================
``missing``         the field is absent (every contract column must be sent; an
                    optional one may be ``null``)
``required``        ``null``, or NaN in a number field, where a value is required
``type``            not a value of the field's logical type (``"3"`` is not a number;
                    ``3.0`` is an integer; dates and timestamps are ISO 8601 text)
``finite``          ``inf``/``-inf`` in a number field that does not allow it
``range``           outside ``minimum``/``maximum`` (or exclusive forms)
``length``          text outside ``minLength``/``maxLength``
``pattern``         text that does not match a pattern
``allowed_values``  not one of the allowed values
==================  ==============================================================

A rule of severity ``warn`` (see :mod:`aims.core.contract.severity`) does
not refuse: :meth:`RecordValidator.check` reports it with ``severity="warn"``
and calling the validator returns only the refusing failures.

Only rules that admit no exception apply to single records: a quality rule
that tolerates some failing rows (``mustBeLessThan: 5``) is a property of a
batch, checked by :func:`~aims.core.contract.check.check_contract`. The label
column is not expected in requests unless ``include_label`` is set.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aims.clock import utc
from aims.core.contract.model import Column, Contract
from aims.core.contract.severity import SEVERABLE, severity_of
from aims.errors import InvalidInput

__all__ = ["Check", "Failure", "RecordError", "RecordValidator", "validate_records"]

Failure = tuple[str, str] | None
Check = Callable[[Any], Failure]


@dataclass(frozen=True)
class RecordError:
    """One field of one record that breaks the contract."""

    row: int
    field: str
    rule: str
    message: str
    value: Any = None
    severity: str = "error"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN and inf as text)."""
        value = self.value
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)
        elif isinstance(value, dt.date | dt.time):
            value = value.isoformat()
        return {
            "row": self.row,
            "field": self.field,
            "rule": self.rule,
            "message": self.message,
            "value": value,
            "severity": self.severity,
        }


class RecordValidator:
    """The checks of one contract table, compiled once, applied to many requests.

    Examples
    --------
    >>> from aims.core.contract.model import Table
    >>> c = Contract("t", [Table("t", [Column("age", "integer", required=True, minimum=0)])])
    >>> check = RecordValidator(c)
    >>> [(e.row, e.field, e.rule) for e in check([{"age": 30}, {"age": -2}, {}, {"age": "x"}])]
    [(1, 'age', 'range'), (2, 'age', 'missing'), (3, 'age', 'type')]
    """

    def __init__(
        self, contract: Contract, *, table: str | None = None, include_label: bool = False
    ) -> None:
        columns = contract.table(table).columns
        self.fields: list[tuple[str, Callable[[Any], tuple[str, str, str] | None]]] = [
            (c.name, _compile(c)) for c in columns if include_label or not c.label
        ]

    def __call__(
        self, records: Iterable[Mapping[str, Any]] | Mapping[str, Any]
    ) -> list[RecordError]:
        """The failures that refuse a request (severity ``error``)."""
        return [e for e in self.check(records) if e.severity == "error"]

    def check(self, records: Iterable[Mapping[str, Any]] | Mapping[str, Any]) -> list[RecordError]:
        """Every failure, refusing (``error``) or recorded only (``warn``).

        A field reports its first refusing failure; a warning is reported only
        when the field has no refusing failure.
        """
        if isinstance(records, Mapping):
            records = [records]
        errors: list[RecordError] = []
        for row, record in enumerate(records):
            if not isinstance(record, Mapping):
                raise InvalidInput(
                    f"record {row} is a {type(record).__name__}; send each record as an object"
                )
            for name, check in self.fields:
                if name not in record:
                    errors.append(RecordError(row, name, "missing", f"field {name!r} is missing"))
                    continue
                value = record[name]
                failure = check(value)
                if failure is not None:
                    rule, message, severity = failure
                    errors.append(
                        RecordError(row, name, rule, f"{name}: {message}", value, severity)
                    )
        return errors


def validate_records(
    contract: Contract,
    records: Iterable[Mapping[str, Any]] | Mapping[str, Any],
    *,
    table: str | None = None,
    include_label: bool = False,
) -> list[RecordError]:
    """Every field of every record that breaks ``contract``; empty when all are valid.

    The checks are compiled on first use and kept on the contract object, so a
    contract changed afterwards needs a fresh :class:`RecordValidator`.
    To refuse a request::

        errors = validate_records(contract, records)
        if errors:
            raise ContractViolation(f"{len(errors)} invalid field(s)",
                                    failures=[e.to_dict() for e in errors])
    """
    key = (table, include_label)
    cache = contract._record_validator
    if not isinstance(cache, dict):
        cache = contract._record_validator = {}
    validator = cache.get(key)
    if validator is None:
        validator = cache[key] = RecordValidator(contract, table=table, include_label=include_label)
    return validator(records)


def _compile(col: Column) -> Callable[[Any], tuple[str, str, str] | None]:
    steps: list[Check] = [_type_check(col.logical_type)]
    if col.logical_type == "number" and not col.allow_non_finite:
        steps.append(_finite)
    if col.has_bounds:
        steps.append(_range_check(col))
    if col.min_length is not None or col.max_length is not None:
        steps.append(_length_check(col.min_length, col.max_length))
    for pattern in col.strict_patterns():
        steps.append(_pattern_check(pattern))
    allowed = col.strict_allowed_values()
    if allowed is not None:
        steps.append(_allowed_check(allowed))
    required = col.required or col.primary_key
    # A type failure is reported by the first step under its own name ("type"),
    # so every rule's severity is looked up by the name the step reports.
    levels = {rule: severity_of(col, rule) for rule in SEVERABLE}

    def check(value: Any) -> tuple[str, str, str] | None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ("required", "a value is required", "error") if required else None
        warning = None
        for step in steps:
            failure = step(value)
            if failure is not None:
                level = levels.get(failure[0], "error")
                if level == "error":
                    return (*failure, "error")
                warning = warning or (*failure, level)
        return warning

    return _number_shortcut(col, check) or check


def _number_shortcut(col: Column, check: Callable[[Any], Any]) -> Callable[[Any], Any] | None:
    """For a numeric column checked for type, finiteness and range only: ``check`` behind a
    shortcut that passes a finite number within the bounds in one comparison chain.

    Such values are nearly all a served model sees, and they pass every step
    of ``check`` anyway; anything else (a bound crossed, NaN, infinity, a float
    for an integer column, another type) goes through ``check`` itself, so the
    failures and their messages are the same.
    """
    if col.logical_type not in ("number", "integer"):
        return None
    if col.min_length is not None or col.max_length is not None:
        return None
    if col.strict_patterns() or col.strict_allowed_values() is not None:
        return None
    lo, hi, xlo, xhi = _bounds(col)
    if not all(_is_number(b) for b in (lo, hi, xlo, xhi) if b is not None):
        return None
    floats = col.logical_type == "number"

    def shortcut(value: Any) -> Any:
        t = type(value)
        # value - value is 0.0 for a finite float only (NaN and infinities give NaN).
        if (t is int or (floats and t is float and value - value == 0.0)) and (
            (lo is None or value >= lo)
            and (hi is None or value <= hi)
            and (xlo is None or value > xlo)
            and (xhi is None or value < xhi)
        ):
            return None
        return check(value)

    return shortcut


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _type_check(logical: str | None) -> Check:
    def check(value: Any) -> Failure:
        if _parse(value, logical) is None:
            return "type", f"{_show(value)} is not a {logical}"
        return None

    return check


def _parse(value: Any, logical: str | None) -> Any:
    """``value`` as a comparable value of ``logical`` type, or None if it is not one."""
    if logical is None:
        return value
    if logical == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        return None
    if logical == "number":
        return value if _is_number(value) else None
    if logical == "boolean":
        return value if isinstance(value, bool) else None
    if logical == "string":
        return value if isinstance(value, str) else None
    if logical in ("date", "timestamp", "time"):
        return _temporal(value, logical)
    if logical in ("array", "vector"):
        return value if isinstance(value, list) else None
    if logical in ("object", "map"):
        return value if isinstance(value, Mapping) else None
    return value


def _temporal(value: Any, logical: str) -> Any:
    try:
        if logical == "time":
            return value if isinstance(value, dt.time) else dt.time.fromisoformat(value)
        if isinstance(value, str):
            stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif isinstance(value, dt.datetime):
            stamp = value
        elif isinstance(value, dt.date):
            stamp = dt.datetime(value.year, value.month, value.day)
        else:
            return None
    except (TypeError, ValueError):
        return None
    # Naive values are taken as UTC so that they compare with aware bounds.
    return utc(stamp)


def _finite(value: Any) -> Failure:
    if isinstance(value, float) and math.isinf(value):
        return "finite", f"{value} is not a finite number"
    return None


def _bounds(col: Column) -> tuple[Any, Any, Any, Any]:
    """The column's minimum, maximum, exclusive minimum and maximum, parsed as its type."""
    logical = col.logical_type

    def bound(b: Any) -> Any:
        return None if b is None else _parse(b, logical) if isinstance(b, str) else b

    return (
        bound(col.minimum),
        bound(col.maximum),
        bound(col.exclusive_minimum),
        bound(col.exclusive_maximum),
    )


def _range_check(col: Column) -> Check:
    logical = col.logical_type
    lo, hi, xlo, xhi = _bounds(col)
    left = (
        f"({col.exclusive_minimum}"
        if xlo is not None
        else f"[{col.minimum}"
        if lo is not None
        else "(-inf"
    )
    right = (
        f"{col.exclusive_maximum})"
        if xhi is not None
        else f"{col.maximum}]"
        if hi is not None
        else "inf)"
    )
    text = f"{left}, {right}"

    def check(value: Any) -> Failure:
        x = _parse(value, logical)
        try:
            bad = (
                (lo is not None and x < lo)
                or (hi is not None and x > hi)
                or (xlo is not None and x <= xlo)
                or (xhi is not None and x >= xhi)
            )
        except TypeError:
            return "type", f"{_show(value)} cannot be compared with the bounds {text}"
        return ("range", f"{_show(value)} is outside {text}") if bad else None

    return check


def _length_check(lo: int | None, hi: int | None) -> Check:
    def check(value: Any) -> Failure:
        n = len(str(value))
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            return "length", f"length {n} is outside [{lo or 0}, {'inf' if hi is None else hi}]"
        return None

    return check


def _pattern_check(pattern: str) -> Check:
    compiled = re.compile(pattern)

    def check(value: Any) -> Failure:
        if compiled.search(str(value)) is None:
            return "pattern", f"{_show(value)} does not match {pattern}"
        return None

    return check


def _allowed_check(values: list[Any]) -> Check:
    allowed = {v for v in values if v is not None and not isinstance(v, list | dict)}
    has_bool = any(isinstance(v, bool) for v in allowed)
    shown = ", ".join(str(v) for v in values[:10]) + (", ..." if len(values) > 10 else "")

    def check(value: Any) -> Failure:
        try:
            # True == 1 in Python: a boolean only matches where booleans are allowed.
            ok = value in allowed and (has_bool or not isinstance(value, bool))
        except TypeError:
            ok = False
        return None if ok else ("allowed_values", f"{_show(value)} is not one of {shown}")

    return check


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
