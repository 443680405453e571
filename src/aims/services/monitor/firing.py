"""Evaluating the policy's triggers on a stored window, and running the actions of what they opened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from aims.clock import utc
from aims.core.triggers import WindowFacts
from aims.services.monitor import actions, checks, window_store
from aims.services.monitor.context import MonitorPass
from aims.services.monitor.incidents import record_firing
from aims.services.monitor.reference import Reference
from aims.storage.schema import Model, MonitorWindow


def history(
    run: MonitorPass, s: Session, row: MonitorWindow, depth: int
) -> list[WindowFacts | None]:
    """Facts of the ``depth - 1`` windows before ``row`` (None for gaps), then ``row``'s."""
    step = timedelta(seconds=run.seconds)
    start = utc(row.window_start)
    out: list[WindowFacts | None] = []
    if depth > 1:
        by_start = window_store.earlier_windows(s, row, run.seconds, depth - 1)
        for i in range(depth - 1, 0, -1):
            w = by_start.get(start - step * i)
            out.append(checks.facts_of(w.results) if w is not None else None)
    out.append(checks.facts_of(row.results))
    return out


def fire(
    run: MonitorPass, s: Session, model: Model, row: MonitorWindow, ref: Reference
) -> list[int]:
    """Evaluate every trigger on the final window ``row``; returns the ids of incidents opened."""
    fired, opened = [], []
    for trigger in run.policy.active_triggers():
        if row.role not in trigger.roles or (trigger.task and trigger.task != ref.task):
            continue
        condition = run.condition(trigger)
        firing = condition.check(history(run, s, row, condition.consecutive))
        if not firing.fired:
            continue
        fired.append(trigger.name)
        outcome = record_firing(
            s,
            model=model,
            version=row.version,
            role=row.role,
            trigger=trigger,
            start=utc(row.window_start),
            seconds=run.seconds,
            observed=checks.clean(firing.observed),
            owner=ref.owner,
            actions=actions.plan(trigger, run.policy),
            actor=run.actor,
            now=datetime.now(UTC),
        )
        if outcome is None:
            continue
        incident, new = outcome
        if new:
            opened.append(incident.id)
            run.summary.incidents_opened.append(incident.id)
        else:
            run.summary.incidents_updated.append(incident.id)
    if sorted(fired) != sorted(row.results.get("fired") or []):
        row.results = {**row.results, "fired": fired}
    return opened


def run_actions(run: MonitorPass, opened: list[int]) -> None:
    """Run the planned actions of the incidents just opened (after their transaction committed)."""
    for incident_id in opened:
        run.summary.actions += actions.run_pending(run.ws, incident_id, run.policy, run.actor)


__all__ = ["fire", "history", "run_actions"]
