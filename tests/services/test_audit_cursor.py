"""Reading the audit log with a cursor (``after``) and an end (``until``), as the API pages it."""

from __future__ import annotations

from aims.services import audit
from aims.services.audit import EventFilter


def _fill(ws, n: int) -> None:
    for i in range(n):
        with ws.db.session() as s:
            audit.record(
                s, actor="a@x.org", action=f"test.{i % 2}", subject=f"thing:{i}", payload={"i": i}
            )


def test_a_cursor_pages_from_the_first_event_to_the_last(workspace) -> None:
    _fill(workspace, 11)
    total = audit.event_count(workspace.db)
    seen, after = [], 0
    while True:
        page = audit.query(workspace.db, EventFilter(after=after, limit=4))
        seen += [e["seq"] for e in page]
        if len(page) < 4:
            break
        after = page[-1]["seq"]
    assert seen == list(range(1, total + 1))
    # Without a cursor a limit keeps meaning the newest events.
    assert [e["seq"] for e in audit.query(workspace.db, EventFilter(limit=2))] == seen[-2:]


def test_the_cursor_combines_with_the_filters(workspace) -> None:
    _fill(workspace, 8)
    odd = audit.query(workspace.db, EventFilter(action="test.1", after=0, limit=100))
    assert [e["payload"]["i"] for e in odd] == [1, 3, 5, 7]
    later = audit.query(workspace.db, EventFilter(action="test.1", after=odd[1]["seq"], limit=1))
    assert [e["payload"]["i"] for e in later] == [5]


def test_until_keeps_the_events_before_a_moment(workspace) -> None:
    from datetime import datetime

    _fill(workspace, 5)
    events = audit.query(workspace.db)
    cut = datetime.fromisoformat(str(events[3]["ts"]))
    before = audit.query(workspace.db, EventFilter(until=cut))
    assert [e["seq"] for e in before] == [e["seq"] for e in events if e["ts"] < events[3]["ts"]]
    assert events[3]["seq"] not in [e["seq"] for e in before] and before
