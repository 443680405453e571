"""The policy's triggers on windows of LLM application versions, through the monitor's incidents.

A trigger applies to LLM windows when it says ``task: llm`` (the built-in
``llm_*`` triggers do), or when it names no task and reads LLM figures only.
A firing opens (or extends) an incident with the version's monitoring owner,
audited, exactly as for tabular models
(:func:`aims.services.monitor.incidents.record_firing`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from aims.clock import utc
from aims.core.triggers import WindowFacts
from aims.services.monitor import actions, checks, window_store
from aims.services.monitor.incidents import record_firing
from aims.services.monitor.llm_policy import LLM_FIGURES
from aims.services.monitor.triggers import MonitoringPolicy, TriggerSpec
from aims.storage.schema import Model, MonitorWindow

__all__ = ["applies", "fire", "llm_triggers"]


def applies(trigger: TriggerSpec) -> bool:
    """Whether ``trigger`` is evaluated on LLM windows."""
    if trigger.task is not None:
        return trigger.task == "llm"
    clauses = trigger.condition.clauses
    return all(c.scope == "window" and c.name in LLM_FIGURES for c in clauses)


def llm_triggers(policy: MonitoringPolicy) -> list[TriggerSpec]:
    """The active triggers that apply to LLM windows."""
    return [t for t in policy.active_triggers() if applies(t)]


def _history(s: Session, row: MonitorWindow, seconds: int, depth: int) -> list[WindowFacts | None]:
    step = timedelta(seconds=seconds)
    start = utc(row.window_start)
    out: list[WindowFacts | None] = []
    if depth > 1:
        by_start = window_store.earlier_windows(s, row, seconds, depth - 1)
        for i in range(depth - 1, 0, -1):
            w = by_start.get(start - step * i)
            out.append(checks.facts_of(w.results) if w is not None else None)
    out.append(checks.facts_of(row.results))
    return out


def fire(
    s: Session,
    *,
    policy: MonitoringPolicy,
    model: Model,
    row: MonitorWindow,
    seconds: int,
    owner: str | None,
    actor: str,
) -> tuple[list[int], list[int]]:
    """Evaluate the LLM triggers on the stored window ``row``; ``(opened, updated)`` incident ids."""
    opened: list[int] = []
    updated: list[int] = []
    fired: list[str] = []
    for trigger in llm_triggers(policy):
        condition = trigger.condition
        firing = condition.check(_history(s, row, seconds, condition.consecutive))
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
            seconds=seconds,
            observed=checks.clean(firing.observed),
            owner=owner,
            actions=actions.plan(trigger, policy),
            actor=actor,
            now=datetime.now(UTC),
        )
        if outcome is None:
            continue
        incident, new = outcome
        (opened if new else updated).append(incident.id)
    results: dict[str, Any] = dict(row.results)
    results["fired"] = fired
    row.results = results
    return opened, updated
