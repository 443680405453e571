"""What people record for an audit, over real HTTP in team mode: the statement of
applicability, evidence kept outside aims, audits with findings, and the evidence pack.

One workspace and one server for the module (see :mod:`tests.server.governed`).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from aims.services.audit import event_count
from aims.storage.schema import Applicability, AuditEvent, ExternalEvidence
from tests.server.governed import OTHER, PROJECT, governed, open_incident

WHY = "No AI system is supplied to customers by this organisation"


@pytest.fixture(scope="module")
def gov(tmp_path_factory: pytest.TempPathFactory, tiny_files: dict[str, Any]):
    root = tmp_path_factory.mktemp("govevidence") / "ws"
    with governed(root, tiny_files, {"m-ev": 1}) as g:
        # An agent holding an approver token: the services, not the role, keep it out.
        g.claims["bot-approver"] = {
            "key_id": "kb0000000001",
            "project": PROJECT,
            "role": "approver",
            "principal": "bot",
        }
        g.incidents["m-ev"] = open_incident(g.ws, "m-ev")
        yield g


def _actions(ws: Any, subject: str) -> list[tuple[str, str]]:
    with ws.db.session() as s:
        rows = s.execute(
            select(AuditEvent.actor, AuditEvent.action)
            .where(AuditEvent.subject == subject)
            .order_by(AuditEvent.seq)
        ).all()
    return [(a, b) for a, b in rows]


def _control(doc: dict[str, Any], control: str) -> dict[str, Any]:
    return next(c for c in doc["controls"] if c["control"] == control)


def test_an_exclusion_is_proposed_and_approved_by_two_principals(gov) -> None:
    r = gov.call("ana", "POST", "/v1/soa/A.10.4/exclude", json={"justification": WHY})
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["proposed_by"]) == ("pending", "ana@x.org")

    # ana's approver key is still ana: four-eyes holds across her keys.
    own = gov.call("ana2", "POST", "/v1/soa/A.10.4/approve")
    assert own.status_code == 403, own.text
    assert "four-eyes" in own.json()["detail"]
    # An agent never approves, whatever role its token holds.
    agent = gov.call("bot-approver", "POST", "/v1/soa/A.10.4/approve")
    assert agent.status_code == 403 and "agents never approve" in agent.json()["detail"]
    # A scientist may propose, not approve.
    low = gov.call("bo-scientist", "POST", "/v1/soa/A.10.4/approve")
    assert low.status_code == 403

    ok = gov.call("bo-approver", "POST", "/v1/soa/A.10.4/approve")
    assert ok.status_code == 200, ok.text
    assert (ok.json()["state"], ok.json()["approved_by"]) == ("excluded", "bo@x.org")
    shown = gov.call("bo-viewer", "GET", "/v1/soa").json()
    assert shown["project"] == PROJECT
    assert _control(shown, "A.10.4")["state"] == "excluded"
    assert _control(shown, "A.10.4")["approved_by"] == "bo@x.org"
    assert _actions(gov.ws, f"soa:{PROJECT}:A.10.4") == [
        ("ana@x.org", "soa.exclude"),
        ("bo@x.org", "soa.approve"),
    ]


def test_a_statement_of_another_project_is_refused(gov) -> None:
    r = gov.call("eve", "POST", "/v1/soa/A.2.2/include", json={}, params={"project": PROJECT})
    assert r.status_code == 403
    # eve acts on her own project, and the organisation's statement needs a grant on all.
    mine = gov.call("eve", "POST", "/v1/soa/A.2.2/include", json={}, params={"project": OTHER})
    assert mine.status_code == 200 and mine.json()["project"] == OTHER
    org = gov.call("bo-admin", "POST", "/v1/soa/A.2.2/include", json={}, params={"project": "*"})
    assert org.status_code == 403
    assert gov.call("root", "GET", "/v1/soa", params={"project": "*"}).json()["project"] == "*"
    bad = gov.call("ana", "POST", "/v1/soa/A.99/exclude", json={"justification": WHY})
    assert bad.status_code == 422 and "not an ISO/IEC 42001 Annex A control" in bad.text


def _upload(gov, label: str, data: bytes, sha256: str, **params: Any) -> Any:
    form = {"control": ["A.2.2", "A.3.3"], "owner": "dpo@x.org", "review_every": "12m"}
    return gov.call(
        label,
        "POST",
        "/v1/evidence/files",
        params=params,
        files={"file": ("ai-policy.md", io.BytesIO(data), "text/markdown")},
        data={**form, "sha256": sha256, "note": "AI policy"},
    )


def _stored(gov) -> tuple[int, int, list[str]]:
    with gov.ws.db.session() as s:
        rows = s.scalar(select(func.count()).select_from(ExternalEvidence)) or 0
    uploads = gov.ws.settings.state_dir / "uploads"
    left = sorted(p.name for p in uploads.iterdir()) if uploads.exists() else []
    return rows, event_count(gov.ws.db), left


def test_an_upload_with_a_wrong_sha256_is_refused_and_nothing_is_stored(gov) -> None:
    data = b"# AI policy\nWe keep one.\n"
    before = _stored(gov)
    r = _upload(gov, "ana", data, hashlib.sha256(b"another file").hexdigest())
    assert r.status_code == 422, r.text
    assert "ai-policy.md" in r.json()["detail"] and "send it again" in r.json()["detail"]
    assert _stored(gov) == before
    assert not gov.ws.artifacts.exists(hashlib.sha256(data).hexdigest())


def test_a_document_is_uploaded_reviewed_approved_by_another_and_removed(gov) -> None:
    data = b"# Raising concerns\nWrite to ethics@x.org.\n"
    digest = hashlib.sha256(data).hexdigest()
    r = _upload(gov, "ana", data, digest)
    assert r.status_code == 201, r.text
    rows = r.json()
    assert [p["control"] for p in rows] == ["A.2.2", "A.3.3"]
    assert {(p["sha256"], p["name"], p["added_by"]) for p in rows} == {
        (digest, "ai-policy.md", "ana@x.org")
    }
    assert gov.ws.artifacts.get_bytes(digest) == data
    first = rows[0]["id"]

    listed = gov.call("bo-viewer", "GET", "/v1/evidence", params={"control": "A.3.3"}).json()
    assert [p["id"] for p in listed] == [rows[1]["id"]]
    assert gov.call("ana2", "POST", f"/v1/evidence/{first}/approve").status_code == 403
    agent = gov.call("bot-approver", "POST", f"/v1/evidence/{first}/approve")
    assert agent.status_code == 403 and "agent" in agent.json()["detail"]
    ok = gov.call("bo-approver", "POST", f"/v1/evidence/{first}/approve")
    assert ok.status_code == 200 and ok.json()["approved_by"] == "bo@x.org"
    seen = gov.call("bot", "POST", f"/v1/evidence/{first}/review", json={"note": "current"})
    assert seen.status_code == 200, seen.text
    # Another project's caller learns nothing of it.
    hidden = gov.call("eve", "POST", f"/v1/evidence/{first}/remove", json={"reason": "x"})
    assert hidden.status_code == 404
    assert gov.call("eve", "GET", "/v1/evidence", params={"project": OTHER}).json() == []
    gone = gov.call("ana", "POST", f"/v1/evidence/{first}/remove", json={"reason": "superseded"})
    assert gone.status_code == 200 and gone.json()["removed_by"] == "ana@x.org"
    again = gov.call("ana", "POST", f"/v1/evidence/{first}/remove", json={"reason": "x"})
    assert again.status_code == 409
    assert _actions(gov.ws, f"evidence:{first}") == [
        ("ana@x.org", "evidence.add"),
        ("bo@x.org", "evidence.approve"),
        ("bot", "evidence.review"),
        ("ana@x.org", "evidence.remove"),
    ]


def test_a_link_is_recorded_with_the_hash_the_client_sends(gov) -> None:
    body = {
        "controls": ["A.4.6"],
        "url": "http://127.0.0.1:1/training-records",
        "sha256": "ab" * 32,
        "size": 123,
        "owner": "hr@x.org",
        "review_every": "6w",
    }
    r = gov.call("ana", "POST", "/v1/evidence/links", json=body)
    assert r.status_code == 201, r.text
    [piece] = r.json()
    assert (piece["kind"], piece["sha256"], piece["size"]) == ("url", "ab" * 32, 123)
    assert piece["review_every_days"] == 42
    bad = gov.call("ana", "POST", "/v1/evidence/links", json={**body, "owner": "hr"})
    assert bad.status_code == 422 and "not an e-mail address" in bad.json()["detail"]


def test_a_review_with_findings_linked_to_an_incident(gov) -> None:
    body = {"kind": "internal-audit", "title": "Q1 audit", "held_on": "2026-01-10"}
    r = gov.call("ana", "POST", "/v1/reviews", json=body)
    assert r.status_code == 201, r.text
    review = r.json()["id"]
    wrong = gov.call("ana", "POST", "/v1/reviews", json={**body, "kind": "chat"})
    assert wrong.status_code == 422 and "internal-audit, management-review" in wrong.text
    finding = {
        "summary": "Drift incident closed without a root cause",
        "owner": "mon@x.org",
        "due": "2020-01-01",
        "control": "A.6.2.6",
        "incident": gov.incidents["m-ev"],
    }
    f = gov.call("bot", "POST", f"/v1/reviews/{review}/findings", json=finding)
    assert f.status_code == 201, f.text
    assert (f.json()["incident"], f.json()["overdue"]) == (gov.incidents["m-ev"], True)
    # eve sees neither the review nor the finding.
    assert (
        gov.call("eve", "POST", f"/v1/reviews/{review}/findings", json=finding).status_code == 404
    )
    closed = gov.call("eve", "POST", f"/v1/findings/{f.json()['id']}/close", json={"note": "x"})
    assert closed.status_code == 404
    done = gov.call("ana", "POST", f"/v1/findings/{f.json()['id']}/close", json={"note": "fixed"})
    assert done.status_code == 200 and done.json()["closed_by"] == "ana@x.org"
    listed = gov.call("bo-viewer", "GET", "/v1/reviews").json()
    mine = next(x for x in listed if x["id"] == review)
    assert [x["status"] for x in mine["findings"]] == ["closed"]


def test_the_pack_is_a_zip_that_verifies_offline(gov, tmp_path: Path) -> None:
    from aims.services.evidence_pack import verify_pack

    r = gov.call("bo-viewer", "GET", "/v1/reports/pack", params={"standard": "iso42001"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert "evidence-pack-iso42001.zip" in r.headers["content-disposition"]
    pack = tmp_path / "pack.zip"
    pack.write_bytes(r.content)
    checked = verify_pack(pack)
    assert checked["ok"] is True, checked["problems"]
    with zipfile.ZipFile(pack) as zf:
        assert "statement-of-applicability.json" in zf.namelist()
    # Nothing is left in the server's scratch folder once the pack was sent.
    assert list((gov.ws.settings.state_dir / "packs").iterdir()) == []
    refused = gov.call("eve", "GET", "/v1/reports/pack", params={"project": PROJECT})
    assert refused.status_code == 403


def test_rows_written_through_the_api_are_anchored(gov) -> None:
    from aims.services import anchors, audit

    found = anchors.unanchored(gov.ws.db, audit.chain_key_of(gov.ws.db, create=False))
    assert [f for f in found if f["table"] in ("applicability", "external_evidence")] == []
    with gov.ws.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Applicability))
