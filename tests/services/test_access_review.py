"""The access review, key rotation and the count of usable keys, against a real store."""

from __future__ import annotations

import datetime as dt

import pytest

from aims.errors import Conflict, PermissionDenied
from aims.services import audit, identity, keys, registry
from aims.services.access_review import access_review
from aims.storage.schema import Grant, Principal


@pytest.fixture
def team(workspace, cancer_files):
    """root (standing admin everywhere), ana (acts, through her key too), bo (never
    acts), bot (an agent whose owner cy is disabled), legacy (a service without owner)."""
    ws = workspace
    identity.add_principal(ws, "root", kind="human", actor="setup")
    identity.grant(ws, "root", role="admin", project="*", actor="setup")
    for name, role in (("ana", "scientist"), ("bo", "approver"), ("cy", "scientist")):
        identity.add_principal(ws, name, kind="human", actor="root")
        identity.grant(ws, name, role=role, project="default", actor="root")
    identity.add_principal(ws, "bot", kind="agent", owner="cy", actor="root")
    identity.grant(ws, "bot", role="scientist", project="default", actor="root")
    ana_key = keys.create_key(
        ws, project="default", role="scientist", actor="root", principal="ana"
    )
    bot_key = keys.create_key(
        ws, project="default", role="scientist", actor="root", principal="bot"
    )
    identity.disable_principal(ws, "cy", actor="root")
    with ws.db.session() as s:  # as an older release could leave it: a service with no owner
        legacy = Principal(
            name="legacy", kind="service", created_by="old", created_at=audit.now_utc()
        )
        s.add(legacy)
        s.flush()
        s.add(
            Grant(
                principal_id=legacy.id,
                project="other",
                role="viewer",
                created_by="old",
                created_at=audit.now_utc(),
            )
        )
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor="ana")
    registry.register_model(
        ws,
        cancer_files["model"],
        "m",
        actor=f"apikey:{ana_key[0]['key_id']}",
        datasets=["cancer@1"],
    )
    return {"ws": ws, "ana_key": ana_key[0]["key_id"], "bot_key": bot_key[0]["key_id"]}


def rules(review: dict) -> list[tuple[str, str]]:
    return sorted((f["rule"], f["principal"]) for f in review["findings"])


def test_the_review_lists_everyone_and_what_to_act_on(team) -> None:
    ws = team["ws"]
    soon = access_review(ws, now=audit.now_utc() + dt.timedelta(days=29))
    assert rules(soon) == [
        ("grant.standing_admin", "root"),
        ("owner.disabled", "bot"),
        ("owner.missing", "legacy"),
    ]
    people = {p["name"]: p for p in soon["principals"]}
    assert set(people) == {"root", "ana", "bo", "cy", "bot", "legacy"}
    assert people["bot"]["kind"] == "agent" and people["bot"]["owner"] == "cy"
    assert people["cy"]["status"] == "disabled"
    ana = people["ana"]
    # Her own acts and her key's act count as use of the grant; bo never acted.
    assert ana["grants"][0]["last_used"] is not None
    assert ana["keys"][0]["key_id"] == team["ana_key"] and ana["keys"][0]["last_used"]
    assert people["bo"]["grants"][0]["last_used"] is None
    assert soon["summary"]["owner.missing"] == 1 and soon["summary"]["grant.unused"] == 0
    later = access_review(ws, now=audit.now_utc() + dt.timedelta(days=100))
    assert ("key.rotation", "ana") in rules(later) and ("key.rotation", "bot") in rules(later)
    unused = {
        f["principal"]: f["message"] for f in later["findings"] if f["rule"] == "grant.unused"
    }
    assert set(unused) == {"root", "ana", "bo", "bot", "legacy"}
    assert "is last used 20" in unused["ana"] and "is never used" in unused["bo"]
    rotate = [f["message"] for f in later["findings"] if f["rule"] == "key.rotation"]
    assert any(f"aims keys rotate {team['ana_key']}" in m for m in rotate)


def test_the_review_of_a_project_shows_who_may_act_on_it(team) -> None:
    review = access_review(team["ws"], project="other")
    assert sorted(p["name"] for p in review["principals"]) == ["legacy", "root"]
    assert review["project"] == "other"


def test_a_rotated_key_is_replaced_and_the_old_one_ends_after_the_overlap(team) -> None:
    ws = team["ws"]
    old_id = team["ana_key"]
    before = {k["key_id"]: k for k in keys.list_keys(ws)}[old_id]
    info, secret = keys.rotate_key(ws, old_id, actor="root", overlap_seconds=3600)
    assert info["rotated_from"] == old_id and info["principal"] == "ana"
    assert (info["project"], info["role"]) == ("default", "scientist")
    assert keys.verify_key(ws, secret)["key_id"] == info["key_id"]
    lifetime = before["expires_at"] - before["created_at"] if before["expires_at"] else None
    assert lifetime is None and info["expires_at"] is None
    assert 3590 < (info["old_expires_at"] - info["created_at"]).total_seconds() <= 3600
    event = audit.query(ws.db, audit.EventFilter(action="apikey.rotate"))[-1]
    assert event["actor"] == "root" and event["payload"]["new_key"] == info["key_id"]
    assert {k["key_id"] for k in keys.list_keys(ws)} >= {old_id, info["key_id"]}
    # With no overlap the old key stops at once; an inactive key is not rotated.
    _, newest = keys.rotate_key(ws, info["key_id"], actor="root", overlap_seconds=0)
    with pytest.raises(PermissionDenied, match="is expired"):
        keys.verify_key(ws, secret)
    with pytest.raises(Conflict, match="only an active key is rotated"):
        keys.rotate_key(ws, info["key_id"], actor="root")
    assert keys.verify_key(ws, newest)["principal"] == "ana"


def test_suspended_keys_do_not_count_as_active(team) -> None:
    ws = team["ws"]
    # Both keys are usable; once their principals are disabled, neither counts.
    assert keys.active_key_count(ws) == 2
    identity.disable_principal(ws, "bot", actor="root")
    identity.disable_principal(ws, "ana", actor="root")
    assert [k["status"] for k in keys.list_keys(ws, include_inactive=True)] == [
        "suspended",
        "suspended",
    ]
    assert keys.active_key_count(ws) == 0


def test_the_evidence_report_uses_the_review(team) -> None:
    from aims.services import evidence

    ws = team["ws"]
    iso = evidence.compliance_report(ws, "iso42001", scope="all")
    people = iso.result("A.4.6")
    assert people.status == "partial"
    gaps = " ".join(people.gaps)
    assert "owner.missing: service legacy has no human owner" in gaps
    assert "grant.standing_admin: root holds admin on *" in gaps
    assert iso.status("A.3.2") == "partial"
    nist = evidence.compliance_report(ws, "nist-ai-rmf", scope="all")
    assert "owner.disabled: agent bot is owned by cy" in " ".join(nist.result("GOVERN 2").gaps)
