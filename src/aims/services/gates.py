"""The promotion gates: what the policy requires of a version, checked against the store.

Only governance rows that their audit events vouch for count (see
:mod:`aims.services.anchors`): an approval, a risk assessment, an evaluation or
a stage change written straight into the database is not a fact the gates see.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from aims.core.evaluation import EvaluationResult
from aims.core.policy import Approval as PolicyApproval
from aims.core.policy import PromotionFacts, check_promotion
from aims.core.risk import RiskAssessment as RiskDoc
from aims.refs import parse_ref
from aims.services import anchors, audit
from aims.services.approvals import approvals_of
from aims.services.evaluations import latest_evaluation
from aims.services.identity import person_name
from aims.services.registry import get_model_version, owners_by_role
from aims.services.risk import latest_risk
from aims.services.team_mode import unaccountable_owners
from aims.services.workspace_rules import policy_of
from aims.storage.schema import ModelVersion
from aims.workspace import Workspace

__all__ = ["gates", "policy_check", "promotion_facts", "vouched_stage"]


def vouched_stage(s: Session, mv: ModelVersion) -> str:
    """The stage ``mv``'s newest audited stage change put it in (see :mod:`~aims.services.anchors`)."""
    return anchors.vouched_stage(s, mv, audit.session_key(s))


def promotion_facts(
    ws: Workspace, s: Session, mv: ModelVersion, target: str, today: dt.date | None = None
) -> PromotionFacts:
    """Everything the policy needs to know about ``mv``, read from the store."""
    risk_row = latest_risk(s, mv.model_id)
    stored = latest_evaluation(s, mv.id)
    evaluation = champion = champion_version = None
    if stored is not None:
        evaluation = EvaluationResult.from_dict(stored["evaluation"])
        if "champion" in stored:
            champion = EvaluationResult.from_dict(stored["champion"]["evaluation"])
            champion_version = stored["champion"].get("version")
    prod = next((v.version for v in mv.model.versions if vouched_stage(s, v) == "production"), None)
    return PromotionFacts(
        model=mv.model.name,
        version=mv.version,
        target_stage=target,
        today=today or dt.date.today(),
        # Compared as principals: a key's act counts as its principal's.
        registered_by=person_name(s, mv.created_by),
        risk=RiskDoc.from_dict(risk_row.document) if risk_row is not None else None,
        owners=owners_by_role(mv.model),
        unaccountable_owners=unaccountable_owners(s, ws, mv.model),
        approvals=tuple(
            PolicyApproval(person_name(s, a.actor), tuple(a.role.split(",")) if a.role else ())
            for a in approvals_of(s, mv.id)
        ),
        evaluation=evaluation,
        champion_evaluation=champion,
        champion_version=champion_version,
        production_version=prod,
        task=(mv.info or {}).get("task"),
    )


def policy_check(ws: Workspace):  # -> lifecycle.PromotionCheck
    """A promotion check that applies the workspace policy."""
    policy = policy_of(ws)

    def check(s: Session, mv: ModelVersion, req: Any) -> list[dict[str, Any]]:
        # Canary and shadow serve real traffic, so they answer to production's rules.
        target = "production" if req.target in ("canary", "shadow") else req.target
        facts = promotion_facts(ws, s, mv, target)
        return [r.to_dict() for r in check_promotion(policy, facts) if not r.passed]

    return check


def gates(ws: Workspace, text: str, stage: str = "production") -> dict[str, Any]:
    """Every rule the policy applies to promoting ``NAME@VERSION`` to ``stage``, with outcomes."""
    from aims.core.policy import effective_tier

    policy = policy_of(ws)
    with ws.db.session() as s:
        mv = get_model_version(s, parse_ref(text))
        facts = promotion_facts(ws, s, mv, stage)
        results = [r.to_dict() for r in check_promotion(policy, facts)]
        tier, source = effective_tier(policy, facts)
        return {
            "model": mv.model.name,
            "version": mv.version,
            "stage": stage,
            "tier": tier,
            "tier_source": source,
            "passed": all(r["passed"] for r in results),
            "rules": results,
        }
