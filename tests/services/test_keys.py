from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest
from argon2 import PasswordHasher
from sqlalchemy.engine import make_url

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


class _LockProbe(PasswordHasher):
    """A real argon2 hasher that first notes whether the store's write lock is free."""

    def __init__(self, database: str) -> None:
        super().__init__()
        self.database = database
        self.lock_free: list[bool] = []

    def _probe(self) -> None:
        # Another connection that will not wait: it gets the write lock only if
        # no transaction of the caller holds it.
        with closing(sqlite3.connect(self.database, timeout=0, isolation_level=None)) as other:
            try:
                other.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                self.lock_free.append(False)
            else:
                other.execute("ROLLBACK")
                self.lock_free.append(True)

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self._probe()
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self._probe()
        return super().verify(hash, password)


def test_the_argon2_work_of_a_check_runs_outside_any_transaction(workspace, monkeypatch) -> None:
    # A flood of key exchanges must not queue on the store: on SQLite each
    # transaction holds the write lock, and a hash inside one held it ~0.1 s.
    _, secret = keys.create_key(workspace, project="alpha", role="viewer", actor="ops")
    url = make_url(workspace.db.url)
    assert url.get_backend_name() == "sqlite" and url.database
    probe = _LockProbe(url.database)
    monkeypatch.setattr(keys, "_HASHER", probe)
    assert keys.verify_key(workspace, secret)["role"] == "viewer"
    with pytest.raises(PermissionDenied, match="not valid"):
        keys.verify_key(workspace, secret[:-2] + "xx")
    with pytest.raises(PermissionDenied, match="not valid"):
        keys.verify_key(workspace, "aims.kffffffffffff.unknown-id")
    assert probe.lock_free == [True, True, True]
