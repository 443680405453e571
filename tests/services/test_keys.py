from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aims.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from aims.services import audit, keys
from aims.storage.schema import ApiKey


def test_a_key_is_shown_once_and_stored_hashed(workspace) -> None:
    info, secret = keys.create_key(workspace, project="alpha", role="predictor", actor="ops")
    assert secret.startswith(f"aims.{info['key_id']}.") and info["status"] == "active"
    with workspace.db.session() as s:
        row = s.query(ApiKey).one()
        assert secret.split(".")[2] not in row.secret_hash
        assert row.secret_hash.startswith("$argon2id$")
    assert keys.verify_key(workspace, secret)["role"] == "predictor"
    events = audit.query(workspace.db, audit.EventFilter(action="apikey.create"))
    assert events[-1]["subject"] == f"apikey:{info['key_id']}"
    assert secret.split(".")[2] not in str(events[-1]["payload"])


def test_wrong_revoked_and_expired_keys_are_refused(workspace) -> None:
    info, secret = keys.create_key(workspace, project="alpha", role="viewer", actor="ops")
    with pytest.raises(PermissionDenied, match="not valid"):
        keys.verify_key(workspace, secret[:-2] + "xx")
    with pytest.raises(PermissionDenied, match="not valid"):
        keys.verify_key(workspace, "aims.kffffffffffff.whatever")
    with pytest.raises(PermissionDenied, match="malformed"):
        keys.verify_key(workspace, "Bearer abc")
    keys.revoke_key(workspace, info["key_id"], actor="ops", reason="left the team")
    with pytest.raises(PermissionDenied, match="revoked"):
        keys.verify_key(workspace, secret)
    with pytest.raises(Conflict):
        keys.revoke_key(workspace, info["key_id"], actor="ops")
    with pytest.raises(NotFound):
        keys.revoke_key(workspace, "knope", actor="ops")
    assert keys.revoked_key_ids(workspace) == {info["key_id"]}

    soon = datetime.now(UTC) + timedelta(hours=1)
    short, secret2 = keys.create_key(
        workspace, project="alpha", role="viewer", actor="ops", expires_at=soon
    )
    assert keys.active_key_count(workspace) == 1
    assert keys.verify_key(workspace, secret2)["key_id"] == short["key_id"]
    # The hour passes: move the expiry into the past rather than sleep through it.
    with workspace.db.session() as s:
        row = s.query(ApiKey).filter_by(key_id=short["key_id"]).one()
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(PermissionDenied, match="expired"):
        keys.verify_key(workspace, secret2)
    assert keys.active_key_count(workspace) == 0
    statuses = {k["key_id"]: k["status"] for k in keys.list_keys(workspace, include_inactive=True)}
    assert statuses == {info["key_id"]: "revoked", short["key_id"]: "expired"}
    assert keys.list_keys(workspace) == []


def test_roles_projects_and_expiry_are_checked(workspace) -> None:
    with pytest.raises(InvalidInput, match="role 'root' is unknown"):
        keys.create_key(workspace, project="alpha", role="root", actor="ops")
    with pytest.raises(InvalidInput, match="project"):
        keys.create_key(workspace, project="no spaces", role="viewer", actor="ops")
    with pytest.raises(InvalidInput, match="past"):
        keys.create_key(
            workspace,
            project="alpha",
            role="viewer",
            actor="ops",
            expires_at=datetime.now(UTC) - timedelta(days=1),
        )
    info, _ = keys.create_key(workspace, project="*", role="operator", actor="ops")
    assert info["project"] == "*"
    assert [keys.role_rank(r) for r in keys.ROLES] == list(range(6))
