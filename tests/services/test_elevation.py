"""Just-in-time elevation against a real store: asked for, decided by another, lapsing."""

from __future__ import annotations

import pytest
import yaml

from aims.errors import Conflict, InvalidInput, PermissionDenied
from aims.services import audit, elevation, identity, keys, lifecycle, registry
from aims.services.grants import grant_role
from aims.storage.schema import Principal
from aims.workspace import Workspace
from tests.server.conftest import wait_until

OWNERS = {"deployment": "dep@x.org", "monitoring": "mon@x.org"}


def with_access(ws: Workspace, access: dict) -> Workspace:
    """``ws`` reopened with an ``access:`` section in its aims.yaml."""
    path = ws.root / "aims.yaml"
    config = yaml.safe_load(path.read_text())
    config["access"] = access
    path.write_text(yaml.safe_dump(config))
    ws.close()
    return Workspace.open(ws.root)


@pytest.fixture
def people(workspace):
    """ana (scientist), bo (operator), cy (scientist), bot (ana's agent, scientist)."""
    ws = workspace
    for name, role in (("ana", "scientist"), ("bo", "operator"), ("cy", "scientist")):
        identity.add_principal(ws, name, kind="human", actor="root")
        identity.grant(ws, name, role=role, project="default", actor="root")
    identity.add_principal(ws, "bot", kind="agent", owner="ana", actor="root")
    identity.grant(ws, "bot", role="scientist", project="default", actor="root")
    return ws


def role_of(ws: Workspace, name: str, project: str = "default") -> str | None:
    with ws.db.session() as s:
        holder = s.query(Principal).filter_by(name=name).one()
        return grant_role(s, holder, project)


def ask(ws: Workspace, who: str = "ana", seconds: int = 1800, role: str = "operator") -> int:
    return elevation.request_elevation(
        ws, actor=who, role=role, project="default", seconds=seconds, reason="hotfix"
    )["id"]


def test_an_approved_elevation_raises_the_role_and_every_step_is_audited(people) -> None:
    ws = people
    eid = ask(ws)
    assert role_of(ws, "ana") == "scientist"
    assert elevation.list_elevations(ws, status="pending")[0]["principal"] == "ana"
    done = elevation.decide(ws, eid, actor="bo", approve=True, note="go")
    assert done["status"] == "active" and done["decided_by"] == "bo"
    assert (done["ends_at"] - done["starts_at"]).total_seconds() == 1800
    assert role_of(ws, "ana") == "operator"
    events = audit.query(ws.db, audit.EventFilter(subject="principal:ana"))
    actions = [e["action"] for e in events]
    assert actions[-2:] == ["elevation.request", "elevation.approve"]
    assert events[-1]["payload"]["elevation"] == eid and events[-1]["actor"] == "bo"
    elevation.revoke_elevation(ws, eid, actor="ana", reason="done early")
    assert role_of(ws, "ana") == "scientist"
    assert audit.query(ws.db, audit.EventFilter(action="elevation.revoke"))[-1]["actor"] == "ana"


def test_nobody_decides_their_own_request_and_agents_never_approve(people) -> None:
    ws = people
    eid = ask(ws)
    with pytest.raises(PermissionDenied, match=r"asked for elevation \d+ and may not approve"):
        elevation.decide(ws, eid, actor="ana", approve=True)
    with pytest.raises(PermissionDenied, match="agents never approve"):
        elevation.decide(ws, eid, actor="bot", approve=True)
    with pytest.raises(PermissionDenied, match="holds scientist on default; only a principal"):
        elevation.decide(ws, eid, actor="cy", approve=True)
    assert elevation.list_elevations(ws)[0]["status"] == "pending"
    denied = elevation.decide(ws, eid, actor="bo", approve=False, note="not now")
    assert denied["status"] == "denied" and role_of(ws, "ana") == "scientist"
    with pytest.raises(Conflict, match="is denied, not pending"):
        elevation.decide(ws, eid, actor="bo", approve=True)


def test_bad_requests_are_refused_with_the_store_untouched(people) -> None:
    ws = people
    before = audit.query(ws.db, audit.EventFilter())
    with pytest.raises(InvalidInput, match="needs --reason"):
        elevation.request_elevation(
            ws, actor="ana", role="operator", project="default", seconds=60, reason=" "
        )
    with pytest.raises(InvalidInput, match="from 1s to 8:00:00"):
        elevation.request_elevation(
            ws, actor="ana", role="operator", project="default", seconds=9 * 3600, reason="x"
        )
    with pytest.raises(InvalidInput, match="for one project"):
        elevation.request_elevation(
            ws, actor="ana", role="operator", project="*", seconds=60, reason="x"
        )
    # Longer than any date can hold: still the same refusal, not an overflow.
    with pytest.raises(InvalidInput, match=r"from 1s to 8:00:00.*got 10{20}s"):
        elevation.request_elevation(
            ws, actor="ana", role="operator", project="default", seconds=10**20, reason="x"
        )
    with pytest.raises(InvalidInput, match="from 1s to 8:00:00"):
        elevation.request_elevation(
            ws,
            actor="ana",
            role="operator",
            project="default",
            seconds=elevation.duration_seconds("99999999999999d"),
            reason="x",
        )
    with pytest.raises(PermissionDenied, match="agents never approve"):
        ask(ws, "bot", role="approver")
    with pytest.raises(Conflict, match="already holds operator"):
        ask(ws, "bo")
    with pytest.raises(InvalidInput, match="not a duration"):
        elevation.duration_seconds("soon")
    assert audit.query(ws.db, audit.EventFilter()) == before
    ask(ws)
    with pytest.raises(Conflict, match="already asks for operator"):
        ask(ws)


