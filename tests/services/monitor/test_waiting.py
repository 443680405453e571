"""A pass that computes nothing says why and when the next window closes; --now's provisional window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from aims.services import registry
from aims.services.monitor import list_incidents, run_once
from aims.services.monitor.window_store import is_provisional
from aims.storage.schema import MonitorWindow
from tests.services.monitor.conftest import HOUR, OWNERS, T0, Traffic

MINUTE = HOUR / 60


def _reason(summary, model: str = "syn") -> str:
    return next(w["reason"] for w in summary.waiting if w["model"] == model)


def test_nothing_registered_logged_or_promoted_each_has_its_reason(workspace, synthetic) -> None:
    empty = run_once(workspace, now=T0)
    assert empty.windows == 0 and "no models registered" in empty.waiting[0]["reason"]
    registry.register_dataset(workspace, synthetic.data, "syn", actor="ana@example.org")
    registry.register_model(
        workspace,
        synthetic.model_path,
        "syn",
        actor="ana@example.org",
        datasets=["syn@1"],
        owners=OWNERS,
    )
    summary = run_once(workspace, now=T0)
    assert "no version in production" in _reason(summary)
    assert "aims promote syn@VERSION --stage production" in _reason(summary)
    unknown = run_once(workspace, now=T0, models=["nosuch"])
    assert unknown.errors == [
        "nosuch: no model of that name; 'aims model list' shows the registered ones"
    ]


def test_served_without_predictions_then_open_then_up_to_date(served, synthetic) -> None:
    quiet = run_once(served, now=T0 + 10 * MINUTE)
    assert "no predictions logged yet for syn@1" in _reason(quiet)
    assert quiet.next_close == T0 + 65 * MINUTE

    traffic = Traffic(served, synthetic.model, seed=31)
    traffic.window(T0, 80)
    traffic.close()
    open_ = run_once(served, now=T0 + 30 * MINUTE)
    assert open_.windows == 0
    reason = _reason(open_)
    assert "00:00-01:00 UTC, which is still open" in reason
    assert "results come at 01:05 UTC" in reason and "--now" in reason
    # in the grace period the window is over but not closed yet: same answer
    assert "results come at 01:05 UTC" in _reason(run_once(served, now=T0 + 63 * MINUTE))

    closed = run_once(served, now=T0 + 66 * MINUTE)
    assert closed.windows == 1 and closed.waiting == []
    later = run_once(served, now=T0 + 70 * MINUTE)
    assert later.windows == 0
    assert "up to date" in _reason(later) and "next window closes at 02:05 UTC" in _reason(later)
    assert later.next_close == T0 + 125 * MINUTE


def _stored(ws) -> list[tuple[datetime, int, bool, list[str]]]:
    with ws.db.session() as s:
        rows = s.scalars(select(MonitorWindow).order_by(MonitorWindow.window_start)).all()
        return [
            (r.window_start, r.n_predictions, is_provisional(r.results), r.results["fired"])
            for r in rows
        ]


def test_provisional_window_fires_nothing_and_is_recomputed_when_it_closes(
    served, synthetic
) -> None:
    first = Traffic(served, synthetic.model, seed=32)
    first.window(T0, 120, shift={"x0": 2.5})
    first.close()
    early = run_once(served, now=T0 + 40 * MINUTE, provisional=True)
    assert (early.windows, early.provisional, early.incidents_opened) == (0, 1, [])
    assert [(n, p, f) for _, n, p, f in _stored(served)] == [(120, True, [])]

    more = Traffic(served, synthetic.model, seed=33)
    more.window(T0, 120, shift={"x0": 2.5})
    more.close()
    again = run_once(served, now=T0 + 50 * MINUTE, provisional=True)
    assert again.provisional == 1
    assert [(n, p) for _, n, p, _ in _stored(served)] == [(240, True)]  # replaced, not added
    assert list_incidents(served, status="all") == []

    final = run_once(served, now=T0 + 66 * MINUTE)
    assert final.windows == 1 and final.provisional == 0
    stored = _stored(served)
    assert [(n, p) for _, n, p, _ in stored] == [(240, False)]
    assert "feature_drift" in stored[0][3] and final.incidents_opened
    # once closed and final, --now does not touch it again
    assert run_once(served, now=T0 + 67 * MINUTE, provisional=True).provisional == 0
    assert [(n, p) for _, n, p, _ in _stored(served)] == [(240, False)]


def test_now_also_computes_a_window_that_has_ended_but_is_in_its_grace_period(
    served, synthetic
) -> None:
    # A prediction just before a window's end, and --now just after it: the window is over
    # but not final (grace 5 min), and the open window holds nothing. Its results are
    # provisional until the grace period ends.
    traffic = Traffic(served, synthetic.model, seed=34)
    traffic.window(T0, 60)
    traffic.close()
    early = run_once(served, now=T0 + 62 * MINUTE, provisional=True)
    assert (early.windows, early.provisional) == (0, 1)
    assert [(t, n, p) for t, n, p, _ in _stored(served)] == [(T0, 60, True)]
    final = run_once(served, now=T0 + 66 * MINUTE)
    assert (final.windows, final.provisional) == (1, 0)
    assert [(t, n, p) for t, n, p, _ in _stored(served)] == [(T0, 60, False)]
