"""The evidence report reads the audit log by index and says how it verified the chain.

The report reads every model's governance events in one query instead of one
``LIKE`` scan per model; these tests check that it finds exactly the events
the per-model scan found, so the verdicts do not change, and that a report
built with a long-lived chain verifier says which events it walked.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import or_, select

from aims.services import audit, evidence, governance, lifecycle, registry
from aims.storage.schema import AuditEvent
from aims.workspace import Workspace

from .test_evidence import APPROVER, OPS, OWNERS, SCIENTIST

# Names that a LIKE prefix scan would confuse: '_' is a wildcard, and one name
# is the prefix of another.
EXTRA = ("cancer_x", "cancerXx", "canc")


@pytest.fixture
def ws(evidence_built: Path, tmp_path: Path, cancer_files):
    copy = tmp_path / "ws"
    shutil.copytree(evidence_built, copy)
    w = Workspace.open(copy)
    for name in EXTRA:
        registry.register_model(
            w, cancer_files["model"], name, actor=SCIENTIST, datasets=["cancer@1"], owners=OWNERS
        )
    # One of them goes to production with an approval; the others stay in development.
    governance.approve(w, "cancer_x@1", actor=APPROVER, note="read the card")
    lifecycle.promote(w, "cancer_x@1", "staging", actor=OPS, reason="trial")
    yield w
    w.close()


def _per_model_scan(ws: Workspace, name: str) -> list[tuple]:
    """The events of ``name`` as the report read them before: one LIKE scan per model."""
    with ws.db.session() as s:
        rows = s.scalars(
            select(AuditEvent)
            .where(
                or_(
                    AuditEvent.subject == f"model:{name}",
                    AuditEvent.subject.like(f"model:{name}@%"),
                ),
                AuditEvent.action.in_(evidence.GOVERNANCE_ACTIONS),
            )
            .order_by(AuditEvent.seq)
        ).all()
    subject = f"model:{name}"
    return [
        (e.seq, e.ts, e.actor, e.action, e.subject, json.loads(e.payload))
        for e in rows
        if e.subject == subject or e.subject.startswith(subject + "@")
    ]


def test_one_query_finds_each_models_events_as_the_per_model_scan_did(ws) -> None:
    # Straight from the log (the facts kept as it grows are checked against it elsewhere).
    facts = evidence.gather_facts(ws, scope="all", read_log=True)
    names = [m.name for m in facts.models]
    assert sorted(names) == sorted(["cancer", "tumour", *EXTRA])
    for m in facts.models:
        found = [(e.seq, e.ts, e.actor, e.action, e.subject, e.payload) for e in m.events]
        assert found == _per_model_scan(ws, m.name), m.name
        assert found, f"{m.name} has no governance event"
    by_name = {m.name: m for m in facts.models}
    # The '_' in cancer_x is not a wildcard: cancerXx's events stay its own.
    assert {e.subject.split("@")[0] for e in by_name["cancer_x"].events} == {"model:cancer_x"}
    assert "model.approve" in {e.action for e in by_name["cancer_x"].events}
    assert "model.approve" not in {e.action for e in by_name["cancerXx"].events}


def test_the_verdicts_are_those_of_the_per_model_scan(ws) -> None:
    # The same facts with each model's events read the old way must judge the same.
    from dataclasses import replace

    from aims.core.standards import get_standard
    from aims.core.standards.facts import EventRef
    from aims.core.standards.report import assess
    from aims.services.evidence_judgement import finish

    for standard in ("iso42001", "nist-ai-rmf", "eu-ai-act"):
        facts = evidence.gather_facts(ws, scope="all")
        old_models = [
            replace(
                m,
                events=tuple(
                    EventRef(seq, ts, actor, action, subject, payload)
                    for seq, ts, actor, action, subject, payload in _per_model_scan(ws, m.name)
                ),
            )
            for m in facts.models
        ]
        old = finish(
            ws,
            assess(get_standard(standard), replace(facts, models=tuple(old_models))),
            None,
        )
        new = evidence.compliance_report(ws, standard, scope="all", now=facts.now)
        assert [(c.control.id, c.status) for c in new.controls] == [
            (c.control.id, c.status) for c in old.controls
        ]
    report = evidence.compliance_report(ws, "iso42001", scope="all")
    # A known verdict on this workspace: an AI policy (kept outside aims) is not recorded.
    assert report.status("A.2.2") == "missing"
    assert report.summary["total"] == 38


def test_a_long_lived_verifier_walks_only_new_events_and_the_report_says_so(ws) -> None:
    chain = audit.IncrementalVerifier(ws.db)
    first = evidence.compliance_report(ws, "iso42001", chain=chain)
    assert first.facts.audit.ok and first.facts.audit.verified_from == 0
    head = first.facts.audit.head_seq
    governance.approve(ws, "canc@1", actor=APPROVER, note="second look")
    second = evidence.compliance_report(ws, "iso42001", chain=chain)
    assert second.facts.audit.verified_from == head
    assert second.facts.audit.head_seq == head + 1
    assert second.to_dict()["audit"]["verified_from"] == head
    logs = second.result("A.6.2.8")
    texts = [e.text for o in logs.outcomes for e in o.evidence]
    assert any(f"events #{head + 1}-#{head + 1} verified for this report" in t for t in texts)
    # Without a verifier (the command line) the whole chain is walked, and says so.
    full = evidence.compliance_report(ws, "iso42001")
    assert full.facts.audit.verified_from == 0
    texts = [e.text for o in full.result("A.6.2.8").outcomes for e in o.evidence]
    assert any("verified in full for this report" in t for t in texts)
