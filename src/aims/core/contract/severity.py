"""How hard a column's request rules are: ``error`` refuses a request, ``warn`` records it.

A range or a set of allowed values inferred from a few hundred training rows
is a guess: normal traffic falls outside it now and then, and refusing those
requests hides the very drift the monitor is there to see. So each rule of a
column that checks single values may carry a severity:

``error``  the request is refused (the default for rules a person wrote)
``warn``   the request is served; the failure is counted per model and rule on
           ``/metrics`` and recorded with the prediction for the monitor

ODCS quality rules already carry ``severity`` (``info`` and ``warning`` do not
fail a check); the schema's own constraints (``logicalTypeOptions``, ``enum``)
have none, so aims keeps theirs in the column's custom property
``aimsSeverity``, a mapping from rule name to severity::

    customProperties:
      - property: aimsSeverity
        value: {range: warn, allowed_values: warn}

An ``invalidValues`` quality rule with ``validValues`` takes its own
``severity``. Presence, ``required`` and ``type`` always refuse: a model cannot
run on a value of the wrong kind.
"""

from __future__ import annotations

from typing import Any

from aims.core.contract.model import Column
from aims.errors import InvalidInput

__all__ = [
    "PROPERTY",
    "SEVERABLE",
    "refuses",
    "set_severity",
    "severity_of",
]

PROPERTY = "aimsSeverity"
"""The column custom property holding the severity of its schema constraints."""

SEVERABLE = ("range", "length", "pattern", "allowed_values", "finite")
"""Rules whose failure may be a warning; the others always refuse."""

_WARN = ("warn", "warning", "info")
_ERROR = ("error",)


def _declared(col: Column) -> dict[str, str]:
    for raw in col.custom_extra:
        if raw.get("property") == PROPERTY:
            value = raw.get("value")
            if not isinstance(value, dict):
                raise InvalidInput(
                    f"column {col.name!r}: {PROPERTY} maps rule names to error or warn, "
                    f"e.g. {{range: warn}}; got {value!r}"
                )
            for rule, level in value.items():
                if rule not in SEVERABLE or str(level).lower() not in _WARN + _ERROR:
                    raise InvalidInput(
                        f"column {col.name!r}: {PROPERTY} {rule}: {level} is not valid; rules "
                        f"are {', '.join(SEVERABLE)} and severities error or warn"
                    )
            return {str(k): str(v).lower() for k, v in value.items()}
    return {}


def severity_of(col: Column, rule: str) -> str:
    """``error`` or ``warn`` for ``rule`` of column ``col``."""
    declared = _declared(col).get(rule)
    if declared is None and rule == "allowed_values" and col.allowed_values is None:
        # Allowed values given as an ODCS invalidValues rule: its own severity counts.
        for q in col.quality:
            if q.metric == "invalidValues" and q.arguments.get("validValues") is not None:
                declared = (q.severity or "error").lower()
                break
    return "warn" if (declared or "error") in _WARN else "error"


def refuses(col: Column, rule: str) -> bool:
    """Whether a failure of ``rule`` on ``col`` refuses the request."""
    return severity_of(col, rule) == "error"


def set_severity(col: Column, rule: str, level: str) -> None:
    """Declare the severity of one of ``col``'s rules (used by contract inference)."""
    if rule not in SEVERABLE or level not in ("error", "warn"):
        raise InvalidInput(f"severity {level!r} of rule {rule!r} is not valid; use error or warn")
    declared: dict[str, Any] = _declared(col)
    declared[rule] = level
    col.custom_extra = [r for r in col.custom_extra if r.get("property") != PROPERTY]
    col.custom_extra.append({"property": PROPERTY, "value": declared})