def test_an_elevation_lapses_by_itself(people) -> None:
    ws = people
    eid = ask(ws, seconds=1)
    elevation.decide(ws, eid, actor="bo", approve=True)
    # Within the second it lasts the role is raised (the approval starts it).
    wait_until(lambda: role_of(ws, "ana") == "scientist", timeout=10)
    assert elevation.list_elevations(ws)[0]["status"] == "lapsed"
    with pytest.raises(Conflict, match="is lapsed, not active"):
        elevation.revoke_elevation(ws, eid, actor="ana")


def test_a_key_carries_the_elevation_unless_narrowed_and_says_until_when(people) -> None:
    ws = people
    _, full = keys.create_key(
        ws, project="default", role="scientist", actor="root", principal="ana"
    )
    _, narrow = keys.create_key(ws, project="default", role="viewer", actor="root", principal="ana")
    eid = ask(ws)
    assert keys.verify_key(ws, full)["role"] == "scientist"
    ends = elevation.decide(ws, eid, actor="bo", approve=True)["ends_at"]
    raised = keys.verify_key(ws, full)
    assert raised["role"] == "operator" and raised["elevated_until"] == ends
    assert keys.verify_key(ws, narrow)["role"] == "viewer"
    assert "elevated_until" not in keys.verify_key(ws, narrow)
    # Revoked early: the key's tokens are refused until the planned end.
    elevation.revoke_elevation(ws, eid, actor="bo")
    assert keys.split_key(full)[0] in keys.revoked_key_ids(ws)
    assert keys.split_key(narrow)[0] in keys.revoked_key_ids(ws)
    assert keys.verify_key(ws, full)["role"] == "scientist"


def test_policy_can_require_an_elevation_for_promotion_and_rollback(people, cancer_files) -> None:
    ws = with_access(people, {"elevation_required": ["promote", "rollback"]})
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor="ana")
    for key in ("model", "model2"):
        registry.register_model(
            ws, cancer_files[key], "cancer", actor="ana", datasets=["cancer@1"], owners=OWNERS
        )
    lifecycle.promote(ws, "cancer@1", "staging", actor="bo")  # staging needs none
    with pytest.raises(PermissionDenied, match="needs an approved elevation"):
        lifecycle.promote(ws, "cancer@1", "production", actor="bo")
    refused = audit.query(ws.db, audit.EventFilter(action="elevation.required"))
    assert refused[-1]["actor"] == "bo" and refused[-1]["payload"] == {"act": "promote"}
    # bo's standing operator grant does not suffice, but he may ask for it for a while.
    identity.add_principal(ws, "dee", kind="human", actor="root")
    identity.grant(ws, "dee", role="admin", project="default", actor="root")
    eid = ask(ws, "bo")
    elevation.decide(ws, eid, actor="dee", approve=True)
    lifecycle.promote(ws, "cancer@1", "production", actor="bo")
    lifecycle.promote(ws, "cancer@2", "production", actor="bo")
    elevation.revoke_elevation(ws, eid, actor="bo")
    with pytest.raises(PermissionDenied, match="rollback on project default needs"):
        lifecycle.rollback(ws, "cancer", actor="bo")
    assert registry.describe(ws, "cancer")["versions"][1]["stage"] == "production"
    # The monitor's rollback is the one the policy ordered in advance: it needs none.
    assert lifecycle.rollback(ws, "cancer", actor="aims-monitor")["version"] == 1
    ws.close()


def test_a_bad_access_setting_names_the_key(workspace) -> None:
    from aims.errors import ConfigError
    from aims.services.access_settings import access_settings

    ws = with_access(workspace, {"elevation_required": ["deploy"]})
    with pytest.raises(ConfigError, match="elevation_required must be a list of promote"):
        access_settings(ws)
    ws = with_access(ws, {"key_rotation": "soon"})
    with pytest.raises(ConfigError, match=r"access\.key_rotation: 'soon' is not a duration"):
        access_settings(ws)
    ws.close()


def test_a_role_that_comes_from_an_elevation_always_says_until_when(people) -> None:
    ws = people
    # A key made while ana held operator standing, kept after her grant was lowered.
    identity.grant(ws, "ana", role="operator", project="default", actor="root")
    _, wide = keys.create_key(ws, project="default", role="operator", actor="root", principal="ana")
    identity.grant(ws, "ana", role="scientist", project="default", actor="root")
    assert keys.verify_key(ws, wide)["role"] == "scientist"
    ends = elevation.decide(ws, ask(ws), actor="bo", approve=True)["ends_at"]
    lifted = keys.verify_key(ws, wide)
    assert lifted["role"] == "operator" and lifted["elevated_until"] == ends
