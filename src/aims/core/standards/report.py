"""Judging a catalogue against a snapshot of the store: control results and the report.

:func:`assess` runs each control's evidence rules over the models it is about
(see :mod:`aims.core.standards.checks`) and folds them into a status. The
report keeps the facts it was judged on, so every renderer shows the same
moment of the store.

Examples
--------
>>> import datetime as dt
>>> from aims.core.standards.facts import Facts
>>> empty = Facts(dt.datetime(2025, 3, 1, tzinfo=dt.UTC), "/ws", "p")
>>> r = assess("eu-ai-act", empty)
>>> r.status("Art. 9"), r.result("Art. 9").reason
('not_applicable', 'no model in scope')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aims.core.standards import get_standard
from aims.core.standards.catalogue import Control, Standard
from aims.core.standards.checks import run_rule
from aims.core.standards.facts import Facts, ModelFacts
from aims.core.standards.impact import impact_summary
from aims.core.standards.result import STATUSES, Outcome, Status, combine

HIGH_RISK_TIERS = ("high", "unacceptable")
"""Tiers whose models the EU AI Act's high-risk obligations apply to."""


@dataclass(frozen=True)
class ControlResult:
    """One control's status, the outcome of each of its rules, and why."""

    control: Control
    status: Status
    outcomes: tuple[Outcome, ...]
    reason: str = ""
    """Why the control is not applicable (empty otherwise)."""

    @property
    def gaps(self) -> tuple[str, ...]:
        return tuple(g for o in self.outcomes for g in o.gaps)

    def to_dict(self) -> dict[str, Any]:
        c = self.control
        return {
            "id": c.id,
            "title": c.title,
            "description": c.description,
            "group": c.group,
            "applies_to": c.applies_to,
            "status": self.status,
            "reason": self.reason,
            "rules": [o.to_dict() for o in self.outcomes],
            "gaps": list(self.gaps),
            "outside_aims": c.outside,
        }


@dataclass(frozen=True)
class ComplianceReport:
    """The judged catalogue of one standard over one snapshot of the store."""

    standard: Standard
    facts: Facts
    controls: tuple[ControlResult, ...]

    def result(self, control_id: str) -> ControlResult:
        for r in self.controls:
            if r.control.id == control_id:
                return r
        raise KeyError(f"{self.standard.key} has no control {control_id!r}")

    def status(self, control_id: str) -> Status:
        return self.result(control_id).status

    @property
    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {s: 0 for s in STATUSES}
        for r in self.controls:
            counts[r.status] += 1
        return {**counts, "total": len(self.controls)}

    @property
    def impacts(self) -> list[dict[str, Any]]:
        """The AI system impact summary of every model in scope."""
        return [impact_summary(m, self.facts.today) for m in self.facts.in_scope]

    def to_dict(self) -> dict[str, Any]:
        f = self.facts
        return {
            "report": "compliance",
            "standard": {
                "key": self.standard.key,
                "title": self.standard.title,
                "edition": self.standard.edition,
                "note": self.standard.note,
            },
            "generated_at": f.now.isoformat(timespec="seconds"),
            "workspace": f.workspace,
            "project": f.project,
            "scope": f.scope,
            "models_in_scope": [
                {
                    "name": m.name,
                    "tier": m.tier,
                    "versions": [{"version": v.version, "stage": v.stage} for v in m.reviewed],
                }
                for m in f.in_scope
            ],
            "audit": {
                "ok": f.audit.ok,
                "n_events": f.audit.n_events,
                "head_seq": f.audit.head_seq,
                "verified_from": f.audit.verified_from,
                "problem": f.audit.problem,
            },
            "summary": self.summary,
            "controls": [r.to_dict() for r in self.controls],
            "impacts": self.impacts,
        }


def _about(control: Control, facts: Facts) -> list[ModelFacts]:
    models = list(facts.in_scope)
    if control.applies_to == "high_risk":
        models = [m for m in models if m.tier in HIGH_RISK_TIERS]
    return models


def assess_control(control: Control, facts: Facts) -> ControlResult:
    """Judge one control against ``facts``."""
    if not control.rules:
        return ControlResult(control, "not_applicable", (), f"outside aims: {control.outside}")
    models = _about(control, facts)
    if control.applies_to == "high_risk" and not models:
        tiers = sorted({m.tier for m in facts.in_scope})
        why = (
            f"no model in scope is in the high-risk tier (tiers in scope: {', '.join(tiers)})"
            if tiers
            else "no model in scope"
        )
        return ControlResult(control, "not_applicable", (), why)
    outcomes = tuple(run_rule(r, facts, models) for r in control.rules)
    status = combine(o.status for o in outcomes)
    reason = "; ".join(o.detail for o in outcomes) if status == "not_applicable" else ""
    return ControlResult(control, status, outcomes, reason)


def assess(standard: Standard | str, facts: Facts) -> ComplianceReport:
    """Judge every control of ``standard`` against ``facts``."""
    std = get_standard(standard) if isinstance(standard, str) else standard
    return ComplianceReport(std, facts, tuple(assess_control(c, facts) for c in std.controls))


__all__ = ["HIGH_RISK_TIERS", "ComplianceReport", "ControlResult", "assess", "assess_control"]
