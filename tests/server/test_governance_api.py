"""Governance acts over real HTTP in team mode: the actor is always the token's principal.

One workspace and one server for the module (see :mod:`tests.server.governed`);
each test works on a model of its own, so no test depends on another's acts.
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from aims.services import audit
from aims.storage.schema import Approval, AuditEvent
from tests.server.governed import governed, open_incident, snapshot
from tests.ui.test_access import csrf_of, login

MODELS = {"m-user": 1, "m-4eyes": 1, "m-agent": 1, "m-promo": 2, "m-inc": 1, "m-risk": 1}
MODELS |= {"m-labels": 1, "m-card": 1}


@pytest.fixture(scope="module")
def gov(tmp_path_factory: pytest.TempPathFactory, tiny_files: dict[str, Any]):
    root = tmp_path_factory.mktemp("govapi") / "ws"
    with governed(root, tiny_files, MODELS, real=("ana", "ana2", "spare")) as g:
        g.incidents["m-inc"] = open_incident(g.ws, "m-inc")
        yield g


def approvals(ws: Any, model: str) -> list[str]:
    from aims.storage.schema import Model, ModelVersion

    with ws.db.session() as s:
        return list(
            s.scalars(
                select(Approval.actor)
                .join(ModelVersion, ModelVersion.id == Approval.model_version_id)
                .join(Model, Model.id == ModelVersion.model_id)
                .where(Model.name == model)
            )
        )


def events(ws: Any, subject: str) -> list[tuple[str, str]]:
    with ws.db.session() as s:
        rows = s.execute(
            select(AuditEvent.actor, AuditEvent.action)
            .where(AuditEvent.subject.like(f"{subject}%"))
            .order_by(AuditEvent.seq)
        ).all()
    return [tuple(r) for r in rows]


def test_aims_user_changes_nothing_the_actor_is_the_tokens_principal(gov, monkeypatch) -> None:
    monkeypatch.setenv("AIMS_USER", "mallory@x.org")
    r = gov.call("bo-approver", "POST", "/v1/models/m-user/versions/1/approvals", json={})
    assert r.status_code == 200, r.text
    assert r.json()["approved_by"] == "bo@x.org"
    assert approvals(gov.ws, "m-user") == ["bo@x.org"]
    assert ("bo@x.org", "model.approve") in events(gov.ws, "model:m-user@1")
    assert not any("mallory" in actor for actor, _ in events(gov.ws, "model:m-user"))


def test_the_registrant_cannot_approve_through_the_api_or_the_dashboard(gov) -> None:
    # ana registered m-4eyes through her first key; her second key is an approver's.
    r = gov.call("ana2", "POST", "/v1/models/m-4eyes/versions/1/approvals", json={"note": "mine"})
    assert r.status_code == 403
    assert "ana@x.org registered m-4eyes@1 and may not approve it" in r.json()["detail"]
    assert ("ana@x.org", "model.approve.refused") in events(gov.ws, "model:m-4eyes@1")
    with httpx.Client(base_url=gov.url, timeout=30) as browser:
        assert login(browser, gov.keys["ana2"]).status_code == 303
        page = browser.post(
            "/ui/models/m-4eyes/versions/1/approve",
            data={"note": "mine", "csrf": csrf_of(browser, "/ui/models/m-4eyes")},
        )
        assert page.status_code == 403
        assert "ana@x.org registered m-4eyes@1 and may not approve it" in page.text
    assert approvals(gov.ws, "m-4eyes") == []
    r = gov.call("bo-approver", "POST", "/v1/models/m-4eyes/versions/1/approvals", json={})
    assert r.status_code == 200 and r.json()["approvals"] == 1
    assert approvals(gov.ws, "m-4eyes") == ["bo@x.org"]


def test_an_agent_can_never_approve(gov) -> None:
    before = snapshot(gov.ws)
    r = gov.call("bot", "POST", "/v1/models/m-agent/versions/1/approvals", json={})
    assert r.status_code == 403
    assert r.json()["code"] == "permission_denied"
    assert snapshot(gov.ws) == before
    assert approvals(gov.ws, "m-agent") == []


def test_promote_and_rollback(gov) -> None:
    base = "/v1/models/m-promo"
    r = gov.call("bo-operator", "POST", f"{base}/versions/1/promotions", json={"reason": "first"})
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "production"
    again = gov.call("bo-operator", "POST", f"{base}/versions/1/promotions", json={})
    assert again.status_code == 409
    # Overriding the policy is an admin's act, not an operator's.
    refused = gov.call(
        "bo-operator",
        "POST",
        f"{base}/versions/2/promotions",
        json={"override": True, "reason": "trust me"},
    )
    assert refused.status_code == 403
    r = gov.call("bo-operator", "POST", f"{base}/versions/2/promotions", json={"reason": "better"})
    assert r.status_code == 200 and r.json()["version"] == 2
    r = gov.call("bo-operator", "POST", f"{base}/rollback", json={"reason": "worse after all"})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and r.json()["stage"] == "production"
    history = gov.call("bo-viewer", "GET", f"{base}/history").json()
    assert [(h["version"], h["to"]) for h in history][-2:] == [(2, "archived"), (1, "production")]
    assert {h["actor"] for h in history} == {"bo@x.org"}
    gates = gov.call("bo-viewer", "GET", f"{base}/versions/2/gates", params={"stage": "production"})
    assert gates.status_code == 200 and gates.json()["passed"] is True


def test_incidents_acknowledge_and_resolve(gov) -> None:
    incident = gov.incidents["m-inc"]
    url = f"/v1/incidents/{incident}"
    assert gov.call("bo-viewer", "GET", url).json()["status"] == "open"
    listed = gov.call("bo-viewer", "GET", "/v1/incidents", params={"model": "m-inc"}).json()
    assert [i["id"] for i in listed] == [incident]
    assert gov.call("bo-viewer", "POST", f"{url}/acknowledge", json={}).status_code == 403
    r = gov.call("bo-scientist", "POST", f"{url}/acknowledge", json={"note": "on it"})
    assert r.status_code == 200 and r.json()["acked_by"] == "bo@x.org"
    assert gov.call("bo-scientist", "POST", f"{url}/acknowledge", json={}).status_code == 409
    before = snapshot(gov.ws)
    empty = gov.call("bo-scientist", "POST", f"{url}/resolve", json={"note": "  "})
    assert empty.status_code == 422 and "needs a note" in empty.json()["detail"]
    assert snapshot(gov.ws) == before
    r = gov.call("bo-scientist", "POST", f"{url}/resolve", json={"note": "root cause: x"})
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["resolved_by"]) == ("resolved", "bo@x.org")
    assert ("bo@x.org", "incident.resolve") in events(gov.ws, "model:m-inc")


def test_keys_created_through_the_api_never_exceed_the_principals_grant(gov) -> None:
    before = snapshot(gov.ws)
    # ana holds approver on credit: an operator key for her would widen her grant.
    wider = gov.call(
        "bo-admin",
        "POST",
        "/v1/keys",
        json={"project": "credit", "role": "operator", "principal": "ana@x.org"},
    )
    assert wider.status_code == 403 and "never widen it" in wider.json()["detail"]
    # bo is admin of credit only: no key for every project.
    everywhere = gov.call("bo-admin", "POST", "/v1/keys", json={"project": "*", "role": "viewer"})
    assert everywhere.status_code == 403
    assert snapshot(gov.ws) == before
    made = gov.call(
        "bo-admin",
        "POST",
        "/v1/keys",
        json={"project": "credit", "principal": "ana@x.org", "name": "ana's laptop"},
    )
    assert made.status_code == 201, made.text
    key = made.json()
    assert (key["role"], key["principal"], key["created_by"]) == (
        "approver",
        "ana@x.org",
        "bo@x.org",
    )
    token = httpx.post(f"{gov.url}/v1/auth/token", json={"api_key": key["api_key"]}, timeout=30)
    assert token.status_code == 200 and token.json()["role"] == "approver"
    listed = gov.call("bo-admin", "GET", "/v1/keys").json()
    assert key["key_id"] in {k["key_id"] for k in listed}
    assert all(k["project"] == "credit" for k in listed)
    assert all("api_key" not in k for k in listed)
    revoked = gov.call(
        "bo-admin", "POST", f"/v1/keys/{key['key_id']}/revoke", json={"reason": "lost"}
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    again = httpx.post(f"{gov.url}/v1/auth/token", json={"api_key": key["api_key"]}, timeout=30)
    assert again.status_code == 401


def test_principals_are_managed_by_an_admin_of_every_project(gov) -> None:
    new = {"name": "cy@x.org", "kind": "human", "email": "cy@x.org"}
    assert gov.call("bo-admin", "POST", "/v1/principals", json=new).status_code == 403
    r = gov.call("root", "POST", "/v1/principals", json=new)
    assert r.status_code == 201 and r.json()["created_by"] == "root@x.org"
    assert gov.call("root", "POST", "/v1/principals", json=new).status_code == 409
    # A grant on credit is credit's admin's to give, not on another project.
    r = gov.call(
        "bo-admin", "PUT", "/v1/principals/cy@x.org/grants/credit", json={"role": "viewer"}
    )
    assert r.status_code == 200 and r.json()["grants"] == {"credit": "viewer"}
    other = gov.call(
        "bo-admin", "PUT", "/v1/principals/cy@x.org/grants/other", json={"role": "viewer"}
    )
    assert other.status_code == 403
    r = gov.call("bo-admin", "DELETE", "/v1/principals/cy@x.org/grants/credit")
    assert r.status_code == 200 and r.json()["grants"] == {}
    r = gov.call("root", "POST", "/v1/principals/cy@x.org/disable", json={"reason": "left"})
    assert r.status_code == 200 and r.json()["status"] == "disabled"
    names = {p["name"] for p in gov.call("root", "GET", "/v1/principals").json()}
    assert {"ana@x.org", "bo@x.org", "bot", "cy@x.org"} <= names


def test_risk_assessment_through_the_api(gov, tiny_files) -> None:
    from aims.server.governance.decisions import RISK_EXAMPLE

    url = "/v1/models/m-risk/risk"
    assert gov.call("bo-viewer", "GET", url).status_code == 404
    before = snapshot(gov.ws)
    bad = gov.call("bo-scientist", "POST", url, json={**RISK_EXAMPLE, "risk_tier": "huge"})
    assert bad.status_code == 422 and "risk_tier" in bad.json()["detail"]
    assert snapshot(gov.ws) == before
    r = gov.call("bo-scientist", "POST", url, json=RISK_EXAMPLE)
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["assessed_by"]) == (1, "bo@x.org")
    assert gov.call("bo-viewer", "GET", url).json()["tier"] == "high"
    listed = gov.call("bo-viewer", "GET", "/v1/risk").json()
    assert {"m-risk": "high"}.items() <= {x["model"]: x["tier"] for x in listed}.items()


def test_labels_from_a_file(gov, tmp_path) -> None:
    data = b"prediction_id,label\nnot-logged,1\n"
    form = {"model": "m-labels", "sha256": hashlib.sha256(data).hexdigest()}
    r = gov.call(
        "bo-predictor", "POST", "/v1/labels/files", data=form, files={"file": ("l.csv", data)}
    )
    assert r.status_code == 200, r.text
    assert r.json()["received"] == 1 and r.json()["model"] == "m-labels"
    before = snapshot(gov.ws)
    wrong = gov.call(
        "bo-predictor",
        "POST",
        "/v1/labels/files",
        data={**form, "sha256": "0" * 64},
        files={"file": ("l.csv", data)},
    )
    assert wrong.status_code == 422
    hidden = gov.call(
        "eve",
        "POST",
        "/v1/labels/files",
        data={"model": "m-labels"},
        files={"file": ("l.csv", data)},
    )
    assert hidden.status_code == 404
    assert snapshot(gov.ws) == before
    assert not list((gov.ws.settings.state_dir / "uploads").rglob("*.csv"))


def test_card_report_windows_and_a_monitor_pass(gov) -> None:
    md = gov.call("bo-viewer", "GET", "/v1/models/m-card/versions/1/card").json()
    assert md["format"] == "markdown" and md["text"].startswith("---")
    html = gov.call(
        "bo-viewer", "GET", "/v1/models/m-card/versions/1/card", params={"format": "html"}
    )
    assert "<html" in html.json()["text"].lower()
    report = gov.call("bo-viewer", "GET", "/v1/reports/compliance").json()
    assert report["controls"] and report["summary"]["total"] == len(report["controls"])
    # The next call walks only what the recorded walk did not cover; full_chain walks it all.
    again = gov.call("bo-viewer", "GET", "/v1/reports/compliance").json()["audit"]
    assert again["ok"] and again["verified_from"] >= report["audit"]["head_seq"] > 0
    whole = gov.call(
        "bo-viewer", "GET", "/v1/reports/compliance", params={"full_chain": "true"}
    ).json()["audit"]
    assert whole["ok"] and whole["verified_from"] == 0
    assert gov.call("bo-viewer", "GET", "/v1/models/m-card/windows").json() == []
    run = gov.call("bo-operator", "POST", "/v1/monitor/runs", json={"models": ["m-card"]})
    assert run.status_code == 200 and run.json()["errors"] == []


def test_audit_paging_reaches_the_first_event(gov) -> None:
    seen: list[int] = []
    after = 0
    while True:
        page = gov.call("root", "GET", "/v1/audit/events", params={"after": after, "limit": 9})
        assert page.status_code == 200
        seqs = [e["seq"] for e in page.json()]
        seen += seqs
        if len(seqs) < 9:
            break
        after = seqs[-1]
    assert seen[0] == 1 and seen == list(range(1, len(seen) + 1))
    assert len(seen) == audit.event_count(gov.ws.db)
    newest = gov.call("root", "GET", "/v1/audit/events", params={"limit": 3}).json()
    assert [e["seq"] for e in newest] == seen[-3:]
    # An operator of credit reads a model of credit, not the whole chain.
    assert gov.call("bo-operator", "GET", "/v1/audit/events").status_code == 403
    mine = gov.call("bo-operator", "GET", "/v1/audit/events", params={"model": "m-card"}).json()
    assert mine and all(e["subject"].startswith("model:m-card") for e in mine)


def test_verify_answers_ok_then_names_a_tampered_row(tmp_path, tiny_files) -> None:
    with governed(tmp_path / "ws", tiny_files, {"m-chain": 1}, real=("ana",)) as g:
        cp = g.call("root", "POST", "/v1/audit/checkpoints")
        assert cp.status_code == 201
        ok = g.call("root", "POST", "/v1/audit/verify", json={"checkpoint": cp.json()["text"]})
        assert ok.status_code == 200 and ok.json()["ok"] is True, ok.text
        assert ok.json()["checkpoint"]["extended"] is True
        key = g.call("bo-viewer", "GET", "/v1/audit/public-key").json()["public_key"]
        assert key == cp.json()["public_key"]
        with g.ws.db.session() as s:
            row = s.scalar(select(AuditEvent).where(AuditEvent.seq == 3))
            row.actor = "someone-else"
        broken = g.call("root", "POST", "/v1/audit/verify", json={})
        assert broken.status_code == 200
        assert broken.json()["ok"] is False
        assert broken.json()["problem"]["seq"] == 3
        assert g.call("root", "POST", "/v1/audit/checkpoints").status_code == 500
