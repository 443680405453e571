"""Helpers shared by the model checks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from aims.core.standards.facts import ModelFacts, VersionFacts
from aims.core.standards.result import Finding, Level


def per_version(model: ModelFacts, fn: Callable[[VersionFacts], Finding]) -> Finding:
    """Apply ``fn`` to each reviewed version; the model's level is the worst one."""
    found = [fn(v) for v in model.reviewed]
    if not found:
        return Finding(Level.NONE, gaps=[f"{model.name}: no version is registered"])
    levels = [f.level for f in found if f.level is not None]
    return Finding(
        min(levels) if levels else None,
        [e for f in found for e in f.evidence],
        [g for f in found for g in f.gaps],
    )


def day(value: dt.datetime | dt.date) -> str:
    return value.isoformat()[:10]


def vref(model: ModelFacts, v: VersionFacts) -> str:
    return f"{model.name}@{v.version}"


def last_seq(events: Sequence[Any]) -> int | None:
    return events[-1].seq if events else None
