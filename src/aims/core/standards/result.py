"""What an evidence check returns: statuses, levels, evidence items and outcomes.

Examples
--------
>>> combine(["met", "not_applicable", "met"])
'met'
>>> combine(["met", "missing"])
'partial'
>>> combine(["not_applicable"])
'not_applicable'
>>> fold([Level.FULL, Level.SOME])
'partial'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Literal

Status = Literal["met", "partial", "missing", "not_applicable", "outside", "excluded"]
STATUSES: tuple[Status, ...] = (
    "met",
    "partial",
    "missing",
    "not_applicable",
    "outside",
    "excluded",
)
"""``outside``: evidenced only by current documents kept outside aims (tracked with
``aims evidence add``); ``excluded``: excluded by an approved statement of applicability.
The checks themselves never return these two; :mod:`aims.services.evidence_judgement` does."""


class Level(IntEnum):
    """How much of a check's evidence one model has."""

    NONE = 0
    SOME = 1
    FULL = 2


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence: a sentence, and where to see it."""

    text: str
    model: str | None = None
    """The model it is about (linked to the dashboard's model page)."""
    event: int | None = None
    """The audit event (``seq``) that records it."""
    command: str | None = None
    """The ``aims`` command that shows the same thing."""

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass
class Finding:
    """What a check found, for one model or for the workspace."""

    level: Level | None
    """``None``: nothing to judge (the rule does not apply to this model)."""
    evidence: list[Evidence] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    detail: str = ""
    """A one-line summary (workspace checks; model checks are summarised by count)."""


@dataclass(frozen=True)
class Outcome:
    """The result of one rule of a control."""

    rule: str
    """The rule as written in the catalogue, e.g. ``monitoring(days=7)``."""
    label: str
    """What the rule looks for, in words."""
    status: Status
    detail: str
    """How many models have the evidence, or why the status is what it is."""
    evidence: tuple[Evidence, ...] = ()
    gaps: tuple[str, ...] = ()
    """What to do in aims to close each gap."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "label": self.label,
            "status": self.status,
            "detail": self.detail,
            "evidence": [e.to_dict() for e in self.evidence],
            "gaps": list(self.gaps),
        }


def combine(statuses: Iterable[Status]) -> Status:
    """Fold statuses: *met* only if all applicable are met, *missing* only if all are missing."""
    applicable = [s for s in statuses if s != "not_applicable"]
    if not applicable:
        return "not_applicable"
    if all(s == "met" for s in applicable):
        return "met"
    if all(s == "missing" for s in applicable):
        return "missing"
    return "partial"


def fold(levels: Sequence[Level]) -> Status:
    """The status of a check over models: all ``FULL`` is met, all ``NONE`` missing.

    No levels at all (no model had anything to judge) is *not applicable*.
    """
    if not levels:
        return "not_applicable"
    if all(level is Level.FULL for level in levels):
        return "met"
    if all(level is Level.NONE for level in levels):
        return "missing"
    return "partial"


__all__ = ["STATUSES", "Evidence", "Finding", "Level", "Outcome", "Status", "combine", "fold"]
