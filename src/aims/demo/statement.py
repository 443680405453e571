"""The demo's paperwork: the documents, the statement of applicability and the internal audit
that an auditor asks for besides what aims records on its own.

The team writes a short AI policy, a procedure for raising concerns and a
training record, and tracks each with ``aims evidence add``; it excludes the
two Annex A controls about customers and partners (the model is used in-house
only), each exclusion approved by a second person; and it records an internal
audit whose nonconformity (the seasonal drift found late) is linked to the
incident and closed by its corrective action.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

from aims.demo.team import APPROVER, ENGINEER, MONITORING, RISK_OFFICER, acting_as
from aims.workspace import Workspace

DOCUMENTS = {
    "ai-policy.md": (
        ("A.2.2", "A.2.3", "A.2.4"),
        RISK_OFFICER,
        "# AI policy\n\nModels that decide about flights are registered in aims, risk "
        "assessed, evaluated against the promotion policy and approved by two people before "
        "they serve. The policy is read with the security and data protection policies and "
        "reviewed every year by the management team.\n",
    ),
    "raising-concerns.md": (
        ("A.3.3", "A.8.3"),
        RISK_OFFICER,
        "# Raising concerns about AI systems\n\nAnyone, inside or outside the company, can "
        "write to ai-concerns@example.org. The risk officer answers within five working days "
        "and opens an incident in aims when a model is involved.\n",
    ),
    "training-record.md": (
        ("A.4.6",),
        ENGINEER,
        "# Training record 2026\n\nThe data scientists, approvers and on-call engineers of "
        "flight-delay completed the internal course on model risk and monitoring.\n",
    ),
}

EXCLUSIONS = {
    "A.10.2": "flight-delay is built, run and used in-house; no partner, supplier or customer "
    "shares responsibility for it",
    "A.10.4": "no AI system is provided to customers: flight-delay warns the operations desk "
    "only, and its output never reaches passengers",
}


def record_statement(
    ws: Workspace, root: Path, incidents: Sequence[int], step: Callable[[str], None]
) -> None:
    """Record the documents, the exclusions and an internal audit, as the team would."""
    from aims.services import applicability, external_evidence, management_review

    folder = root / "documents"
    folder.mkdir(parents=True, exist_ok=True)
    for name, (controls, owner, text) in DOCUMENTS.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        with acting_as(owner):
            external_evidence.add(
                ws, list(controls), actor=owner, owner=owner, review_every="12m", file=path,
                note=name.removesuffix(".md").replace("-", " "),
            )  # fmt: skip
        step(f"{name} kept as evidence of {', '.join(controls)} (owner {owner}, review 12m)")
    for control, why in EXCLUSIONS.items():
        with acting_as(RISK_OFFICER):
            applicability.exclude(ws, control, justification=why, actor=RISK_OFFICER)
        with acting_as(APPROVER):
            applicability.approve(ws, control, actor=APPROVER)
    step(
        f"statement of applicability: {', '.join(EXCLUSIONS)} excluded by {RISK_OFFICER}, "
        f"approved by {APPROVER}"
    )
    today = dt.date.today()
    with acting_as(APPROVER):
        review = management_review.record_review(
            ws, kind="internal-audit", title="Monitoring of flight-delay", held_on=today,
            actor=APPROVER, summary="Drift was caught by the monitor and acted on.",
        )  # fmt: skip
        finding = management_review.add_finding(
            ws, review["id"], kind="nonconformity", control="A.6.2.6", owner=MONITORING,
            summary="The seasonal drift of summer 2013 was found two windows after it began",
            due=today + dt.timedelta(days=30), incident=incidents[0] if incidents else None,
            corrective_action="retrain on recent months and shadow before each summer",
            actor=APPROVER,
        )  # fmt: skip
    with acting_as(MONITORING):
        management_review.close_finding(
            ws, finding["id"], actor=MONITORING,
            closure="retrained, shadowed and promoted through the gates",
        )  # fmt: skip
    step(f"internal audit recorded; its nonconformity (finding #{finding['id']}) closed")
