"""The rules a promotion is checked against, one function per kind of rule.

:func:`aims.core.policy.check_promotion` reads the tier's section of the policy
and calls these with the :class:`PromotionFacts` the store knows about the
version: the risk assessment, the owners, the approvals and the evaluation
gates. Each returns :class:`RuleResult` values, passed ones included, so a
refusal can list every unmet rule at once with its fix. Rule ids are listed
in :mod:`aims.core.policy`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aims.core.evaluation import EvaluationResult
from aims.core.metric_catalog import Task
from aims.core.risk import RiskAssessment, Tier

if TYPE_CHECKING:  # the policy's sections, for annotations only: policy.py imports this module
    from aims.core.policy import ApprovalRule, Gate, RiskRule


@dataclass(frozen=True)
class Approval:
    """One approval of a model version."""

    actor: str
    roles: tuple[str, ...] = ()
    """Roles the approver holds, when known."""


@dataclass(frozen=True)
class PromotionFacts:
    """What the store knows about a version that is to be promoted."""

    model: str
    version: int
    target_stage: str
    today: dt.date
    registered_by: str
    risk: RiskAssessment | None = None
    """The latest risk assessment of the model."""
    owners: Mapping[str, str] = field(default_factory=dict)
    """Owner by role."""
    unaccountable_owners: Mapping[str, str] = field(default_factory=dict)
    """Owners (by role) who are not enabled principals with a grant on the model's project
    (filled in team mode only: there, an owner must be someone the workspace knows)."""
    approvals: Sequence[Approval] = ()
    evaluation: EvaluationResult | None = None
    champion_evaluation: EvaluationResult | None = None
    """The production version evaluated on the same data."""
    champion_version: int | None = None
    """Which version ``champion_evaluation`` measured (the production one when it was run)."""
    production_version: int | None = None
    """The version now in production, if any."""
    task: Task | None = None
    """The model's task as registered, when known: gates of the other task do not apply."""

    @property
    def tier(self) -> Tier | None:
        return None if self.risk is None else self.risk.risk_tier


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule; ``message`` says what is wrong and how to fix it."""

    rule: str
    passed: bool
    message: str
    value: float | None = None
    threshold: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return vars(self).copy()


def risk_rules(rule: RiskRule, facts: PromotionFacts) -> list[RuleResult]:
    risk = facts.risk
    out = []
    if rule.required:
        ok = risk is not None
        out.append(
            RuleResult(
                "risk_assessment.required",
                ok,
                "risk assessment recorded"
                if ok
                else f"no risk assessment for {facts.model}; record one with "
                f"'aims risk assess {facts.model} --file RISK.yaml'",
            )
        )
    if risk is None:
        return out
    overdue = risk.is_overdue(facts.today)
    out.append(
        RuleResult(
            "risk_assessment.overdue",
            not overdue,
            f"review was due on {risk.next_review}; review the assessment and record it again"
            if overdue
            else f"next review due {risk.next_review}",
        )
    )
    if rule.max_age_days is not None:
        age = risk.age_days(facts.today)
        ok = age <= rule.max_age_days
        out.append(
            RuleResult(
                "risk_assessment.max_age",
                ok,
                f"assessment is {age} days old (limit {rule.max_age_days})"
                + ("" if ok else "; review it and record it again"),
                value=float(age),
                threshold=float(rule.max_age_days),
            )
        )
    return out


def owner_rule(role: str, facts: PromotionFacts) -> RuleResult:
    owner = (facts.owners.get(role) or "").strip()
    if owner and role in facts.unaccountable_owners:
        return RuleResult(
            f"owners.{role}",
            False,
            f"{role} owner {owner} is not an enabled principal with a grant on the model's "
            f"project; add them ('aims principals add', 'aims grant') or name another owner",
        )
    if owner:
        return RuleResult(f"owners.{role}", True, f"{role} owner is {owner}")
    return RuleResult(
        f"owners.{role}",
        False,
        f"no {role} owner set for {facts.model}; set one with 'aims model owners {facts.model} {role}=EMAIL'",
    )


def approval_rules(rule: ApprovalRule, facts: PromotionFacts, ref: str) -> list[RuleResult]:
    out = []
    approvals = list(facts.approvals)
    if rule.four_eyes:
        selfish = [a for a in approvals if a.actor == facts.registered_by]
        out.append(
            RuleResult(
                "approvals.four_eyes",
                not selfish,
                f"{facts.registered_by} registered {ref} and approved it; a self-approval "
                "does not count, withdraw it and ask someone else"
                if selfish
                else "no self-approval",
            )
        )
        approvals = [a for a in approvals if a.actor != facts.registered_by]
    approvers = sorted({a.actor for a in approvals})
    if rule.count:
        ok = len(approvers) >= rule.count
        out.append(
            RuleResult(
                "approvals.count",
                ok,
                f"{len(approvers)} of {rule.count} approvals"
                + (f" ({', '.join(approvers)})" if approvers else "")
                + ("" if ok else f"; ask for more with 'aims approve {ref}'"),
                value=float(len(approvers)),
                threshold=float(rule.count),
            )
        )
    for role in rule.roles:
        holders = sorted({a.actor for a in approvals if role in a.roles})
        # Roles are those held when approving: say which approvals did not count, and why.
        others = sorted({a.actor for a in approvals if role not in a.roles})
        why = "".join(
            f"; approval by {actor} does not count: {actor} did not hold role {role} "
            "when approving (give the role in aims.yaml → people:, then approve again)"
            for actor in others
        )
        out.append(
            RuleResult(
                f"approvals.role.{role}",
                bool(holders),
                f"approved by {role} {', '.join(holders)}"
                if holders
                else f"no approval from anyone with role '{role}'; one of them must run "
                f"'aims approve {ref}'" + why,
            )
        )
    return out


def _fmt(value: float) -> str:
    return f"{value:g}"


def gate_rules(gate: Gate, facts: PromotionFacts, ref: str) -> list[RuleResult]:
    bounds: list[tuple[str, float]] = []
    if gate.min is not None:
        bounds.append((">=", gate.min))
    if gate.max is not None:
        bounds.append(("<=", gate.max))
    ev = facts.evaluation
    task = ev.task if ev is not None else facts.task
    if gate.task is not None and task is not None and gate.task != task:
        return []
    if ev is None:
        return [
            RuleResult(
                rule,
                False,
                f"{ref} has no evaluation; run 'aims evaluate {ref} --data PATH'",
            )
            for rule in _gate_ids(gate, gate.metric, bounds)
        ]
    found = ev.match(gate.metric)
    if not found:
        hint = (
            "evaluate with --sensitive COLUMN"
            if gate.metric.startswith("fairness.")
            else "check the metric name and the evaluation"
        )
        return [
            RuleResult(
                rule,
                not gate.required,
                f"{gate.metric} not measured for {ref}"
                + ("; skipped (required: false)" if not gate.required else f"; {hint}"),
            )
            for rule in _gate_ids(gate, gate.metric, bounds)
        ]
    out = []
    for name, value in found.items():
        for op, limit in bounds:
            ok = value >= limit if op == ">=" else value <= limit
            out.append(
                RuleResult(
                    f"gate:{name}{op}{_fmt(limit)}",
                    ok,
                    f"{name} = {value:.4g} (required {op} {_fmt(limit)})",
                    value=value,
                    threshold=limit,
                )
            )
        if gate.no_worse_than_production is not None:
            out.append(_production_rule(gate, name, value, facts))
    return out


def _gate_ids(gate: Gate, name: str, bounds: list[tuple[str, float]]) -> list[str]:
    ids = [f"gate:{name}{op}{_fmt(limit)}" for op, limit in bounds]
    if gate.no_worse_than_production is not None:
        ids.append(_production_id(gate, name))
    return ids


def _production_id(gate: Gate, name: str) -> str:
    d = _fmt(gate.no_worse_than_production or 0.0)
    return f"gate:{name}>=production-{d}" if gate.direction else f"gate:{name}<=production+{d}"


def _production_rule(gate: Gate, name: str, value: float, facts: PromotionFacts) -> RuleResult:
    rule = _production_id(gate, name)
    if facts.production_version is None:
        return RuleResult(rule, True, "no version in production yet; nothing to compare with")
    champion = facts.champion_evaluation
    compared_with = facts.production_version
    in_production = facts.production_version == facts.version
    if in_production:
        # The version in production is never compared with itself: it is shown
        # as it stood when promoted, against the version it was measured with then.
        if champion is None or facts.champion_version in (None, facts.version):
            return RuleResult(
                rule,
                True,
                "this version is in production; it was not compared with another version "
                "(there was none in production when it was evaluated)",
            )
        compared_with = facts.champion_version
    prod = f"{facts.model}@{compared_with}"
    if champion is None:
        return RuleResult(
            rule,
            False,
            f"production version {prod} has no evaluation on the same data; evaluate both "
            "on one data set with 'aims evaluate'",
        )
    if not in_production and (
        facts.champion_version is not None and facts.champion_version != facts.production_version
    ):
        return RuleResult(
            rule,
            False,
            f"this version was compared with {facts.model}@{facts.champion_version}, but {prod} "
            f"is in production now; evaluate again: 'aims evaluate "
            f"{facts.model}@{facts.version} --data PATH'",
        )
    ev = facts.evaluation
    if ev is not None and ev.data_id and champion.data_id and ev.data_id != champion.data_id:
        return RuleResult(
            rule,
            False,
            f"{prod} was evaluated on other data ({champion.data_id[:12]}) than this version "
            f"({ev.data_id[:12]}); evaluate both on the same data",
        )
    theirs = champion.match(name).get(name)
    if theirs is None:
        return RuleResult(rule, False, f"{name} not measured for production version {prod}")
    allowed = gate.no_worse_than_production or 0.0
    limit = theirs - allowed if gate.direction else theirs + allowed
    ok = value >= limit if gate.direction else value <= limit
    when = ", in production when this version was evaluated," if in_production else ""
    return RuleResult(
        rule,
        ok,
        f"{name} = {value:.4g} against {theirs:.4g} for {prod}{when} (delta "
        f"{value - theirs:+.4g}, allowed loss {_fmt(allowed)})",
        value=value,
        threshold=limit,
    )


__all__ = [
    "Approval",
    "PromotionFacts",
    "RuleResult",
    "approval_rules",
    "gate_rules",
    "owner_rule",
    "risk_rules",
]
