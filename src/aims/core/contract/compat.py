"""Whether one input contract would refuse requests another accepts.

When production moves from one model version to another (a promotion or a
rollback), the callers keep sending what the outgoing version accepted. The
incoming version's contract *narrows* the outgoing one when some request
valid under the old contract is refused by the new one:

- a field the old contract did not have (every contract field must be sent);
- a value now required where ``null`` was accepted;
- a logical type changed (``integer`` to ``number`` is the only widening);
- ``inf`` refused where it was allowed;
- a range, a length range or a set of allowed values made smaller;
- a pattern added.

Only rules that refuse a request count (see :mod:`aims.core.contract.records`);
dropping a field or widening a rule never refuses anything, and a label column
is never part of a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aims.core.contract.model import Column, Contract

__all__ = ["Narrowing", "narrowings"]


@dataclass(frozen=True)
class Narrowing:
    """One way the incoming contract refuses what the outgoing one accepts."""

    field: str
    rule: str
    before: Any
    after: Any

    def describe(self) -> str:
        """One line, e.g. ``age: range [0, 120] -> [18, 120]``."""
        return f"{self.field}: {self.rule} {_show(self.before)} -> {_show(self.after)}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for the audit log and ``--format json``)."""
        return {
            "field": self.field,
            "rule": self.rule,
            "before": _show(self.before),
            "after": _show(self.after),
        }


def narrowings(outgoing: Contract | None, incoming: Contract | None) -> list[Narrowing]:
    """Every rule of ``incoming`` that refuses requests ``outgoing`` accepts.

    No incoming contract accepts everything; no outgoing contract means callers
    sent anything, and any incoming contract is then reported field by field.

    Examples
    --------
    >>> from aims.core.contract.model import Table
    >>> old = Contract("m", [Table("m", [Column("age", "integer", minimum=0)])])
    >>> new = Contract("m", [Table("m", [Column("age", "integer", minimum=18),
    ...                                  Column("late", "boolean", required=True)])])
    >>> [n.describe() for n in narrowings(old, new)]
    ['age: range [0, inf) -> [18, inf)', 'late: new field absent -> required']
    """
    if incoming is None:
        return []
    before = {} if outgoing is None else {c.name: c for c in outgoing.columns if not c.label}
    out: list[Narrowing] = []
    for col in incoming.columns:
        if col.label:
            continue
        old = before.get(col.name)
        if old is None:
            out.append(Narrowing(col.name, "new field", "absent", _presence(col)))
            continue
        out.extend(_column(old, col))
    return out


def _presence(col: Column) -> str:
    return "required" if col.required or col.primary_key else "present (null allowed)"


def _column(old: Column, new: Column) -> list[Narrowing]:
    out: list[Narrowing] = []
    name = new.name
    if _narrower_type(old.logical_type, new.logical_type):
        out.append(Narrowing(name, "type", old.logical_type or "any", new.logical_type))
    if (new.required or new.primary_key) and not (old.required or old.primary_key):
        out.append(Narrowing(name, "required", "null allowed", "a value required"))
    if new.logical_type == "number" and old.allow_non_finite and not new.allow_non_finite:
        out.append(Narrowing(name, "finite", "inf allowed", "finite only"))
    if _refuses(new, "range") and _narrower_range(old, new):
        out.append(Narrowing(name, "range", _interval(old), _interval(new)))
    lengths = (old.min_length or 0, old.max_length), (new.min_length or 0, new.max_length)
    if _narrower_interval(*lengths):
        out.append(Narrowing(name, "length", _bounds(*lengths[0]), _bounds(*lengths[1])))
    added = [p for p in new.strict_patterns() if p not in old.strict_patterns()]
    if added:
        out.append(Narrowing(name, "pattern", "none", ", ".join(added)))
    allowed = new.strict_allowed_values() if _refuses(new, "allowed_values") else None
    if allowed is not None:
        previous = old.strict_allowed_values() if _refuses(old, "allowed_values") else None
        if previous is None:
            out.append(Narrowing(name, "allowed values", "any", allowed))
        else:
            lost = [v for v in previous if v not in allowed]
            if lost:
                out.append(Narrowing(name, "allowed values", previous, allowed))
    return out


def _refuses(col: Column, rule: str) -> bool:
    """Whether ``rule`` refuses a request (``warn`` only records it)."""
    from aims.core.contract.severity import refuses

    return refuses(col, rule)


def _narrower_type(old: str | None, new: str | None) -> bool:
    if new is None or old == new:
        return False
    return not (old == "integer" and new == "number")


def _lower(col: Column) -> tuple[Any, bool] | None:
    if col.exclusive_minimum is not None:
        return col.exclusive_minimum, True
    return None if col.minimum is None else (col.minimum, False)


def _upper(col: Column) -> tuple[Any, bool] | None:
    if col.exclusive_maximum is not None:
        return col.exclusive_maximum, True
    return None if col.maximum is None else (col.maximum, False)


def _narrower_range(old: Column, new: Column) -> bool:
    old_range = old.has_bounds and _refuses(old, "range")
    lo_old, hi_old = (_lower(old), _upper(old)) if old_range else (None, None)
    lo_new, hi_new = _lower(new), _upper(new)
    try:
        if lo_new is not None and (
            lo_old is None
            or lo_new[0] > lo_old[0]
            or (lo_new[0] == lo_old[0] and lo_new[1] and not lo_old[1])
        ):
            return True
        return hi_new is not None and (
            hi_old is None
            or hi_new[0] < hi_old[0]
            or (hi_new[0] == hi_old[0] and hi_new[1] and not hi_old[1])
        )
    except TypeError:  # bounds of different kinds: the type change is reported instead
        return True


def _narrower_interval(old: tuple[int, int | None], new: tuple[int, int | None]) -> bool:
    return new[0] > old[0] or (new[1] is not None and (old[1] is None or new[1] < old[1]))


def _interval(col: Column) -> str:
    if not (col.has_bounds and _refuses(col, "range")):
        return "any"
    lo, hi = _lower(col), _upper(col)
    left = "(-inf" if lo is None else f"({lo[0]}" if lo[1] else f"[{lo[0]}"
    right = "inf)" if hi is None else f"{hi[0]})" if hi[1] else f"{hi[0]}]"
    return f"{left}, {right}"


def _bounds(lo: int, hi: int | None) -> str:
    return f"[{lo}, {'inf' if hi is None else hi}]"


def _show(value: Any) -> str:
    if isinstance(value, list):
        text = ", ".join(map(str, value[:10])) + (", ..." if len(value) > 10 else "")
        return "{" + text + "}"
    return str(value)
