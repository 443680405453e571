"""Policy as code: what a model version needs before it may be promoted.

The ``policy:`` section of ``aims.yaml`` (or a separate file it names) sets, per
risk tier, the evaluation gates, whether a risk assessment is required and how
fresh it must be, how many approvals from which roles, and which owners must be
set. :func:`check_promotion` evaluates it against :class:`PromotionFacts` and
returns every rule with its outcome, so a refusal lists all unmet rules at once.

Rule ids are stable (they appear in the audit log and the model card):

=================================  ===============================================
rule                               fails when
=================================  ===============================================
``tier.prohibited``                the tier forbids deployment (``unacceptable``)
``risk_assessment.required``       the tier needs a risk assessment and none exists
``risk_assessment.overdue``        the assessment's ``next_review`` date has passed
``risk_assessment.max_age``        the assessment is older than ``max_age_days``
``owners.<role>``                  no owner is set for a required role
``approvals.four_eyes``            the person who registered the version approved it
``approvals.count``                fewer distinct approvers than required
``approvals.role.<role>``          no approval from someone holding ``role``
``gate:<metric>>=<min>``           the evaluated metric is below ``min``
``gate:<metric><=<max>``           the evaluated metric is above ``max``
``gate:<metric>>=production-<d>``  worse than the production version by more than ``d``
                                   (``<=production+<d>`` for lower-is-better metrics)
=================================  ===============================================

See ``docs/policy.md`` for the YAML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aims.core import yaml_source
from aims.core.metric_catalog import Task, check_metric_name, metric_direction
from aims.core.promotion_rules import (
    Approval,
    PromotionFacts,
    RuleResult,
    approval_rules,
    gate_rules,
    owner_rule,
    risk_rules,
)
from aims.core.risk import TIERS, RiskAssessment, Tier
from aims.errors import ConfigError, GateFailed, InvalidInput

Stage = Literal["staging", "production"]
STAGES: tuple[Stage, ...] = ("staging", "production")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Gate(_Strict):
    """A bound on one evaluated figure (see :mod:`aims.core.evaluation` for names)."""

    metric: str
    """Figure name; ``*`` matches any text, so one gate can cover every sensitive column."""
    min: float | None = None
    max: float | None = None
    no_worse_than_production: float | None = Field(default=None, ge=0)
    """Largest allowed loss against the production version, in the metric's units."""
    higher_is_better: bool | None = None
    """Direction for ``no_worse_than_production`` when the metric's own is unknown."""
    task: Task | None = None
    """Apply only to evaluations of this task; ``None`` applies to both."""
    required: bool = True
    """Fail when the figure is missing from the evaluation (``False``: skip it)."""

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        try:
            check_metric_name(value)
        except InvalidInput as exc:
            raise ValueError(exc.message) from None
        return value

    @model_validator(mode="after")
    def _has_a_bound(self) -> Gate:
        if self.min is None and self.max is None and self.no_worse_than_production is None:
            raise ValueError("a gate needs min, max or no_worse_than_production")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max}); no value can pass")
        if self.no_worse_than_production is not None and self.direction is None:
            raise ValueError(
                f"the direction of {self.metric!r} is unknown; add higher_is_better: true|false"
            )
        return self

    @property
    def direction(self) -> bool | None:
        if self.higher_is_better is not None:
            return self.higher_is_better
        return metric_direction(self.metric)


class RiskRule(_Strict):
    """Whether a risk assessment is needed, and how old it may be."""

    required: bool = False
    max_age_days: int | None = Field(default=None, ge=1)


class ApprovalRule(_Strict):
    """How many people must approve, from which roles, and whether four eyes apply."""

    count: int = Field(default=0, ge=0)
    roles: list[str] = []
    """Each role listed needs at least one approval from someone holding it."""
    four_eyes: bool = True
    """The person who registered the version may not approve it."""


class TierPolicy(_Strict):
    """The rules for one risk tier."""

    stages: list[Stage] = ["production"]
    """Target stages these rules govern; promotions to other stages are not checked."""
    prohibited: bool = False
    """No promotion at all to the governed stages (the ``unacceptable`` tier)."""
    risk_assessment: RiskRule = RiskRule()
    approvals: ApprovalRule = ApprovalRule()
    owners: list[str] = []
    """Owner roles that must be set on the model (``--owner ROLE=EMAIL``)."""
    gates: list[Gate] = []


class Policy(_Strict):
    """The whole ``policy:`` section."""

    default_tier: Tier = "high"
    """Tier of a model that has no risk assessment yet."""
    tiers: dict[Tier, TierPolicy]
    monitoring: dict[str, Any] = {}
    """Kept as given for the monitor (drift thresholds, triggers, actions)."""

    @field_validator("tiers", mode="before")
    @classmethod
    def _empty_is_no_rules(cls, value: Any) -> Any:
        # 'minimal:' with nothing under it reads as null; it means "no rules".
        if isinstance(value, Mapping):
            return {k: ({} if v is None else v) for k, v in value.items()}
        return value

    @field_validator("tiers")
    @classmethod
    def _every_tier(cls, value: dict[Tier, TierPolicy]) -> dict[Tier, TierPolicy]:
        missing = [t for t in TIERS if t not in value]
        if missing:
            raise ValueError(
                f"rules for tier(s) {', '.join(missing)} are missing; every tier of "
                f"{', '.join(TIERS)} needs an entry (an empty mapping {{}} means no rules)"
            )
        return value


