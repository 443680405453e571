"""The access-review check: who may act, each with an owner, nothing stale or standing.

A pure function over :class:`~aims.core.standards.facts.ReviewFacts`, the
access review (``aims access review``) taken when the report is made. It
evidences roles assigned to named principals (ISO/IEC 42001 A.3.2), the people
and machine identities an AI system depends on (A.4.6) and accountability
(NIST AI RMF GOVERN 2).

Examples
--------
>>> import datetime as dt
>>> from aims.core.standards.facts import AccessFacts, Facts, ReviewFacts
>>> now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
>>> review = ReviewFacts(kinds={"human": 2, "agent": 1})
>>> access_review(Facts(now, "/ws", "p", access=AccessFacts(review=review)), ()).level.name
'FULL'
"""

from __future__ import annotations

from collections.abc import Sequence

from aims.core.standards.facts import Facts, ModelFacts
from aims.core.standards.result import Evidence, Finding, Level

__all__ = ["MAX_GAPS", "access_review"]

MAX_GAPS = 10
"""Findings listed one by one in the report; the rest are counted."""


def access_review(facts: Facts, models: Sequence[ModelFacts]) -> Finding:
    """Every principal has a kind and, for services and agents, an enabled owner; no grant
    is unused, no key is past its rotation age, no admin grant is standing."""
    review = facts.access.review
    if review is None or not review.kinds:
        return Finding(
            Level.NONE,
            gaps=[
                "no principals: add the people, services and agents who act "
                "(`aims principals add NAME --kind human`), grant them roles per project "
                "(`aims grant`), and review them with `aims access review`"
            ],
            detail="no principals",
        )
    kinds = ", ".join(f"{n} {kind}(s)" for kind, n in sorted(review.kinds.items()))
    evidence = [Evidence(f"access review: {kinds}", command="aims access review")]
    if review.elevation_required:
        evidence.append(
            Evidence(
                f"{', '.join(review.elevation_required)} need(s) a just-in-time elevation",
                command="aims elevation list",
            )
        )
    counts = ", ".join(f"{n} {rule}" for rule, n in sorted(review.findings.items()) if n)
    if not counts:
        return Finding(Level.FULL, evidence, detail=f"{kinds}; no findings")
    gaps = list(review.messages[:MAX_GAPS])
    if len(review.messages) > MAX_GAPS:
        gaps.append(f"and {len(review.messages) - MAX_GAPS} more: run `aims access review`")
    return Finding(Level.SOME, evidence, gaps, detail=f"{kinds}; findings: {counts}")
