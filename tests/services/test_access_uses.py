"""Last uses kept as the audit log grows equal the whole log's, and forged rows count for nothing."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from sqlalchemy import func, select

from aims.clock import utc
from aims.services import access_uses, audit
from aims.storage.schema import AccessLastUse, AuditEvent

PROJECT_OF = {"model:m": "alpha", "model:n": "beta", "dataset:d": "alpha"}.get


def project_of(subject: str) -> str | None:
    return PROJECT_OF(subject.split("@", 1)[0])


def whole_log(ws) -> dict[str, dict[str | None, dt.datetime]]:
    """The reference: a group-by over every event, as the review once read it."""
    uses: dict[str, dict[str | None, dt.datetime]] = defaultdict(dict)
    with ws.db.session() as s:
        rows = s.execute(
            select(
                AuditEvent.actor, AuditEvent.subject, AuditEvent.action, func.max(AuditEvent.ts)
            ).group_by(AuditEvent.actor, AuditEvent.subject, AuditEvent.action)
        ).all()
    for actor, subject, action, ts in rows:
        use = access_uses.use_of(actor, action, subject)
        if use is None:
            continue
        who, on = use
        project = project_of(on) if on else None
        stamp = utc(dt.datetime.fromisoformat(ts))
        if uses[who].get(project) is None or stamp > uses[who][project]:
            uses[who][project] = stamp
    return dict(uses)


def append(ws, n: int, seed: int) -> None:
    rng = random.Random(seed)
    actors = ["ana", "bo", "apikey:k1", "monitor"]
    acts = [
        ("model.register", "model:m@1"),
        ("model.approve", "model:n@2"),
        ("dataset.register", "dataset:d@1"),
        ("keys.create", "apikey:k2"),
        ("server.token.issued", "apikey:k1"),
        ("server.token.issued", "principal:bo"),
        ("server.access.denied", "model:m"),
        ("workspace.settings", ""),
    ]
    with ws.db.session() as s:
        for _ in range(n):
            action, subject = rng.choice(acts)
            audit.record(s, actor=rng.choice(actors), action=action, subject=subject)


def as_dict(uses) -> dict:
    return {who: dict(per) for who, per in uses.items()}


def test_kept_last_uses_equal_the_whole_log_as_it_grows(workspace) -> None:
    ws = workspace
    for seed, n in ((1, 120), (2, 45), (3, 1)):
        append(ws, n, seed)
        # Small batches, so one catch-up spans several transactions.
        access_uses.catch_up(ws.db, batch=17)
        with ws.db.session() as s:
            kept = access_uses.last_uses(s, project_of)
        assert as_dict(kept) == whole_log(ws)
    # A refusal is no use, a token for a key is the key's; others are the actor's own.
    assert "apikey:k1" in kept and None in kept["apikey:k1"]
    with ws.db.session() as s:
        rows = s.scalar(select(func.count()).select_from(AccessLastUse))
    assert rows <= 4 * 8  # one row per (who, subject), not per event


def test_rows_their_event_does_not_vouch_for_count_for_nothing(workspace) -> None:
    ws = workspace
    append(ws, 30, 7)
    access_uses.catch_up(ws.db)
    with ws.db.session() as s:
        ghost_seq = s.scalar(select(func.max(AuditEvent.seq)))
        ghost_ts = s.scalar(select(AuditEvent.ts).where(AuditEvent.seq == ghost_seq))
        # A principal that never acted, claimed to have acted in the newest event.
        s.add(AccessLastUse(who="intruder", subject="model:m", seq=ghost_seq, ts=ghost_ts))
        # An existing row moved to a later stamp than its event's.
        row = s.scalars(select(AccessLastUse).where(AccessLastUse.who == "ana")).first()
        row.ts = "2099-01-01T00:00:00.000000+00:00"
    with ws.db.session() as s:
        after = as_dict(access_uses.last_uses(s, project_of))
    assert "intruder" not in after
    assert all(stamp.year < 2099 for per in after.values() for stamp in per.values())
