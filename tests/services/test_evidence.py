"""The compliance evidence report, built from a workspace made through the real services.

Two models go the whole way (register, risk assess, evaluate, approve, promote);
each test works on its own copy of that workspace, changes the store the way a
real event (or a tampering) would, and checks that the statuses follow.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import delete, select, update

from aims.services import audit, evidence, governance, lifecycle, registry
from aims.services.evidence_render import render_html, render_json, render_markdown
from aims.storage.schema import AuditEvent, Incident, MonitorWindow, RiskAssessment
from aims.workspace import Workspace, init_workspace

SCIENTIST = "ana@x.org"
APPROVER = "bo@x.org"
RISK = "risk@x.org"
OPS = "ops@x.org"
ADMIN = "root@x.org"
OWNERS = {
    "development": SCIENTIST,
    "deployment": OPS,
    "monitoring": "mon@x.org",
    "business": "biz@x.org",
}
POLICY = {
    "default_tier": "high",
    "tiers": {
        "minimal": {},
        "limited": {},
        "high": {
            "risk_assessment": {"required": True, "max_age_days": 365},
            "approvals": {"count": 1, "roles": ["approver"], "four_eyes": True},
            "owners": ["monitoring", "deployment"],
            "gates": [{"metric": "accuracy", "min": 0.9}],
        },
        "unacceptable": {"prohibited": True},
    },
}
MODELS = ("cancer", "tumour")


def risk_file(folder: Path, model: str, *, tier: str = "high", next_review: dt.date) -> Path:
    doc = {
        "intended_use": f"Flag scans for a second reading ({model}).",
        "out_of_scope": ["diagnosis without a radiologist"],
        "risk_tier": tier,
        "failure_modes": [
            {
                "name": "missed malignancy",
                "description": "false negative",
                "likelihood": "unlikely",
                "impact": "major",
            },
            {"name": "false alarm", "likelihood": "likely", "impact": "minor"},
        ],
        "data_dependencies": ["cancer@1"],
        "downstream_impact": "Patients wait longer for a diagnosis.",
        "mitigations": ["every negative is also read by a human"],
        "residual_risk": "low",
        "reviewer": RISK,
        "assessed_on": (next_review - dt.timedelta(days=200)).isoformat(),
        "next_review": next_review.isoformat(),
    }
    path = folder / f"risk-{model}-{tier}-{next_review}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def build_workspace(folder: Path, cancer_files) -> Path:
    """A workspace with two high-risk models in production, every gate met."""
    root = init_workspace(folder / "ws")
    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["policy"] = POLICY
    config["people"] = {APPROVER: ["approver"], ADMIN: ["admin"]}
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    ws = Workspace.open(root)
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor=SCIENTIST)
    for name, artifact in zip(MODELS, ("model", "model2"), strict=True):
        registry.register_model(
            ws,
            cancer_files[artifact],
            name,
            actor=SCIENTIST,
            datasets=["cancer@1"],
            owners=OWNERS,
            commit="0123456789abcdef0123456789abcdef01234567",
        )
        review = dt.date.today() + dt.timedelta(days=90)
        governance.assess_risk(ws, name, risk_file(root, name, next_review=review), actor=RISK)
        governance.evaluate(ws, f"{name}@1", cancer_files["data"], actor=SCIENTIST, label="target")
        governance.approve(ws, f"{name}@1", actor=APPROVER, note="checked slices")
        lifecycle.promote(ws, f"{name}@1", "production", actor=OPS, reason="first release")
    ws.close()
    return root


@pytest.fixture
def built(evidence_built: Path) -> Path:
    """The workspace of :func:`build_workspace`, built once per test session (tests/services/
    conftest.py); every test works on a copy of it."""
    return evidence_built


@pytest.fixture
def ws(built: Path, tmp_path: Path):
    copy = tmp_path / "ws"
    shutil.copytree(built, copy)
    w = Workspace.open(copy)
    yield w
    w.close()


def statuses(report: evidence.ComplianceReport, *ids: str) -> dict[str, str]:
    return {i: report.status(i) for i in ids}


RISK_ONLY = {
    "iso42001": ("A.5.3", "A.5.5", "A.9.4"),
    "nist-ai-rmf": ("MAP 1", "MAP 1.1", "MAP 2", "MAP 5"),
    "eu-ai-act": ("Art. 9",),
}


def test_controls_are_met_where_the_store_holds_the_evidence(ws) -> None:
    report = evidence.compliance_report(ws, "iso42001")
    assert [m.name for m in report.facts.in_scope] == list(MODELS)
    assert statuses(
        report, "A.3.2", "A.5.2", "A.5.3", "A.6.2.5", "A.6.2.8", "A.9.4"
    ) == dict.fromkeys(("A.3.2", "A.5.2", "A.5.3", "A.6.2.5", "A.6.2.8", "A.9.4"), "met")
    # Nothing was monitored and nothing set under policy.monitoring.
    assert report.status("A.6.2.6") == "missing"
    # No data contract was given at registration: the inferred input contract is partial evidence.
    assert report.status("A.7.4") == "partial"
    # Organisational documents are kept outside aims: with none recorded and no exclusion in
    # the statement of applicability, the control is missing, never "not applicable".
    a22 = report.result("A.2.2")
    assert a22.status == "missing" and not a22.reason
    assert any("aims evidence add A.2.2" in g for g in a22.gaps)
    assert any("aims soa exclude A.2.2" in g for g in a22.gaps)
    summary = report.summary
    assert summary["not_applicable"] == 0
    assert sum(summary[s] for s in ("met", "partial", "missing", "outside", "excluded")) == 38
    met = report.result("A.6.2.5")
    events = {e.event for o in met.outcomes for e in o.evidence if e.event is not None}
    promotes = audit.query(ws.db, audit.EventFilter(action="model.promote"))
    assert {e["seq"] for e in promotes} <= events


def test_removing_the_risk_assessments_turns_related_controls_missing(ws) -> None:
    before = {k: evidence.compliance_report(ws, k) for k in RISK_ONLY}
    for key, ids in RISK_ONLY.items():
        assert set(statuses(before[key], *ids).values()) == {"met"}, key
    with ws.db.session() as s:
        s.execute(delete(RiskAssessment))
    for key, ids in RISK_ONLY.items():
        after = evidence.compliance_report(ws, key)
        assert statuses(after, *ids) == dict.fromkeys(ids, "missing"), key
        gaps = " ".join(g for i in ids for g in after.result(i).gaps)
        assert "aims risk assess cancer" in gaps and "aims risk assess tumour" in gaps
    # The process (policy) is still there, so A.5.2 drops to partial, not missing.
    iso = evidence.compliance_report(ws, "iso42001")
    assert iso.status("A.5.2") == "partial"
    assert [i["assessment"] for i in iso.impacts] == [None, None]


def test_one_model_without_evidence_makes_the_control_partial(ws) -> None:
    with ws.db.session() as s:
        model_id = registry.get_model(s, "tumour").id
        s.execute(delete(RiskAssessment).where(RiskAssessment.model_id == model_id))
    report = evidence.compliance_report(ws, "iso42001")
    assert report.status("A.9.4") == "partial"
    outcome = report.result("A.9.4").outcomes[0]
    assert outcome.detail == "1 of 2 model(s)"
    assert all("tumour" in g for g in outcome.gaps)


def test_overdue_review_is_partial(ws) -> None:
    with ws.db.session() as s:
        s.execute(update(RiskAssessment).values(next_review="2020-01-01"))
    report = evidence.compliance_report(ws, "iso42001")
    assert report.status("A.5.3") == "partial"
    assert any("was due on 2020-01-01" in g for g in report.result("A.5.3").gaps)
    assert all(i["assessment"]["overdue"] for i in report.impacts)


def _window(model_id: int, start: dt.datetime, labelled: int) -> MonitorWindow:
    return MonitorWindow(
        model_id=model_id,
        version=1,
        role="production",
        window_start=start,
        window_seconds=3600,
        n_predictions=500,
        n_labelled=labelled,
        results={},
        computed_at=start + dt.timedelta(hours=1),
    )


def test_monitor_windows_and_incidents_are_evidence(ws) -> None:
    now = dt.datetime.now(dt.UTC)
    with ws.db.session() as s:
        ids = {m: registry.get_model(s, m).id for m in MODELS}
        s.add(_window(ids["cancer"], now - dt.timedelta(hours=3), labelled=40))
        s.add(_window(ids["tumour"], now - dt.timedelta(days=30), labelled=0))
    report = evidence.compliance_report(ws, "nist-ai-rmf")
    # One model watched this week, the other a month ago: partial.
    assert report.status("MEASURE 2.4") == "partial"
    assert report.status("MANAGE 4.3") == "not_applicable"  # no incident yet
    with ws.db.session() as s:
        s.add(_window(ids["tumour"], now - dt.timedelta(hours=2), labelled=10))
        base = {"trigger": "drift", "kind": "drift", "evidence": {}, "actions": [], "version": 1}
        s.add(
            Incident(
                dedupe_key="a",
                model_id=ids["cancer"],
                project="default",
                subject_kind="model",
                subject="cancer",
                severity="high",
                status="resolved",
                owner="mon@x.org",
                summary="drift on mean_radius",
                opened_at=now,
                acked_at=now,
                acked_by="mon@x.org",
                resolved_at=now,
                resolution="retrained on fresh data",
                **base,
            )
        )
        s.add(
            Incident(
                dedupe_key="b",
                model_id=ids["tumour"],
                project="default",
                subject_kind="model",
                subject="tumour",
                severity="low",
                status="open",
                owner=None,
                summary="confidence dropped",
                opened_at=now,
                **base,
            )
        )
    with ws.db.session() as s:
        # What the monitor records when someone resolves an incident.
        first = s.scalar(select(Incident.id).where(Incident.dedupe_key == "a"))
        resolved = audit.record(
            s,
            actor="mon@x.org",
            action="incident.resolve",
            subject="model:cancer@1",
            payload={"incident": first, "resolution": "retrained on fresh data"},
        ).seq
    report = evidence.compliance_report(ws, "nist-ai-rmf")
    assert report.status("MEASURE 2.4") == "met"
    assert report.status("MEASURE 4") == "met"  # labelled outcomes in the last week
    incidents = report.result("MANAGE 4.3")
    assert incidents.status == "partial"
    cited = {e.event for e in incidents.outcomes[0].evidence if f"#{first} " in e.text}
    assert cited == {resolved}
    gap = next(g for g in incidents.gaps if "no owner, not acknowledged" in g)
    assert "aims incidents ack" in gap and "aims model owners tumour monitoring=EMAIL" in gap


def test_a_tampered_audit_log_is_missing_evidence(ws) -> None:
    with ws.db.session() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="mallory@x.org"))
    report = evidence.compliance_report(ws, "iso42001")
    logs = report.result("A.6.2.8")
    assert logs.status == "partial"  # stage history still there, the chain is not
    chain = next(o for o in logs.outcomes if o.rule == "audit_chain")
    assert chain.status == "missing" and chain.evidence[0].event == 3


def test_an_override_and_a_missing_approval_are_partial(ws, cancer_files) -> None:
    registry.register_model(
        ws, cancer_files["model2"], "cancer", actor=SCIENTIST, datasets=["cancer@1"]
    )
    lifecycle.promote(
        ws, "cancer@2", "production", actor=ADMIN, override_reason="hotfix for incident 7"
    )
    report = evidence.compliance_report(ws, "iso42001")
    deploy = report.result("A.6.2.5")
    by_rule = {o.rule: o for o in deploy.outcomes}
    assert by_rule["approval"].status == "partial"
    assert by_rule["promotion"].status == "partial"
    assert any("override" in e.text and "hotfix" in e.text for e in by_rule["promotion"].evidence)
    # cancer@1 is archived and can be rolled back to.
    nist = evidence.compliance_report(ws, "nist-ai-rmf")
    fallback = nist.result("MANAGE 2.4").outcomes[0]
    assert fallback.detail == "1 of 2 model(s)"


def test_eu_ai_act_applies_to_high_risk_models_only(ws) -> None:
    report = evidence.compliance_report(ws, "eu-ai-act")
    assert report.standard.ids == (
        "Art. 9", "Art. 10", "Art. 11", "Art. 12", "Art. 13",
        "Art. 14", "Art. 15", "Art. 17", "Art. 26", "Art. 72", "Art. 73",
    )  # fmt: skip
    assert report.status("Art. 9") == "met"
    for name in MODELS:
        path = risk_file(ws.root, name, tier="minimal", next_review=dt.date.today())
        path.write_text(path.read_text().replace(str(dt.date.today()), "2999-01-01"))
        governance.assess_risk(ws, name, path, actor=RISK)
    report = evidence.compliance_report(ws, "eu-ai-act")
    assert set(report.summary) and report.summary["not_applicable"] == 11
    assert "high-risk tier (tiers in scope: minimal)" in report.result("Art. 9").reason


def test_nothing_deployed_is_missing_not_met(tmp_path: Path) -> None:
    w = Workspace.open(init_workspace(tmp_path / "empty"))
    try:
        report = evidence.compliance_report(w, "iso42001")
    finally:
        w.close()
    # Only the policy itself (aims.yaml) can be met with nothing registered.
    met = [r.control for r in report.controls if r.status == "met"]
    assert [c.id for c in met] == ["A.6.1.2"]
    assert all(rule.name == "policy" for c in met for rule in c.rules)
    gaps = report.result("A.9.4").gaps
    assert gaps and "no model is in production" in gaps[0]


def test_impact_summary_scores_failure_modes(ws) -> None:
    report = evidence.compliance_report(ws, "iso42001")
    impact = report.impacts[0]
    assert impact["model"] == "cancer" and impact["tier"] == "high"
    # unlikely (2) x major (4) = 8, likely (4) x minor (2) = 8; both listed, worst first.
    assert [fm["score"] for fm in impact["failure_modes"]] == [8, 8]
    assert impact["downstream_impact"] == "Patients wait longer for a diagnosis."
    assert impact["residual_risk"] == "low"
    assert impact["assessment"]["event"] is not None


def test_renderers_carry_ids_links_and_commands(ws) -> None:
    report = evidence.compliance_report(ws, "iso42001")
    html = render_html(report)
    assert html.startswith("<!doctype html>")
    for text in ("A.2.2", "A.6.2.4", "A.10.4", "/ui/models/cancer", "/ui/audit?seq=", "aims card"):
        assert text in html
    assert "<script" not in html and "http://" not in html and "https://" not in html
    md = render_markdown(report)
    assert "### A.9.4 Intended use: met" in md and "## AI system impact" in md
    data = json.loads(render_json(report))
    assert data["summary"] == report.summary
    assert [c["id"] for c in data["controls"]] == list(report.standard.ids)


def test_scope_all_judges_models_not_deployed(ws, cancer_files) -> None:
    registry.register_model(
        ws, cancer_files["model"], "draft", actor=SCIENTIST, datasets=["cancer@1"]
    )
    deployed = evidence.compliance_report(ws, "iso42001")
    everything = evidence.compliance_report(ws, "iso42001", scope="all")
    assert "draft" not in [m.name for m in deployed.facts.in_scope]
    assert everything.status("A.9.4") == "partial"  # draft has no risk assessment
    assert deployed.status("A.9.4") == "met"


def test_same_judgement_on_sqlite_and_postgresql(store_workspace, cancer_files) -> None:
    ws = store_workspace
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor=SCIENTIST)
    registry.register_model(
        ws, cancer_files["model"], "cancer", actor=SCIENTIST, datasets=["cancer@1"], owners=OWNERS
    )
    review = dt.date.today() + dt.timedelta(days=30)
    governance.assess_risk(
        ws, "cancer", risk_file(ws.root, "cancer", next_review=review), actor=RISK
    )
    governance.approve(ws, "cancer@1", actor=APPROVER)
    lifecycle.promote(ws, "cancer@1", "production", actor=OPS)
    now = dt.datetime.now(dt.UTC)
    with ws.db.session() as s:
        model_id = registry.get_model(s, "cancer").id
        s.add(_window(model_id, now - dt.timedelta(hours=2), labelled=5))
        s.add(
            Incident(
                dedupe_key="old", model_id=model_id, version=1, trigger="t", kind="drift",
                project="default", subject_kind="model", subject="cancer",
                severity="low", status="resolved", owner="mon@x.org", summary="s",
                evidence={}, actions=[], opened_at=now - dt.timedelta(days=400),
                acked_at=now - dt.timedelta(days=400), resolved_at=now - dt.timedelta(days=399),
                resolution="",
            )
        )  # fmt: skip
    report = evidence.compliance_report(ws, "nist-ai-rmf")
    assert report.status("MAP 5") == "met"
    assert report.status("MEASURE 2.4") == "met"
    # The only incident was resolved over a year ago: outside the look-back, nothing to judge.
    assert report.status("MANAGE 4.3") == "not_applicable"
    with ws.db.session() as s:
        s.execute(delete(RiskAssessment))
    assert evidence.compliance_report(ws, "nist-ai-rmf").status("MAP 5") == "missing"


def test_a_project_report_holds_only_that_projects_models_and_keys(ws, cancer_files) -> None:
    import dataclasses

    from aims.services import keys

    beta = Workspace(dataclasses.replace(ws.settings, project="beta"))
    registry.register_model(
        beta, cancer_files["model"], "beta-model", actor=SCIENTIST, datasets=["cancer@1"]
    )
    keys.create_key(ws, project="beta", role="viewer", actor=ADMIN)
    keys.create_key(ws, project=ws.settings.project, role="viewer", actor=ADMIN)
    everything = evidence.compliance_report(ws, "iso42001", scope="all")
    own = evidence.compliance_report(ws, "iso42001", scope="all", project=ws.settings.project)
    other = evidence.compliance_report(ws, "iso42001", scope="all", project="beta")
    assert "beta-model" in [m.name for m in everything.facts.models]
    assert sorted(m.name for m in own.facts.models) == sorted(MODELS)
    assert [m.name for m in other.facts.models] == ["beta-model"]
    assert other.facts.access.projects == ("beta",) and other.facts.project == "beta"
    assert "beta" not in own.facts.access.projects
    # The beta model has no risk assessment: only the beta report shows the gap.
    assert own.status("A.9.4") == "met" and other.status("A.9.4") != "met"
