"""Turning a structurally valid ODCS document into a :class:`~aims.core.contract.model.Contract`.

:mod:`aims.core.contract._spec` has already checked the shape of the
document; this reader checks its meaning (bounds that fit the logical type, a
lower bound not above the upper one, patterns that compile, exactly one
operator per quality rule, SLA elements that name a column) and collects every
problem with its line instead of stopping at the first.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from aims.core.contract._yaml import Path, Problem, line_of
from aims.core.contract.model import (
    LIBRARY_METRICS,
    OPERATORS,
    PII_ACTIONS,
    Column,
    Contract,
    Freshness,
    QualityRule,
    Table,
    Threshold,
    duration,
)
from aims.errors import AimsError

_AIMS_PROPERTIES = ("aimsLabel", "aimsSensitive", "aimsPii", "aimsAllowNonFinite")
_FRESHNESS_PROPERTIES = ("latency", "freshness", "ly")
_ORDERED_TYPES = ("integer", "number", "date", "timestamp", "time")


class Reader:
    """Turns a structurally valid document into a :class:`Contract`, collecting problems."""

    def __init__(self, lines: dict[Path, int]) -> None:
        self.lines = lines
        self.problems: list[Problem] = []

    def problem(self, path: Path, message: str) -> None:
        self.problems.append(Problem(path, line_of(self.lines, path), message))

    def contract(self, data: dict[str, Any]) -> Contract:
        known = ("apiVersion", "kind", "id", "name", "version", "status", "description")
        tables = [self.table(obj, ("schema", i)) for i, obj in enumerate(data.get("schema") or [])]
        contract = Contract(
            name=str(data.get("name") or data["id"]),
            tables=tables,
            id=str(data["id"]),
            version=str(data["version"]),
            api_version=data["apiVersion"],
            status=str(data.get("status") or "draft"),
            description=dict(data.get("description") or {}),
            extra={k: v for k, v in data.items() if k not in (*known, "schema", "slaProperties")},
        )
        for i, sla in enumerate(data.get("slaProperties") or []):
            path: Path = ("slaProperties", i)
            if str(sla["property"]).lower() in _FRESHNESS_PROPERTIES:
                fresh = self.freshness(sla, path, tables)
                if fresh is not None:
                    contract.freshness.append(fresh)
            else:
                contract.sla_extra.append(sla)
        seen: set[str] = set()
        for i, table in enumerate(tables):
            if table.name in seen:
                self.problem(("schema", i, "name"), f"a second object is called {table.name!r}")
            seen.add(table.name)
        return contract

    def table(self, obj: dict[str, Any], path: Path) -> Table:
        table = Table(
            name=obj["name"],
            physical_type=obj.get("physicalType"),
            description=obj.get("description"),
        )
        handled = ("name", "physicalType", "description", "properties", "quality", "logicalType")
        table.extra = {k: v for k, v in obj.items() if k not in handled}
        for i, prop in enumerate(obj.get("properties") or []):
            table.columns.append(self.column(prop, (*path, "properties", i)))
        names = set()
        for i, col in enumerate(table.columns):
            if col.name in names:
                self.problem(
                    (*path, "properties", i, "name"), f"a second property is called {col.name!r}"
                )
            names.add(col.name)
        for i, raw in enumerate(obj.get("quality") or []):
            rule = self.quality(raw, (*path, "quality", i), level="table")
            if rule is not None and rule.metric == "duplicateValues":
                self.key_columns(rule, (*path, "quality", i), names)
            if rule is not None:
                table.quality.append(rule)
        return table

    def key_columns(self, rule: QualityRule, path: Path, names: set[str]) -> None:
        keys = rule.arguments.get("properties")
        arg_path = (*path, "arguments", "properties")
        if not isinstance(keys, list) or not keys:
            self.problem(arg_path, "a table-level duplicateValues rule lists its key properties")
            return
        for key in keys:
            if key not in names:
                self.problem(arg_path, f"{key!r} is not a property of this object")

    def column(self, prop: dict[str, Any], path: Path) -> Column:
        col = Column(
            name=prop["name"],
            logical_type=prop.get("logicalType"),
            physical_type=prop.get("physicalType"),
            required=bool(prop.get("required", False)),
            unique=bool(prop.get("unique", False)),
            primary_key=bool(prop.get("primaryKey", False)),
            description=prop.get("description"),
        )
        if "enum" in prop:
            col.allowed_values = [v["value"] if isinstance(v, dict) else v for v in prop["enum"]]
        self.options(col, prop.get("logicalTypeOptions") or {}, (*path, "logicalTypeOptions"))
        for i, raw in enumerate(prop.get("customProperties") or []):
            self.custom(col, raw, (*path, "customProperties", i))
        for i, raw in enumerate(prop.get("quality") or []):
            rule = self.quality(raw, (*path, "quality", i), level="property")
            if rule is not None:
                col.quality.append(rule)
        handled = (
            "name",
            "logicalType",
            "physicalType",
            "required",
            "unique",
            "primaryKey",
            "description",
            "enum",
            "logicalTypeOptions",
            "customProperties",
            "quality",
        )
        col.extra = {k: v for k, v in prop.items() if k not in handled}
        return col

    def options(self, col: Column, options: dict[str, Any], path: Path) -> None:
        for key, value in options.items():
            if key == "minimum":
                col.minimum = self.bound(col, value, (*path, key))
            elif key == "maximum":
                col.maximum = self.bound(col, value, (*path, key))
            elif key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
                # ODCS v3.0 wrote exclusiveness as a flag on minimum/maximum.
                col.options_extra[key] = value
            elif key == "exclusiveMinimum":
                col.exclusive_minimum = self.bound(col, value, (*path, key))
            elif key == "exclusiveMaximum":
                col.exclusive_maximum = self.bound(col, value, (*path, key))
            elif key == "minLength":
                col.min_length = self.length(value, (*path, key))
            elif key == "maxLength":
                col.max_length = self.length(value, (*path, key))
            elif key == "pattern":
                if self.pattern(value, (*path, key)):
                    col.pattern = value
            else:
                col.options_extra[key] = value
        if col.options_extra.pop("exclusiveMinimum", False) is True:
            col.exclusive_minimum, col.minimum = col.minimum, None
        if col.options_extra.pop("exclusiveMaximum", False) is True:
            col.exclusive_maximum, col.maximum = col.maximum, None
        lows = [b for b in (col.minimum, col.exclusive_minimum) if b is not None]
        highs = [b for b in (col.maximum, col.exclusive_maximum) if b is not None]
        if lows and highs and _comparable(lows[0], highs[0]) and lows[0] > highs[0]:
            self.problem(path, f"the lower bound {lows[0]} is above the upper bound {highs[0]}")
        lengths = (col.min_length, col.max_length)
        if lengths[0] is not None and lengths[1] is not None and lengths[0] > lengths[1]:
            self.problem(path, f"minLength {lengths[0]} is above maxLength {lengths[1]}")

    def bound(self, col: Column, value: Any, path: Path) -> Any:
        logical = col.logical_type
        if logical in ("integer", "number"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.problem(path, f"a bound of a {logical} column is a number, not {value!r}")
                return None
            return value
        if logical in ("date", "timestamp", "time"):
            if not isinstance(value, str) or _parse_temporal(value, logical) is None:
                self.problem(path, f"a bound of a {logical} column is an ISO 8601 {logical} text")
                return None
            return value
        self.problem(path, f"bounds need a logicalType of {', '.join(_ORDERED_TYPES)}")
        return None

    def length(self, value: Any, path: Path) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.problem(path, f"a length is a whole number >= 0, not {value!r}")
            return None
        return value

    def pattern(self, value: Any, path: Path) -> bool:
        message = pattern_problem(value)
        if message:
            self.problem(path, message)
        return message is None

    def custom(self, col: Column, raw: dict[str, Any], path: Path) -> None:
        name, value = raw["property"], raw["value"]
        if name not in _AIMS_PROPERTIES:
            col.custom_extra.append(raw)
            return
        if name == "aimsPii":
            if value not in PII_ACTIONS:
                self.problem((*path, "value"), f"aimsPii is 'hash' or 'drop', not {value!r}")
                return
            col.pii = value
            return
        if not isinstance(value, bool):
            self.problem((*path, "value"), f"{name} is true or false, not {value!r}")
            return
        if name == "aimsLabel":
            col.label = value
        elif name == "aimsSensitive":
            col.sensitive = value
        else:
            col.allow_non_finite = value

    def quality(self, raw: dict[str, Any], path: Path, *, level: str) -> QualityRule | None:
        kind = raw.get("type") or "library"
        if kind != "library":
            return QualityRule(metric=None, type=kind, extra=dict(raw))
        metric = raw.get("metric") or raw.get("rule")
        if metric is None:
            self.problem(path, "a library quality rule needs a 'metric'")
            return None
        if metric not in LIBRARY_METRICS:
            self.problem(
                (*path, "metric"),
                f"{metric!r} is not an ODCS library metric; use one "
                f"of {', '.join(LIBRARY_METRICS)}",
            )
            return None
        allowed_levels = {"rowCount": ("table",), "duplicateValues": ("table", "property")}
        if level not in allowed_levels.get(metric, ("property",)):
            self.problem((*path, "metric"), f"{metric} does not apply at {level} level")
            return None
        threshold = self.threshold(raw, path)
        unit = raw.get("unit", "rows")
        if unit not in ("rows", "percent"):
            self.problem((*path, "unit"), f"the unit of {metric} is 'rows' or 'percent'")
            return None
        if metric == "rowCount" and unit != "rows":
            self.problem((*path, "unit"), "rowCount is counted in rows")
            return None
        arguments = dict(raw.get("arguments") or {})
        if metric == "invalidValues":
            valid, pattern = arguments.get("validValues"), arguments.get("pattern")
            if valid is None and pattern is None:
                self.problem(path, "invalidValues needs arguments.validValues or arguments.pattern")
                return None
            if valid is not None and not isinstance(valid, list):
                self.problem((*path, "arguments", "validValues"), "must be a list of values")
                return None
            if pattern is not None and not self.pattern(pattern, (*path, "arguments", "pattern")):
                return None
        if metric == "missingValues" and not isinstance(arguments.get("missingValues", []), list):
            self.problem((*path, "arguments", "missingValues"), "must be a list of values")
            return None
        handled = ("type", "metric", "rule", "unit", "arguments", "severity", *OPERATORS)
        return QualityRule(
            metric=metric,
            threshold=threshold,
            unit=unit,
            arguments=arguments,
            severity=raw.get("severity"),
            extra={k: v for k, v in raw.items() if k not in handled},
        )

    def threshold(self, raw: dict[str, Any], path: Path) -> Threshold | None:
        present = [op for op in OPERATORS if op in raw]
        if len(present) != 1:
            found = ", ".join(present) if present else "none"
            self.problem(
                path,
                f"a quality rule needs exactly one operator ({found} given); "
                f"use one of {', '.join(OPERATORS)}",
            )
            return None
        op = present[0]
        value = raw[op]
        if op in ("mustBeBetween", "mustNotBeBetween"):
            ok = (
                isinstance(value, list)
                and len(value) == 2
                and all(_is_number(v) for v in value)
                and value[0] <= value[1]
            )
            if not ok:
                self.problem((*path, op), "must be two numbers [low, high] with low <= high")
                return None
            return Threshold(op, (value[0], value[1]))
        if not _is_number(value):
            self.problem((*path, op), f"must be a number, not {value!r}")
            return None
        return Threshold(op, value)

    def freshness(self, sla: dict[str, Any], path: Path, tables: list[Table]) -> Freshness | None:
        element = sla.get("element")
        if not element:
            self.problem(path, "a latency (freshness) SLA names its column in 'element'")
            return None
        parts = str(element).split(".")
        table_name, column = (None, parts[0]) if len(parts) == 1 else (parts[0], parts[-1])
        if "," in str(element):
            self.problem((*path, "element"), "aims checks freshness on one column at a time")
            return None
        candidates = [t for t in tables if table_name in (None, t.name)]
        if not candidates:
            self.problem((*path, "element"), f"there is no object {table_name!r} in the schema")
            return None
        if not any(column in t.names for t in candidates):
            self.problem((*path, "element"), f"there is no property {column!r} in the schema")
            return None
        value = sla["value"]
        if not _is_number(value):
            self.problem((*path, "value"), f"a latency is a number of time units, not {value!r}")
            return None
        unit = str(sla.get("unit") or "")
        try:
            max_age = duration(float(value), unit)
        except AimsError as exc:
            self.problem((*path, "unit" if sla.get("unit") else "value"), exc.message)
            return None
        handled = ("property", "value", "unit", "element")
        return Freshness(
            table=table_name,
            column=column,
            max_age=max_age,
            value=value,
            unit=unit,
            extra={k: v for k, v in sla.items() if k not in handled},
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _comparable(a: Any, b: Any) -> bool:
    return (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str))


def _parse_temporal(text: str, logical: str) -> Any:
    try:
        if logical == "time":
            return dt.time.fromisoformat(text)
        if logical == "date":
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def pattern_problem(pattern: Any) -> str | None:
    """Why ``pattern`` cannot be used (None if it can): it must compile for Python and Polars."""
    if not isinstance(pattern, str):
        return f"a pattern is a regular expression text, not {pattern!r}"
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"the pattern does not compile: {exc}"
    import polars as pl

    try:
        pl.Series([""], dtype=pl.String).str.contains(pattern)
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"the pattern is not supported by the Polars regex engine: {first}"
    return None