DEFAULT_POLICY_YAML = """\
# What a model version needs before promotion; see docs/policy.md.
# A model's tier comes from its latest risk assessment (aims risk assess),
# else default_tier.
policy:
  default_tier: high
  tiers:
    minimal:
      approvals: {count: 1, four_eyes: true}
      owners: [development]
    limited:
      risk_assessment: {required: true, max_age_days: 365}
      approvals: {count: 1, four_eyes: true}
      owners: [development, business]
      gates:
        - {metric: accuracy, no_worse_than_production: 0.01, task: classification}
        - {metric: r2, no_worse_than_production: 0.01, task: regression}
    high:
      risk_assessment: {required: true, max_age_days: 180}
      approvals: {count: 2, roles: [approver], four_eyes: true}
      owners: [development, deployment, monitoring, business]
      gates:
        - {metric: accuracy, no_worse_than_production: 0.0, task: classification}
        - {metric: r2, no_worse_than_production: 0.0, task: regression}
        - {metric: ece, max: 0.1, task: classification}
        - {metric: "fairness.*.equalized_odds_difference", max: 0.1, task: classification}
    unacceptable:
      prohibited: true
      stages: [staging, production]
  # Read by the monitor: drift thresholds, triggers and actions.
  monitoring: {}
"""
"""The policy written into a new ``aims.yaml``."""

DEFAULT_POLICY: dict[str, Any] = yaml.safe_load(DEFAULT_POLICY_YAML)["policy"]


def parse_policy(data: Any, source: str = "aims.yaml", *, node: yaml.Node | None = None) -> Policy:
    """Validate the ``policy:`` section; errors name the key path (and line with ``node``).

    Parameters
    ----------
    data
        The parsed section (a mapping).
    source
        File name for messages.
    node
        The section's YAML node (from :func:`load_policy`), for line numbers.

    Examples
    --------
    >>> parse_policy(DEFAULT_POLICY).tiers["high"].approvals.count
    2
    """
    doc = yaml_source.Document(data, node, source)
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: policy must be a mapping with a tiers: key")
    policy: Policy = yaml_source.validate(Policy, doc, prefix="policy")
    return policy


def load_policy(source: str | Path) -> Policy:
    """Read a policy file (or YAML text): either a ``policy:`` mapping or the section itself."""
    text, name = yaml_source.read_text(source, "policy")
    doc = yaml_source.parse(text, name)
    if isinstance(doc.data, Mapping) and "policy" in doc.data:
        doc = doc.sub("policy")
    return parse_policy(doc.data, name, node=doc.node)


def workspace_policy(config_file: Path) -> Policy:
    """The policy of a workspace, read from its ``aims.yaml`` with line numbers.

    ``policy:`` holds the section itself, or the path of a separate policy file
    (relative to the workspace); no ``policy:`` key means :data:`DEFAULT_POLICY`.
    """
    text, name = yaml_source.read_text(Path(config_file), "workspace configuration")
    doc = yaml_source.parse(text, name)
    if not isinstance(doc.data, Mapping) or doc.data.get("policy") is None:
        return parse_policy(DEFAULT_POLICY, "default policy")
    section = doc.sub("policy")
    if isinstance(section.data, str):
        path = Path(section.data).expanduser()
        return load_policy(path if path.is_absolute() else Path(config_file).parent / path)
    return parse_policy(section.data, name, node=section.node)


def effective_tier(policy: Policy, facts: PromotionFacts) -> tuple[Tier, str]:
    """The tier that applies, and where it came from."""
    return tier_of(policy, facts.risk)


def tier_of(policy: Policy, risk: RiskAssessment | None) -> tuple[Tier, str]:
    """The tier a model is in given its latest risk assessment, and where it came from."""
    if risk is not None:
        return risk.risk_tier, f"risk assessment of {risk.assessed_on}"
    return policy.default_tier, "policy default_tier (no risk assessment yet)"


def check_promotion(policy: Policy, facts: PromotionFacts) -> list[RuleResult]:
    """Every rule of the applicable tier with its outcome (passed and failed).

    Promotions to a stage the tier does not govern return an empty list.
    """
    tier, _ = effective_tier(policy, facts)
    rules = policy.tiers[tier]
    if facts.target_stage not in rules.stages:
        return []
    ref = f"{facts.model}@{facts.version}"
    out: list[RuleResult] = []
    if rules.prohibited:
        out.append(
            RuleResult(
                "tier.prohibited",
                False,
                f"risk tier {tier!r} forbids promotion to {facts.target_stage}; "
                "the model may not be deployed at this tier",
            )
        )
    out += risk_rules(rules.risk_assessment, facts)
    out += [owner_rule(role, facts) for role in rules.owners]
    out += approval_rules(rules.approvals, facts, ref)
    for gate in rules.gates:
        out += gate_rules(gate, facts, ref)
    return out


def unmet(results: Sequence[RuleResult]) -> list[RuleResult]:
    """The failed rules."""
    return [r for r in results if not r.passed]


def require_all(results: Sequence[RuleResult], what: str) -> None:
    """Raise ``GateFailed`` listing every failed rule; ``what`` names the refused action."""
    failed = unmet(results)
    if failed:
        listing = "; ".join(f"[{r.rule}] {r.message}" for r in failed)
        raise GateFailed(
            f"{what} refused, {len(failed)} rule(s) unmet: {listing}",
            rules=[r.rule for r in failed],
        )


__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_POLICY_YAML",
    "STAGES",
    "Approval",
    "ApprovalRule",
    "Gate",
    "Policy",
    "PromotionFacts",
    "RiskRule",
    "RuleResult",
    "Stage",
    "TierPolicy",
    "check_promotion",
    "effective_tier",
    "load_policy",
    "parse_policy",
    "require_all",
    "tier_of",
    "unmet",
    "workspace_policy",
]
