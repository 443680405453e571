"""Monitoring: windows of served traffic, checks, triggers, incidents and actions.

``run_once(ws)`` computes every closed window of every served model and role,
stores the results as a time series (``monitor_windows``), evaluates the
policy's triggers, opens incidents and runs their actions; ``run_forever``
repeats it. See ``docs/monitoring.md``.

Names are imported from their modules on first use, so that commands which
only read incidents do not load the statistics stack.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aims.services.monitor.incidents import (
        ack_incident,
        list_incidents,
        resolve_incident,
        show_incident,
    )
    from aims.services.monitor.runner import RunSummary, run_forever, run_once
    from aims.services.monitor.settings import MonitorSettings, monitor_settings
    from aims.services.monitor.triggers import (
        DEFAULT_TRIGGERS,
        MonitoringPolicy,
        TriggerSpec,
        monitoring_policy,
        parse_monitoring,
    )
    from aims.services.monitor.windows import WindowProfile, merge_profiles

_WHERE = {
    "ack_incident": "incidents",
    "list_incidents": "incidents",
    "resolve_incident": "incidents",
    "show_incident": "incidents",
    "RunSummary": "runner",
    "run_forever": "runner",
    "run_once": "runner",
    "MonitorSettings": "settings",
    "monitor_settings": "settings",
    "DEFAULT_TRIGGERS": "triggers",
    "MonitoringPolicy": "triggers",
    "TriggerSpec": "triggers",
    "monitoring_policy": "triggers",
    "parse_monitoring": "triggers",
    "WindowProfile": "windows",
    "merge_profiles": "windows",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'aims.services.monitor' has no attribute {name!r}")
    return getattr(import_module(f"aims.services.monitor.{module}"), name)


__all__ = [
    "DEFAULT_TRIGGERS",
    "MonitorSettings",
    "MonitoringPolicy",
    "RunSummary",
    "TriggerSpec",
    "WindowProfile",
    "ack_incident",
    "list_incidents",
    "merge_profiles",
    "monitor_settings",
    "monitoring_policy",
    "parse_monitoring",
    "resolve_incident",
    "run_forever",
    "run_once",
    "show_incident",
]
