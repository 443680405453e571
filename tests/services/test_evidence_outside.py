"""The statement of applicability, evidence kept outside aims and audit findings in the report.

Built on the workspace of ``test_evidence`` (two high-risk models in production, every gate
met); each test works on its own copy and records what people would record.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aims.errors import InvalidInput, NotFound, PermissionDenied
from aims.services import applicability, audit, evidence, external_evidence, management_review
from aims.services.evidence_render import render_html, render_markdown
from aims.storage.schema import Applicability, ExternalEvidence
from aims.workspace import Workspace
from tests.server.governed import open_incident
from tests.services.test_evidence import (
    APPROVER,
    SCIENTIST,
    built,  # noqa: F401 (the module-scoped workspace)
)

JUSTIFIED = "No AI system of ours is provided to customers; every model is used in-house."


@pytest.fixture
def ws(evidence_built: Path, tmp_path: Path):
    """A copy of the evidence workspace (tests/services/conftest.py) of its own."""
    copy = tmp_path / "ws"
    shutil.copytree(evidence_built, copy)
    w = Workspace.open(copy)
    yield w
    w.close()


def _policy(root: Path, text: str = "# AI policy\nApproved by the board.\n") -> Path:
    path = root / "ai-policy.md"
    path.write_text(text)
    return path


def _count(ws, table) -> int:
    with ws.db.session() as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


def test_an_exclusion_needs_a_justification_and_a_second_person(ws) -> None:
    with pytest.raises(InvalidInput, match="justification"):
        applicability.exclude(ws, "A.10.4", justification="n/a", actor=SCIENTIST)
    with pytest.raises(InvalidInput, match="not an ISO/IEC 42001 Annex A control"):
        applicability.exclude(ws, "A.99", justification=JUSTIFIED, actor=SCIENTIST)
    assert _count(ws, Applicability) == 0  # refused input writes nothing

    pending = applicability.exclude(ws, "A.10.4", justification=JUSTIFIED, actor=SCIENTIST)
    assert pending["state"] == "pending"
    report = evidence.compliance_report(ws, "iso42001")
    # Pending is not excluded: the control is still missing, and says what awaits approval.
    assert report.status("A.10.4") == "missing"
    assert any("aims soa approve A.10.4" in g for g in report.result("A.10.4").gaps)

    with pytest.raises(PermissionDenied, match="four-eyes"):
        applicability.approve(ws, "A.10.4", actor=SCIENTIST)
    done = applicability.approve(ws, "A.10.4", actor=APPROVER)
    assert done["state"] == "excluded" and done["approved_by"] == APPROVER

    report = evidence.compliance_report(ws, "iso42001")
    result = report.result("A.10.4")
    assert result.status == "excluded"
    assert JUSTIFIED in result.reason and APPROVER in result.reason
    # Only the statement's exclusions are shown as such; nothing is "not applicable".
    assert report.summary["excluded"] == 1 and report.summary["not_applicable"] == 0
    assert f"Excluded: {JUSTIFIED}" in render_markdown(report)
    assert "Excluded: " in render_html(report)

    # Versioned and audited: including it again is version 2, and every step is an event.
    again = applicability.include(ws, "A.10.4", actor=APPROVER, note="a customer pilot started")
    assert again["version"] == 2
    assert evidence.compliance_report(ws, "iso42001").status("A.10.4") == "missing"
    soa = applicability.statement(ws)
    a104 = next(c for c in soa["controls"] if c["control"] == "A.10.4")
    assert [h["state"] for h in a104["history"]] == ["excluded", "applicable"]
    actions = [e["action"] for e in audit.query(ws.db) if e["subject"].startswith("soa:")]
    assert actions == ["soa.exclude", "soa.approve", "soa.include"]


def test_an_organisation_exclusion_holds_unless_the_project_says_otherwise(ws) -> None:
    applicability.exclude(
        ws, "A.10.4", justification=JUSTIFIED, actor=SCIENTIST, project=applicability.ORGANISATION
    )
    applicability.approve(ws, "A.10.4", actor=APPROVER, project=applicability.ORGANISATION)
    assert evidence.compliance_report(ws, "iso42001").status("A.10.4") == "excluded"
    applicability.include(ws, "A.10.4", actor=APPROVER)  # the project's own entry wins
    assert evidence.compliance_report(ws, "iso42001").status("A.10.4") == "missing"


def test_a_document_kept_outside_aims_evidences_its_control_until_removed(ws) -> None:
    assert evidence.compliance_report(ws, "iso42001").status("A.2.2") == "missing"
    policy = _policy(ws.root)
    [piece] = external_evidence.add(
        ws, ["A.2.2"], actor=SCIENTIST, owner="dpo@x.org", review_every="12m", file=policy
    )
    assert ws.artifacts.get_bytes(piece["sha256"]) == policy.read_bytes()  # content-addressed
    report = evidence.compliance_report(ws, "iso42001")
    assert report.status("A.2.2") == "outside"
    assert report.to_dict()["external_evidence"][0]["name"] == "ai-policy.md"

    # A year and a day later the review is overdue: partial, with the command that fixes it.
    late = dt.datetime.now(dt.UTC) + dt.timedelta(days=361)
    overdue = evidence.compliance_report(ws, "iso42001", now=late)
    assert overdue.status("A.2.2") == "partial"
    assert any(f"aims evidence review {piece['id']}" in g for g in overdue.result("A.2.2").gaps)

    external_evidence.remove(ws, piece["id"], actor=SCIENTIST, reason="superseded")
    assert evidence.compliance_report(ws, "iso42001").status("A.2.2") == "missing"
    # Restored: the same file again is the same stored object, and the control is back.
    [again] = external_evidence.add(
        ws, ["A.2.2"], actor=SCIENTIST, owner="dpo@x.org", review_every="1y", file=policy
    )
    assert again["sha256"] == piece["sha256"]
    assert evidence.compliance_report(ws, "iso42001").status("A.2.2") == "outside"


def test_bad_evidence_input_is_refused_before_anything_is_written(ws) -> None:
    policy = _policy(ws.root)
    cases = [
        (dict(controls=["A.2.99"], owner="dpo@x.org", review_every="12m", file=policy),
         "not a control"),
        (dict(controls=["A.2.2"], owner="dpo", review_every="12m", file=policy), "e-mail"),
        (dict(controls=["A.2.2"], owner="dpo@x.org", review_every="yearly", file=policy),
         "90d, 6w, 12m or 1y"),
        (dict(controls=["A.2.2"], owner="dpo@x.org", review_every="12m"), "exactly one"),
        (dict(controls=["A.2.2"], owner="dpo@x.org", review_every="12m",
              url="ftp://example.org/policy"), "http"),
    ]  # fmt: skip
    for kwargs, message in cases:
        with pytest.raises(InvalidInput, match=message):
            external_evidence.add(ws, actor=SCIENTIST, **kwargs)
    with pytest.raises(NotFound):
        external_evidence.add(
            ws, ["A.2.2"], actor=SCIENTIST, owner="dpo@x.org", review_every="12m",
            file=ws.root / "no-such.pdf",
        )  # fmt: skip
    assert _count(ws, ExternalEvidence) == 0


def test_the_statement_can_require_a_second_person_to_approve_the_documents(ws) -> None:
    applicability.include(ws, "A.2.2", actor=APPROVER, evidence_approval=True)
    [piece] = external_evidence.add(
        ws, ["A.2.2"], actor=SCIENTIST, owner="dpo@x.org", review_every="12m",
        file=_policy(ws.root),
    )  # fmt: skip
    report = evidence.compliance_report(ws, "iso42001")
    assert report.status("A.2.2") == "partial"
    assert any("aims evidence approve" in g for g in report.result("A.2.2").gaps)
    with pytest.raises(PermissionDenied, match="four-eyes"):
        external_evidence.approve(ws, piece["id"], actor=SCIENTIST)
    external_evidence.approve(ws, piece["id"], actor=APPROVER)
    assert evidence.compliance_report(ws, "iso42001").status("A.2.2") == "outside"


def test_evidence_recorded_once_shows_under_every_standard(ws) -> None:
    external_evidence.add(
        ws, ["A.2.2"], actor=SCIENTIST, owner="dpo@x.org", review_every="12m",
        file=_policy(ws.root),
    )  # fmt: skip
    for key, control in (("nist-ai-rmf", "GOVERN 1"), ("eu-ai-act", "Art. 17")):
        report = evidence.compliance_report(ws, key)
        texts = [e.text for o in report.result(control).outcomes for e in o.evidence]
        assert any(t.startswith("A.2.2: ai-policy.md") for t in texts), (key, texts)
        row = next(c for c in report.to_dict()["controls"] if c["id"] == control)
        assert "A.2.2" in row["crosswalk"]
    # Evidence recorded against a NIST category counts for that category alone.
    nist_before = evidence.compliance_report(ws, "nist-ai-rmf").status("GOVERN 3")
    assert nist_before == "missing"
    external_evidence.add(
        ws, ["GOVERN 3"], actor=SCIENTIST, owner="hr@x.org", review_every="1y",
        file=_policy(ws.root, "training records"),
    )  # fmt: skip
    assert evidence.compliance_report(ws, "nist-ai-rmf").status("GOVERN 3") == "outside"
    a46 = evidence.compliance_report(ws, "iso42001").result("A.4.6")
    assert "external_evidence" not in [o.rule for o in a46.outcomes]


def test_an_open_nonconformity_shows_in_the_report_until_closed(ws) -> None:
    assert evidence.compliance_report(ws, "iso42001").status("A.6.2.5") == "met"
    review = management_review.record_review(
        ws, kind="internal-audit", title="Release process audit", held_on="2026-01-15",
        actor=APPROVER,
    )  # fmt: skip
    incident = open_incident(ws, "cancer")
    with pytest.raises(NotFound, match="incident"):
        management_review.add_finding(
            ws, review["id"], kind="nonconformity", summary="x", owner="ops@x.org",
            due="2026-02-01", actor=APPROVER, incident=9999,
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        management_review.add_finding(
            ws, review["id"], kind="nonconformity", summary="x", owner="ops@x.org",
            due="next week", actor=APPROVER,
        )  # fmt: skip
    finding = management_review.add_finding(
        ws, review["id"], kind="nonconformity", control="A.6.2.5", owner="ops@x.org",
        summary="A release went out before its rollback was rehearsed", due="2026-02-01",
        corrective_action="rehearse rollback before each release", incident=incident,
        actor=APPROVER,
    )  # fmt: skip
    report = evidence.compliance_report(ws, "iso42001")
    assert report.status("A.6.2.5") == "partial"
    [shown] = report.to_dict()["nonconformities"]
    assert shown["id"] == finding["id"] and shown["incident"] == incident
    assert "rehearse rollback" in render_markdown(report)
    # The same finding counts under the EU AI Act's counterpart (Art. 14).
    assert evidence.compliance_report(ws, "eu-ai-act").status("Art. 14") == "partial"

    management_review.close_finding(ws, finding["id"], actor="ops@x.org", closure="rehearsed")
    report = evidence.compliance_report(ws, "iso42001")
    assert report.status("A.6.2.5") == "met" and report.to_dict()["nonconformities"] == []


def test_the_demo_paperwork_leaves_no_control_unjustifiably_not_applicable(ws) -> None:
    from aims.demo.statement import DOCUMENTS, EXCLUSIONS, record_statement

    steps: list[str] = []
    record_statement(ws, ws.root, [open_incident(ws, "cancer")], steps.append)
    report = evidence.compliance_report(ws, "iso42001")
    assert report.summary["not_applicable"] == 0
    for control, why in EXCLUSIONS.items():
        assert report.status(control) == "excluded" and why in report.result(control).reason
    documented = {c for controls, _, _ in DOCUMENTS.values() for c in controls}
    assert {report.status(c) for c in documented} <= {"outside", "met"}
    assert report.to_dict()["nonconformities"] == []  # the audit's finding was closed
    [audit_] = management_review.list_reviews(ws)
    assert audit_["findings"][0]["incident"] is not None
    assert len(steps) == len(DOCUMENTS) + 2


def test_rows_written_straight_into_the_database_count_for_nothing(ws) -> None:
    from sqlalchemy import update

    from aims.storage.schema import ReviewFinding

    # An exclusion nobody proposed or approved through aims.
    with ws.db.session() as s:
        s.add(
            Applicability(
                project=ws.settings.project, control_id="A.2.3", version=1, applicable=False,
                justification=JUSTIFIED, evidence_approval=False, proposed_by="mallory",
                proposed_at=dt.datetime.now(dt.UTC), approved_by="mallory",
                approved_at=dt.datetime.now(dt.UTC),
            )
        )  # fmt: skip
    assert evidence.compliance_report(ws, "iso42001").status("A.2.3") == "missing"
    # A review date pushed forward, an approval written in, a finding closed by hand.
    applicability.include(ws, "A.2.2", actor=APPROVER, evidence_approval=True)
    [piece] = external_evidence.add(
        ws, ["A.2.2"], actor=SCIENTIST, owner="dpo@x.org", review_every="12m",
        file=_policy(ws.root), reviewed_on=dt.date.today() - dt.timedelta(days=400),
    )  # fmt: skip
    review = management_review.record_review(
        ws, kind="management-review", title="Q1", held_on="2026-01-10", actor=APPROVER
    )
    finding = management_review.add_finding(
        ws, review["id"], kind="nonconformity", control="A.6.2.5", summary="late release",
        owner="ops@x.org", due="2026-02-01", actor=APPROVER,
    )  # fmt: skip
    with ws.db.session() as s:
        s.execute(
            update(ExternalEvidence)
            .where(ExternalEvidence.id == piece["id"])
            .values(reviewed_on=dt.date.today().isoformat(), approved_by=APPROVER)
        )
        s.execute(
            update(ReviewFinding).where(ReviewFinding.id == finding["id"]).values(status="closed")
        )
    report = evidence.compliance_report(ws, "iso42001")
    a22 = report.result("A.2.2")
    assert a22.status == "partial"
    assert any("OVERDUE" in e.text for o in a22.outcomes for e in o.evidence)
    assert any("aims evidence approve" in g for g in a22.gaps)
    assert report.status("A.6.2.5") == "partial"
    assert [n["id"] for n in report.to_dict()["nonconformities"]] == [finding["id"]]

    # 'aims audit verify' names each of them, and nothing recorded through aims.
    from aims.services.anchors import unanchored

    found = unanchored(ws.db, audit.chain_key_of(ws.db, create=False))
    messages = sorted(f["message"].split(" (row ")[0] for f in found)
    assert messages == sorted(
        [
            f"evidence #{piece['id']} of A.2.2 (ai-policy.md), approved by {APPROVER}",
            f"evidence #{piece['id']} of A.2.2 (ai-policy.md), reviewed on "
            f"{dt.date.today().isoformat()}",
            f"finding #{finding['id']} of review #{review['id']}, closed",
            f"statement entry A.2.3 v1 of {ws.settings.project}",
        ]
    )
    assert {f["table"] for f in found} == {"applicability", "external_evidence", "findings"}


def test_a_link_keeps_the_hash_of_what_it_served(ws, tmp_path: Path) -> None:
    import functools
    import hashlib
    import http.server
    import threading

    site = tmp_path / "site"
    site.mkdir()
    (site / "suppliers.html").write_text("<h1>Supplier assessment 2026</h1>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/suppliers.html"
        [piece] = external_evidence.add(
            ws, ["A.10.3"], actor=SCIENTIST, owner="buyer@x.org", review_every="6m", url=url
        )
        want = hashlib.sha256((site / "suppliers.html").read_bytes()).hexdigest()
        assert piece["kind"] == "url" and piece["sha256"] == want and piece["name"] == url
        with pytest.raises(InvalidInput, match="--sha256"):
            external_evidence.add(
                ws, ["A.10.3"], actor=SCIENTIST, owner="buyer@x.org", review_every="6m",
                url=url.replace("suppliers", "missing"),
            )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    # Unreachable, but its hash given: recorded as it is.
    [given] = external_evidence.add(
        ws, ["A.10.3"], actor=SCIENTIST, owner="buyer@x.org", review_every="6m",
        url="https://intranet.invalid/suppliers", sha256="AB" * 32,
    )  # fmt: skip
    assert given["sha256"] == "ab" * 32 and given["size"] is None
    assert evidence.compliance_report(ws, "iso42001").status("A.10.3") == "outside"
