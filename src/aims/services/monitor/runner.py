"""The monitoring loop: compute every closed window, fire triggers, open incidents, run actions.

:func:`run_once` does one pass and returns a :class:`RunSummary`;
:func:`run_forever` repeats it every ``monitor.interval``. One pass:

1. runs actions left pending by an interrupted pass;
2. for each model with logged predictions, computes the closed windows not
   stored yet (:mod:`~aims.services.monitor.new_windows`), firing triggers
   and opening incidents in the window's transaction;
3. recomputes the performance of recent windows whose predictions received
   labels since (:mod:`~aims.services.monitor.late_labels`);
4. runs the actions of the incidents it opened
   (:mod:`~aims.services.monitor.firing`);
   and opens ``security`` incidents for bursts of refused calls
   (:mod:`~aims.services.monitor.refusals`);
5. says, for each model that got no new window, why, and when the next
   window closes (:mod:`~aims.services.monitor.waiting`).

With ``provisional=True`` it also computes the windows not final yet (the one
still open, and one ended but within its grace period), marked provisional:
they fire nothing and are replaced when they close.

``run_once(ws, now=None)`` keeps no state between calls, so a server can call
it from a background task and a worker process from a loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from aims.clock import utc
from aims.errors import AimsError
from aims.services.monitor import actions
from aims.services.monitor.context import EMPTY_ROLE, MonitorPass, RunSummary
from aims.services.monitor.new_windows import run_model
from aims.services.monitor.refusals import scan_refusals
from aims.services.monitor.settings import monitor_settings
from aims.services.monitor.triggers import monitoring_policy
from aims.services.monitor.waiting import next_close, not_logged, nothing_new
from aims.storage.schema import Model

log = logging.getLogger("aims.monitor")


def run_once(
    ws: Any,
    now: datetime | None = None,
    *,
    models: Sequence[str] | None = None,
    provisional: bool = False,
) -> RunSummary:
    """One pass of the monitor over every model with logged predictions (or ``models``).

    ``now`` decides which windows are closed (default: the current time).
    ``provisional`` also computes the windows not final at ``now`` (see the
    module docstring). Errors of one model (e.g. a version missing from the
    registry, an artifact that fails its hash check) are reported in the
    summary and do not stop the others; a name in ``models`` that is not a
    registered model is one of them.
    """
    from aims.services.governance import policy_of
    from aims.storage.predlog import LabelStore, PredictionLogReader

    settings = monitor_settings(ws)
    policy = monitoring_policy(ws)
    start = datetime.now(UTC)
    run = MonitorPass(
        ws=ws,
        settings=settings,
        policy=policy,
        default_tier=policy_of(ws).default_tier,
        now=utc(now) if now is not None else start,
        summary=RunSummary(started_at=start),
        reader=PredictionLogReader(ws.settings.prediction_log_url),
        labels=LabelStore(ws.settings.prediction_log_url),
    )
    run.summary.next_close = next_close(run)
    for incident_id in actions.pending_incidents(ws):
        run.summary.actions += actions.run_pending(ws, incident_id, policy, run.actor)
    logged = set(run.reader.models())
    with ws.db.session() as s:
        rows = s.execute(select(Model.id, Model.name).order_by(Model.name)).all()
    names = {name for _, name in rows}
    for unknown in sorted(set(models or ()) - names):
        run.summary.errors.append(
            f"{unknown}: no model of that name; 'aims model list' shows the registered ones"
        )
    if not rows:
        run.summary.waiting.append(
            {
                "model": None,
                "reason": "no models registered yet: register one with 'aims model register'",
                "next_close": None,
            }
        )
    for model_id, name in rows:
        if models is not None and name not in models:
            continue
        if name not in logged:
            run.summary.waiting.append(not_logged(run, model_id, name))
            continue
        run.summary.models.append(name)
        try:
            scan = run_model(run, model_id, name, provisional=provisional)
        except AimsError as exc:
            run.summary.errors.append(f"{name}: {exc.message}")
            log.warning("monitor: %s: %s", name, exc.message)
            continue
        if not scan.computed:
            run.summary.waiting.append(nothing_new(run, name, scan.hours))
    if models is None:  # refused calls concern the whole workspace, not named models
        security = scan_refusals(ws, run.now, actor=run.actor)
        run.summary.incidents_opened += security["opened"]
        run.summary.incidents_updated += security["updated"]
    run.summary.finished_at = datetime.now(UTC)
    return run.summary


def run_forever(
    ws: Any,
    *,
    interval: float | None = None,
    stop: threading.Event | None = None,
    on_run: Callable[[RunSummary], None] | None = None,
    provisional: bool = False,
    one_pass: Callable[..., RunSummary] | None = None,
) -> None:
    """Run :func:`run_once` every ``interval`` seconds (default ``monitor.interval``) until ``stop`` is set.

    A pass that fails is logged and the loop goes on; the next pass picks up
    where the failed one stopped. ``one_pass`` replaces :func:`run_once`
    (called as ``one_pass(ws, provisional=...)``), e.g. by a pass that also
    covers LLM applications.
    """
    stop = stop or threading.Event()
    pause = interval if interval is not None else monitor_settings(ws).interval.total_seconds()
    while not stop.is_set():
        try:
            summary = (one_pass or run_once)(ws, provisional=provisional)
        except Exception:  # the loop must survive a bad pass (store briefly down, a bug)
            log.exception("monitor pass failed; retrying in %.0f s", pause)
        else:
            if on_run is not None:
                on_run(summary)
        stop.wait(pause)


__all__ = ["EMPTY_ROLE", "RunSummary", "run_forever", "run_once"]
