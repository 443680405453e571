"""Tampering with the stored audit log through SQL is detected and named."""

from __future__ import annotations

from sqlalchemy import text

from aims.core.audit import event_hash
from aims.services import audit


def _fill(ws, n: int = 6) -> None:
    for i in range(n):
        with ws.db.session() as s:
            audit.record(
                s, actor="a@x.org", action="test.event", subject=f"thing:{i}", payload={"i": i}
            )


def _sql(ws, stmt: str, **params) -> None:
    with ws.db.engine.begin() as conn:
        conn.execute(text(stmt), params)


def test_intact_log_verifies(store_workspace) -> None:
    _fill(store_workspace)
    report = audit.verify(store_workspace.db)
    assert report.ok and report.n_events == 6


def test_edited_payload_is_detected(store_workspace) -> None:
    _fill(store_workspace)
    _sql(store_workspace, "update audit_events set payload = :p where seq = 3", p='{"i":99}')
    report = audit.verify(store_workspace.db)
    assert not report.ok and (report.problem.kind, report.problem.seq) == ("edited", 3)


def test_deleted_event_is_detected(store_workspace) -> None:
    _fill(store_workspace)
    _sql(store_workspace, "delete from audit_events where seq = 4")
    report = audit.verify(store_workspace.db)
    assert (report.problem.kind, report.problem.seq) == ("deleted", 4)


def test_inserted_event_is_detected(store_workspace) -> None:
    ws = store_workspace
    _fill(ws)
    # A forger who even chains the new event correctly is caught by the head row.
    with ws.db.engine.connect() as conn:
        last = conn.execute(text("select hash from audit_events where seq = 6")).scalar()
    fields = dict(
        seq=7,
        ts="2026-01-01T00:00:00",
        actor="x",
        action="forged",
        subject="s",
        payload="{}",
        prev_hash=last,
    )
    _sql(
        ws,
        "insert into audit_events (seq, ts, actor, action, subject, payload, prev_hash, hash) "
        "values (:seq, :ts, :actor, :action, :subject, :payload, :prev_hash, :hash)",
        hash=event_hash(**fields),
        **fields,
    )
    report = audit.verify(ws.db)
    assert (report.problem.kind, report.problem.seq) == ("inserted", 7)


def test_swapped_events_are_detected(store_workspace) -> None:
    ws = store_workspace
    _fill(ws)
    _sql(ws, "update audit_events set seq = -2 where seq = 2")
    _sql(ws, "update audit_events set seq = 2 where seq = 5")
    _sql(ws, "update audit_events set seq = 5 where seq = -2")
    report = audit.verify(ws.db)
    assert (report.problem.kind, report.problem.seq) == ("reordered", 2)


def test_changes_and_events_commit_together(workspace) -> None:
    import pytest

    with pytest.raises(RuntimeError), workspace.db.session() as s:
        audit.record(s, actor="a", action="x", subject="y")
        raise RuntimeError("boom")
    assert audit.query(workspace.db) == []
    assert audit.verify(workspace.db).ok
