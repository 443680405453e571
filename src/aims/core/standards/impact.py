"""The "AI system impact" summary of a model, from its latest risk assessment.

Examples
--------
>>> import datetime as dt
>>> from aims.core.standards.facts import ModelFacts, RiskFacts
>>> doc = {"intended_use": "Rank loans.", "residual_risk": "medium",
...        "failure_modes": [{"name": "drift", "likelihood": "likely", "impact": "major"}]}
>>> risk = RiskFacts(1, "high", doc, "risk@x.org", dt.date(2025, 9, 1), "risk@x.org",
...                  dt.datetime(2025, 3, 1, tzinfo=dt.UTC))
>>> s = impact_summary(ModelFacts("loans", "p", "ana", risk=risk), dt.date(2025, 6, 1))
>>> s["failure_modes"][0]["score"], s["assessment"]["overdue"]
(16, False)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from aims.core.risk import IMPACTS, LIKELIHOODS
from aims.core.standards.facts import ModelFacts


def _score(likelihood: str, impact: str) -> int | None:
    # The 5x5 likelihood x impact matrix of aims.core.risk.FailureMode.score.
    if likelihood not in LIKELIHOODS or impact not in IMPACTS:
        return None
    return (LIKELIHOODS.index(likelihood) + 1) * (IMPACTS.index(impact) + 1)


def impact_summary(model: ModelFacts, today: dt.date) -> dict[str, Any]:
    """A model's "AI system impact" summary, from its latest risk assessment.

    Failure modes come with their likelihood x impact score (1 to 25), worst
    first. Without a risk assessment, ``assessment`` is ``None`` and ``gap``
    says how to record one.
    """
    base: dict[str, Any] = {
        "model": model.name,
        "versions": [f"{model.name}@{v.version} ({v.stage})" for v in model.reviewed],
        "tier": model.tier,
        "tier_source": "risk assessment" if model.risk else "policy default (no assessment)",
        "owners": dict(model.owners),
    }
    risk = model.risk
    if risk is None:
        return {
            **base,
            "assessment": None,
            "gap": f"no risk assessment; run `aims risk assess {model.name} --file RISK.yaml`",
        }
    doc = risk.document
    modes = [
        {
            "name": fm.get("name"),
            "description": fm.get("description", ""),
            "likelihood": fm.get("likelihood"),
            "impact": fm.get("impact"),
            "score": _score(str(fm.get("likelihood")), str(fm.get("impact"))),
            "mitigation": fm.get("mitigation", ""),
        }
        for fm in doc.get("failure_modes") or []
    ]
    modes.sort(key=lambda m: -(m["score"] or 0))
    return {
        **base,
        "assessment": {
            "version": risk.version,
            "reviewer": risk.reviewer,
            "assessed_on": doc.get("assessed_on"),
            "next_review": risk.next_review.isoformat(),
            "overdue": risk.overdue(today),
            "recorded_by": risk.created_by,
            "event": risk.event.seq if risk.event else None,
        },
        "intended_use": doc.get("intended_use", ""),
        "out_of_scope": list(doc.get("out_of_scope") or []),
        "tier_rationale": doc.get("tier_rationale", ""),
        "failure_modes": modes,
        "data_dependencies": [
            d.get("name", "") if isinstance(d, Mapping) else str(d)
            for d in doc.get("data_dependencies") or []
        ],
        "downstream_impact": doc.get("downstream_impact", ""),
        "mitigations": list(doc.get("mitigations") or []),
        "residual_risk": doc.get("residual_risk"),
        "residual_risk_rationale": doc.get("residual_risk_rationale", ""),
    }


__all__ = ["impact_summary"]
