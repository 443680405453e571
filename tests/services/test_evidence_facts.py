"""The evidence facts kept as the audit log grows judge every control as the whole log does.

The report reads the events it cites from ``evidence_event_facts``, caught up
from the last event read. These tests build a workspace with many kinds of
governance events (repeated approvals, promotions into several stages,
refusals, an override, a rollback, incidents, a second risk assessment,
break-glass writes) and rows tampered with straight in the database, and
check that the report from the facts equals the report from the whole log,
control by control, for each standard; and that the chain's walk is
recorded in the store and resumed from there.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select, update

from aims.errors import AimsError
from aims.services import audit, evidence, evidence_facts, governance, lifecycle, registry
from aims.services.evidence_chain import StoredChainCheck, last_walk
from aims.storage.schema import (
    Approval,
    AuditEvent,
    EvidenceBreakGlass,
    EvidenceEventFact,
    Incident,
    ModelVersion,
    RiskAssessment,
)
from aims.workspace import Workspace

from .test_evidence import ADMIN, APPROVER, OPS, OWNERS, RISK, SCIENTIST, risk_file

STANDARDS = ("iso42001", "nist-ai-rmf", "eu-ai-act")


@pytest.fixture
def ws(evidence_built: Path, tmp_path: Path):
    copy = tmp_path / "ws"
    shutil.copytree(evidence_built, copy)
    w = Workspace.open(copy)
    yield w
    w.close()


def _record(ws: Workspace, actor: str, action: str, subject: str, **payload) -> int:
    with ws.db.session() as s:
        return audit.record(s, actor=actor, action=action, subject=subject, payload=payload).seq


def _vary(ws: Workspace, cancer_files) -> None:
    """Governance events of every kind the checks cite, some of them many times."""
    for name in ("cancer_x", "canc"):
        registry.register_model(
            ws, cancer_files["model"], name, actor=SCIENTIST, datasets=["cancer@1"], owners=OWNERS
        )
    registry.register_model(
        ws, cancer_files["model2"], "cancer", actor=SCIENTIST, datasets=["cancer@1"]
    )
    # Approved twice by one approver, once by another; promoted through two stages.
    governance.approve(ws, "cancer_x@1", actor=APPROVER, note="first look")
    _record(ws, APPROVER, "model.approve", "model:cancer_x@1", note="second look")
    _record(ws, "cy@x.org", "model.approve", "model:cancer_x@1")
    review = dt.date.today() + dt.timedelta(days=40)
    risk = risk_file(ws.root, "cancer_x", next_review=review)
    governance.assess_risk(ws, "cancer_x", risk, actor=RISK)
    governance.evaluate(ws, "cancer_x@1", cancer_files["data"], actor=SCIENTIST, label="target")
    lifecycle.promote(ws, "cancer_x@1", "staging", actor=OPS, reason="trial")
    lifecycle.promote(ws, "cancer_x@1", "production", actor=OPS, reason="release")
    # Refused promotions (counted by the checks), then an override into production.
    for _ in range(3):
        with pytest.raises(AimsError):
            lifecycle.promote(ws, "canc@1", "production", actor=OPS, reason="try")
    lifecycle.promote(ws, "cancer@2", "production", actor=ADMIN, override_reason="hotfix 7")
    lifecycle.rollback(ws, "cancer", actor=OPS, reason="the hotfix misbehaved")
    # A second risk assessment.
    root = ws.root
    governance.assess_risk(ws, "tumour", risk_file(root, "tumour", next_review=review), actor=RISK)
    # Incidents: opened, acknowledged and resolved, each step an event.
    now = dt.datetime.now(dt.UTC)
    with ws.db.session() as s:
        model_id = registry.get_model(s, "tumour").id
        inc = Incident(
            dedupe_key="d",
            model_id=model_id,
            project="default",
            subject_kind="model",
            subject="tumour",
            version=1,
            trigger="drift",
            kind="drift",
            evidence={},
            actions=[],
            severity="high",
            status="resolved",
            owner="mon@x.org",
            summary="drift on mean_radius",
            opened_at=now,
            acked_at=now,
            acked_by="mon@x.org",
            resolved_at=now,
            resolution="retrained",
        )
        s.add(inc)
        s.flush()
        incident = inc.id
    for action in ("incident.open", "incident.ack", "incident.resolve"):
        _record(ws, "mon@x.org", action, "model:tumour@1", incident=incident)
    # Writes forced past team mode.
    with audit.marked(break_glass=True, break_glass_reason="server down"):
        _record(ws, ADMIN, "model.owners.set", "model:canc", owners={"business": "biz@x.org"})


def _tamper(ws: Workspace) -> None:
    """Rows written straight into the database: they must count for nothing, both ways."""
    with ws.db.session() as s:
        mv = s.scalar(
            select(ModelVersion).join(ModelVersion.model).where(ModelVersion.version == 1)
        )
        assert mv is not None
        s.add(
            Approval(
                model_version_id=mv.id,
                actor="mallory@x.org",
                role="approver",
                created_at=dt.datetime.now(dt.UTC),
            )
        )
        s.execute(update(Approval).where(Approval.actor == APPROVER).values(note="edited"))
        risk = s.scalar(select(RiskAssessment).order_by(RiskAssessment.id.desc()).limit(1))
        assert risk is not None
        s.execute(update(RiskAssessment).where(RiskAssessment.id == risk.id).values(tier="minimal"))
    evidence_facts.catch_up(ws.db)
    with ws.db.session() as s:
        # Facts no audit event vouches for: refused promotions of a serving version (the
        # report would cite them), a forced write (the audit control would count it).
        s.add(
            EvidenceEventFact(
                subject="model:tumour@1",
                action="model.promote.refused",
                key="",
                seq=1,
                ts="2026-01-01T00:00:00+00:00",
                actor=OPS,
                payload='{"stage":"production"}',
                count=4,
            )
        )
        s.add(EvidenceBreakGlass(seq=2, actor=ADMIN, action="model.register", reason="forged"))


def _controls(ws: Workspace, standard: str, now: dt.datetime, read_log: bool) -> list[dict]:
    # The whole chain walked both times, so that the chain's wording is the same too.
    report = evidence.compliance_report(ws, standard, scope="all", now=now, read_log=read_log)
    return report.to_dict()["controls"]


def test_the_facts_judge_every_control_as_the_whole_log_does(ws, cancer_files) -> None:
    # Part of the log is read into the facts in small batches before the rest is written,
    # so the facts are caught up in steps, as on a server.
    assert evidence_facts.catch_up(ws.db, batch=7) > 0
    _vary(ws, cancer_files)
    _tamper(ws)
    now = dt.datetime.now(dt.UTC)
    statuses: set[str] = set()
    for standard in STANDARDS:
        from_facts = _controls(ws, standard, now, read_log=False)
        from_log = _controls(ws, standard, now, read_log=True)
        assert [(c["id"], c["status"]) for c in from_facts] == [
            (c["id"], c["status"]) for c in from_log
        ], standard
        assert from_facts == from_log, standard
        statuses |= {c["status"] for c in from_facts}
    assert {"met", "partial"} <= statuses  # the comparison covers more than one verdict
    # The facts are far fewer rows than the events they stand for.
    with ws.db.session() as s:
        n_facts = len(s.scalars(select(EvidenceEventFact.id)).all())
        n_events = len(s.scalars(select(AuditEvent.seq)).all())
        repeated = s.scalar(
            select(EvidenceEventFact.count).where(
                EvidenceEventFact.action == "model.promote.refused"
            )
        )
    assert repeated == 3
    assert n_facts < n_events
    facts = evidence.gather_facts(ws, scope="all", chain=StoredChainCheck(ws.db))
    forced = facts.audit.break_glass
    assert [(b.actor, b.action, b.reason) for b in forced] == [
        (ADMIN, "model.owners.set", "server down")
    ]


def test_a_tampered_event_before_the_catch_up_counts_as_the_log_says(ws) -> None:
    # An edited event not yet read: the facts take it as the log now holds it, and the
    # chain's walk reports the edit, so both readings judge alike.
    with ws.db.session() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="mallory@x.org"))
    now = dt.datetime.now(dt.UTC)
    assert _controls(ws, "iso42001", now, read_log=False) == _controls(
        ws, "iso42001", now, read_log=True
    )
    report = evidence.compliance_report(ws, "iso42001", chain=StoredChainCheck(ws.db))
    assert report.result("A.6.2.8").status == "partial"


def test_the_chain_walk_is_recorded_and_resumed(ws) -> None:
    assert last_walk(ws.db) is None
    seen: list[int] = []
    first = StoredChainCheck(ws.db, progress=seen.append)()
    head = first.head_seq
    assert first.ok and sum(seen) == head
    walk = last_walk(ws.db)
    assert walk is not None and walk.ok and walk.seq == head and walk.at is not None
    # A new checker (a restarted server) walks only what was appended since.
    governance.approve(ws, "tumour@1", actor="cy@x.org", note="another look")
    again = StoredChainCheck(ws.db)
    report = again()
    new_head = report.head_seq
    assert report.ok and again.verified_from == head and new_head > head
    texts = [
        e.text
        for o in evidence.compliance_report(ws, "iso42001", chain=StoredChainCheck(ws.db))
        .result("A.6.2.8")
        .outcomes
        for e in o.evidence
    ]
    assert any(f"#1-#{new_head} by an earlier walk recorded" in t for t in texts), texts
    # The event it stopped at was edited: it walks from the first event, and finds it.
    with ws.db.session() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == new_head).values(actor="m@x.org"))
    broken = StoredChainCheck(ws.db)
    result = broken()
    assert broken.verified_from == 0 and not result.ok
    walk = last_walk(ws.db)
    assert walk is not None and not walk.ok and walk.problem
    # ``full`` always walks from the first event.
    full = StoredChainCheck(ws.db, full=True)
    full()
    assert full.verified_from == 0
