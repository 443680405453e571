"""Principals, grants and the keys that act for them, on a real SQLite workspace."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from aims.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from aims.services import audit, governance, identity, keys, registry, team_mode
from aims.storage.schema import Approval, AuditEvent, Principal
from aims.workspace import Workspace, init_workspace

POLICY = {
    "default_tier": "high",
    "tiers": {
        "minimal": {},
        "limited": {},
        "high": {"approvals": {"count": 1, "roles": ["approver"], "four_eyes": True}},
        "unacceptable": {"prohibited": True},
    },
}


def events(ws: Workspace) -> int:
    return audit.event_count(ws.db)


@pytest.fixture
def ws(tmp_path: Path, cancer_files) -> Workspace:
    root = init_workspace(tmp_path / "ws", "credit")
    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["policy"] = POLICY
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    ws = Workspace.open(root)
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor="ana@x.org")
    yield ws
    ws.close()


def people(ws: Workspace) -> None:
    identity.add_principal(ws, "ana@x.org", kind="human", email="ana@x.org", actor="root")
    identity.add_principal(ws, "bo@x.org", kind="human", actor="root")
    identity.add_principal(ws, "bot", kind="agent", owner="ana@x.org", actor="root")
    identity.grant(ws, "ana@x.org", role="approver", project="credit", actor="root")
    identity.grant(ws, "bo@x.org", role="approver", project="credit", actor="root")
    identity.grant(ws, "bot", role="scientist", project="credit", actor="root")


def test_services_and_agents_need_an_enabled_human_owner(ws) -> None:
    identity.add_principal(ws, "ana@x.org", kind="human", actor="root")
    before = events(ws)
    with pytest.raises(InvalidInput, match="needs a human owner"):
        identity.add_principal(ws, "bot", kind="agent", actor="root")
    with pytest.raises(NotFound, match="'zed' does not exist"):
        identity.add_principal(ws, "bot", kind="agent", owner="zed", actor="root")
    with pytest.raises(InvalidInput, match="kind 'robot' is unknown"):
        identity.add_principal(ws, "bot", kind="robot", owner="ana@x.org", actor="root")
    with pytest.raises(InvalidInput, match="looks like an API key id"):
        identity.add_principal(ws, "k0123456789ab", kind="human", actor="root")
    identity.add_principal(ws, "svc", kind="service", owner="ana@x.org", actor="root")
    with pytest.raises(InvalidInput, match="must be an enabled human"):
        identity.add_principal(ws, "bot", kind="agent", owner="svc", actor="root")
    identity.disable_principal(ws, "ana@x.org", actor="root")
    with pytest.raises(InvalidInput, match="disabled human"):
        identity.add_principal(ws, "bot", kind="agent", owner="ana@x.org", actor="root")
    with pytest.raises(Conflict):
        identity.add_principal(ws, "svc", kind="human", actor="root")
    # Two changes went through (the service and the disabling); the refusals wrote nothing.
    assert events(ws) == before + 2
    listed = {p["name"]: p for p in identity.list_principals(ws)}
    assert listed["svc"]["owner"] == "ana@x.org"
    assert listed["ana@x.org"]["status"] == "disabled"
    assert [p["name"] for p in identity.list_principals(ws, include_disabled=False)] == ["svc"]


def test_a_key_may_narrow_its_principals_grant_but_never_widen_it(ws) -> None:
    people(ws)
    before = events(ws)
    with pytest.raises(PermissionDenied, match="never widen"):
        keys.create_key(ws, project="credit", role="operator", actor="root", principal="bo@x.org")
    with pytest.raises(PermissionDenied, match="holds no grant on project fraud"):
        keys.create_key(ws, project="fraud", role="viewer", actor="root", principal="bo@x.org")
    with pytest.raises(PermissionDenied, match="no grant on project \\*"):
        keys.create_key(ws, project="*", role="viewer", actor="root", principal="bo@x.org")
    assert events(ws) == before and keys.list_keys(ws) == []
    info, key = keys.create_key(
        ws, project="credit", role="viewer", actor="root", principal="bo@x.org"
    )
    assert info["principal"] == "bo@x.org"
    assert keys.verify_key(ws, key)["role"] == "viewer"


def test_the_role_a_key_acts_with_follows_its_principals_grant_now(ws) -> None:
    people(ws)
    _, key = keys.create_key(
        ws, project="credit", role="approver", actor="root", principal="bo@x.org"
    )
    assert keys.verify_key(ws, key)["role"] == "approver"
    identity.grant(ws, "bo@x.org", role="predictor", project="credit", actor="root")
    assert keys.verify_key(ws, key)["role"] == "predictor"  # min(key, grant)
    identity.grant(ws, "bo@x.org", role="admin", project="*", actor="root")
    assert keys.verify_key(ws, key)["role"] == "approver"  # never above the key's own
    identity.revoke_grant(ws, "bo@x.org", project="*", actor="root")
    identity.revoke_grant(ws, "bo@x.org", project="credit", actor="root")
    key_id = keys.split_key(key)[0]
    assert key_id in keys.revoked_key_ids(ws)
    with pytest.raises(PermissionDenied, match="holds no grant on project credit"):
        keys.verify_key(ws, key)


def test_a_disabled_principals_keys_are_refused_at_once(ws) -> None:
    people(ws)
    _, key = keys.create_key(ws, project="credit", role="scientist", actor="root", principal="bot")
    assert keys.verify_key(ws, key)["principal"] == "bot"
    identity.disable_principal(ws, "bot", actor="root", reason="left the project")
    with pytest.raises(PermissionDenied, match="bot, who is disabled"):
        keys.verify_key(ws, key)
    assert keys.split_key(key)[0] in keys.revoked_key_ids(ws)
    with pytest.raises(Conflict):
        identity.disable_principal(ws, "bot", actor="root")


def test_agents_are_never_granted_approval_rights(ws) -> None:
    people(ws)
    before = events(ws)
    with pytest.raises(InvalidInput, match="agents never approve"):
        identity.grant(ws, "bot", role="approver", project="credit", actor="root")
    assert events(ws) == before


def register(ws: Workspace, cancer_files, actor: str) -> None:
    registry.register_model(ws, cancer_files["model"], "cancer", actor=actor, datasets=["cancer@1"])


def test_a_registrant_approving_with_a_second_key_of_her_own_is_refused(ws, cancer_files):
    people(ws)
    _, first = keys.create_key(
        ws, project="credit", role="scientist", actor="root", principal="ana@x.org"
    )
    _, second = keys.create_key(
        ws, project="credit", role="approver", actor="root", principal="ana@x.org"
    )
    first_id, second_id = keys.split_key(first)[0], keys.split_key(second)[0]
    register(ws, cancer_files, f"apikey:{first_id}")
    # Through the second key (as the server records it), and as a dashboard session names it.
    for actor in (f"apikey:{second_id}", second_id, "ana@x.org"):
        with pytest.raises(PermissionDenied, match=r"ana@x\.org registered cancer@1"):
            governance.approve(ws, "cancer@1", actor=actor)
    with ws.db.session() as s:
        assert s.scalars(select(Approval)).all() == []
        refused = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "model.approve.refused")
        ).all()
        assert [e.actor for e in refused] == ["ana@x.org"] * 3
    out = governance.approve(ws, "cancer@1", actor="bo@x.org")
    assert out["approved_by"] == "bo@x.org" and "approver" in out["roles"]
    gates = governance.gates(ws, "cancer@1", "production")
    assert gates["passed"], gates["rules"]


def test_an_agent_cannot_approve(ws, cancer_files) -> None:
    people(ws)
    _, key = keys.create_key(ws, project="credit", role="scientist", actor="root", principal="bot")
    register(ws, cancer_files, "bo@x.org")
    for actor in ("bot", f"apikey:{keys.split_key(key)[0]}"):
        with pytest.raises(PermissionDenied, match="bot is an agent, and agents never approve"):
            governance.approve(ws, "cancer@1", actor=actor)
    with ws.db.session() as s:
        assert s.scalars(select(Approval)).all() == []


def test_two_keys_of_one_approver_count_once(ws, cancer_files) -> None:
    people(ws)
    identity.add_principal(ws, "cy@x.org", kind="human", actor="root")
    register(ws, cancer_files, "cy@x.org")
    one = keys.create_key(ws, project="credit", role="approver", actor="r", principal="bo@x.org")
    two = keys.create_key(ws, project="credit", role="approver", actor="r", principal="bo@x.org")
    governance.approve(ws, "cancer@1", actor=f"apikey:{keys.split_key(one[1])[0]}")
    with pytest.raises(Conflict, match=r"bo@x\.org has already approved"):
        governance.approve(ws, "cancer@1", actor=f"apikey:{keys.split_key(two[1])[0]}")
    with ws.db.session() as s:
        rows = s.scalars(select(Approval)).all()
        assert [(a.actor, "approver" in (a.role or "")) for a in rows] == [("bo@x.org", True)]


def test_an_approver_role_comes_from_the_grant_on_the_models_project(ws, cancer_files) -> None:
    identity.add_principal(ws, "dee@x.org", kind="human", actor="root")
    identity.grant(ws, "dee@x.org", role="approver", project="fraud", actor="root")
    register(ws, cancer_files, "ana@x.org")
    out = governance.approve(ws, "cancer@1", actor="dee@x.org")
    assert "approver" not in out["roles"]  # a grant on another project does not count
    rules = {r["rule"]: r for r in governance.gates(ws, "cancer@1", "production")["rules"]}
    assert not rules["approvals.role.approver"]["passed"]


def test_in_local_mode_a_new_actor_becomes_a_human_principal(ws, cancer_files) -> None:
    register(ws, cancer_files, "ana@x.org")
    governance.approve(ws, "cancer@1", actor="eve@x.org")
    with ws.db.session() as s:
        eve = s.scalar(select(Principal).where(Principal.name == "eve@x.org"))
        assert eve is not None and eve.kind == "human"


def test_team_enable_turns_actors_and_keys_into_principals_without_rewriting_the_chain(
    ws, cancer_files, monkeypatch
) -> None:
    register(ws, cancer_files, "ana@x.org")
    governance.approve(ws, "cancer@1", actor="bo@x.org")
    info, legacy = keys.create_key(ws, project="credit", role="predictor", actor="ana@x.org")
    assert info["principal"] is None
    with ws.db.session() as s:
        old = [(e.seq, e.hash) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]

    monkeypatch.setenv("AIMS_IDENTITY", "team")
    # In team mode, a key that belongs to no principal is refused until it is attached.
    with pytest.raises(PermissionDenied, match="belongs to no principal"):
        keys.verify_key(ws, legacy)
    out = team_mode.enable_team(ws, actor="root@x.org")
    # bo became a principal when approving in local mode; ana only now, from the history.
    assert out["principals"] == ["ana@x.org"]
    assert out["keys"] == [
        {"key_id": info["key_id"], "principal": f"apikey:{info['key_id']}", "owner": "ana@x.org"}
    ]
    assert keys.verify_key(ws, legacy)["role"] == "predictor"
    listed = {p["name"]: p for p in identity.list_principals(ws)}
    assert {"ana@x.org", "bo@x.org", "root@x.org"} <= set(listed)
    assert listed["root@x.org"]["grants"] == {"*": "admin"}
    assert listed[f"apikey:{info['key_id']}"]["kind"] == "service"
    report = audit.verify(ws.db)
    assert report.ok, report.problem
    with ws.db.session() as s:
        now = [(e.seq, e.hash) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert now[: len(old)] == old and len(now) > len(old)
    # In team mode an unknown name cannot approve (only principals act).
    with pytest.raises(PermissionDenied, match="not a principal"):
        governance.approve(ws, "cancer@1", actor="zoe@x.org")


def test_identity_mode_is_read_from_the_setting_and_the_variable(ws, monkeypatch) -> None:
    assert identity.identity_mode(ws) == "local"
    monkeypatch.setenv("AIMS_IDENTITY", "teams")
    with pytest.raises(InvalidInput, match="AIMS_IDENTITY is 'teams'; use 'local' or 'team'"):
        identity.identity_mode(ws)
    monkeypatch.delenv("AIMS_IDENTITY")
    config = yaml.safe_load((ws.root / "aims.yaml").read_text())
    config["identity"] = "team"
    (ws.root / "aims.yaml").write_text(yaml.safe_dump(config))
    assert identity.identity_mode(Workspace.open(ws.root)) == "team"


def test_a_time_bound_grant_lapses_by_itself(ws) -> None:
    identity.add_principal(ws, "bo@x.org", kind="human", actor="root")
    soon = audit.now_utc() + dt.timedelta(hours=1)
    identity.grant(ws, "bo@x.org", role="operator", project="credit", actor="r", expires_at=soon)
    with ws.db.session() as s:
        bo = s.scalar(select(Principal).where(Principal.name == "bo@x.org"))
        assert identity.grant_role(s, bo, "credit") == "operator"
        later = soon + dt.timedelta(seconds=1)
        assert identity.active_grants(s, bo.id, later) == []
    with pytest.raises(InvalidInput, match="in the past"):
        identity.grant(
            ws,
            "bo@x.org",
            role="viewer",
            project="credit",
            actor="r",
            expires_at=audit.now_utc() - dt.timedelta(seconds=1),
        )


def test_in_team_mode_an_owner_must_be_a_principal_with_a_grant(
    ws, cancer_files, monkeypatch
) -> None:
    config = yaml.safe_load((ws.root / "aims.yaml").read_text())
    config["policy"]["tiers"]["high"]["owners"] = ["deployment"]
    (ws.root / "aims.yaml").write_text(yaml.safe_dump(config))
    registry.register_model(
        ws,
        cancer_files["model"],
        "cancer",
        actor="ana@x.org",
        datasets=["cancer@1"],
        owners={"deployment": "dev@x.org"},
    )

    def owner_rule() -> dict:
        rules = governance.gates(ws, "cancer@1", "production")["rules"]
        return next(r for r in rules if r["rule"] == "owners.deployment")

    assert owner_rule()["passed"]  # local mode: any name will do, as before
    monkeypatch.setenv("AIMS_IDENTITY", "team")
    rule = owner_rule()
    assert not rule["passed"] and "dev@x.org is not an enabled principal" in rule["message"]
    identity.add_principal(ws, "dev", kind="human", email="dev@x.org", actor="root")
    assert not owner_rule()["passed"]  # known, but no grant on the project
    identity.grant(ws, "dev", role="viewer", project="credit", actor="root")
    assert owner_rule()["passed"]
    identity.disable_principal(ws, "dev", actor="root")
    assert not owner_rule()["passed"]


def test_a_principal_taken_for_a_human_can_be_re_kinded(ws) -> None:
    people(ws)
    identity.add_principal(ws, "ci-runner", kind="human", actor="root")
    with pytest.raises(InvalidInput, match="needs a human owner"):
        identity.set_kind(ws, "ci-runner", kind="service", actor="root")
    out = identity.set_kind(ws, "ci-runner", kind="service", owner="bo@x.org", actor="root")
    assert (out["kind"], out["owner"]) == ("service", "bo@x.org")
    before = events(ws)
    with pytest.raises(InvalidInput, match="approver@credit and agents never approve"):
        identity.set_kind(ws, "ana@x.org", kind="agent", owner="bo@x.org", actor="root")
    with pytest.raises(InvalidInput, match="another enabled human"):
        identity.set_kind(ws, "ci-runner", kind="agent", owner="ci-runner", actor="root")
    assert events(ws) == before
