"""The keys a server refuses, read in a few queries, decide as grant_role does for each key."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from aims.services import keys
from aims.services.grants import grant_role
from aims.storage.schema import ApiKey, Elevation, Grant, Principal

PROJECTS = ("default", "fraud", "*")


def reference(ws) -> frozenset[str]:
    """Each key decided on its own: revoked, or its principal holding no role on its project,
    or an elevation there revoked before its end."""
    now = datetime.now(UTC)
    out = set()
    with ws.db.session() as s:
        for key in s.query(ApiKey).all():
            if key.revoked_at is not None:
                out.add(key.key_id)
                continue
            holder = s.get(Principal, key.principal_id) if key.principal_id else None
            if holder is None:
                continue
            cut = any(
                e.status == "revoked" and e.ends_at is not None and _utc(e.ends_at) > now
                for e in s.query(Elevation).filter_by(principal_id=holder.id, project=key.project)
            )
            if grant_role(s, holder, key.project) is None or cut:
                out.add(key.key_id)
    return frozenset(out)


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def random_store(ws, rng: random.Random) -> None:
    now = datetime.now(UTC)
    hour = timedelta(hours=1)
    when = [None, now - hour, now + hour]
    with ws.db.session() as s:
        people = []
        for i in range(8):
            p = Principal(
                name=f"p{i}",
                kind=rng.choice(["person", "service", "agent"]),
                created_by="root",
                created_at=now,
                disabled_at=rng.choice([None, None, None, now - hour]),
            )
            s.add(p)
            people.append(p)
        s.flush()
        for p in people:
            for project in rng.sample(PROJECTS, rng.randrange(3)):  # one grant per project
                s.add(
                    Grant(
                        principal_id=p.id,
                        project=project,
                        role=rng.choice(["viewer", "scientist", "admin"]),
                        created_by="root",
                        created_at=now,
                        expires_at=rng.choice(when),
                    )
                )
            for _ in range(rng.randrange(3)):
                s.add(
                    Elevation(
                        principal_id=p.id,
                        project=rng.choice(PROJECTS),
                        role="admin",
                        seconds=3600,
                        reason="incident",
                        status=rng.choice(["pending", "approved", "revoked", "denied"]),
                        requested_by=p.name,
                        requested_at=now - 2 * hour,
                        ends_at=rng.choice(when),
                    )
                )
        for i in range(30):
            owner = rng.choice([*people, None])
            s.add(
                ApiKey(
                    key_id=f"k{i}",
                    secret_hash="x",
                    project=rng.choice(PROJECTS),
                    role="viewer",
                    created_by="root",
                    created_at=now,
                    revoked_at=rng.choice([None, None, None, now - hour]),
                    principal_id=owner.id if owner is not None else None,
                )
            )


@pytest.mark.parametrize("seed", range(12))
def test_revoked_keys_match_the_decision_key_by_key(workspace, seed: int) -> None:
    random_store(workspace, random.Random(seed))
    expected = reference(workspace)
    assert keys.revoked_key_ids(workspace) == expected
    # The stores made differ: some keys refused and some not, for each reason.
    assert 0 < len(expected) < 30
