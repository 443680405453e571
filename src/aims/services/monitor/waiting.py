"""Why a pass of the monitor computed nothing for a model, and when the next results come.

A window's results exist only once it has closed (its end plus
``monitor.grace``), so with one-hour windows a newly served model shows
nothing for up to an hour. Each model that got no new window in a pass gets
one sentence saying why, and the pass says when the next window closes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from aims.core.windowing import window_start
from aims.flavours.llm_app import FLAVOUR as LLM_APP
from aims.services.monitor.context import MonitorPass
from aims.storage.schema import ModelVersion


def hhmm(ts: datetime) -> str:
    """A time as ``HH:MM UTC``, as the monitor's messages give it."""
    return ts.strftime("%H:%M UTC")


def next_close(run: MonitorPass) -> datetime:
    """When the next window becomes closed: the end of the window not yet closed, plus grace.

    Examples
    --------
    With one-hour windows and five minutes of grace, at 10:03 the 09:00-10:00
    window is still in its grace period and closes at 10:05; at 10:06 the next
    to close is 10:00-11:00, at 11:05.
    """
    step = timedelta(seconds=run.seconds)
    return window_start(run.now - run.settings.grace, run.seconds) + step + run.settings.grace


def _span(start: datetime, seconds: int) -> str:
    end = start + timedelta(seconds=seconds)
    return f"{start.strftime('%H:%M')}-{end.strftime('%H:%M')} UTC"


def _grace(run: MonitorPass) -> str:
    minutes = run.settings.grace.total_seconds() / 60
    return f"{minutes:g}m" if minutes >= 1 else f"{run.settings.grace.total_seconds():g}s"


def awaiting_traces(name: str, production: int | None) -> str:
    """Why an LLM application has nothing to monitor yet: it is watched through its traces.

    aims does not serve an LLM application (it runs in its own code), so the
    advice is to send its spans, never to serve it.
    """
    subject = f"{name}@{production} (in production)" if production is not None else name
    return (
        f"no spans received for {subject}: an LLM application is monitored from its traces; "
        "point its OpenTelemetry OTLP/HTTP exporter at the server's /v1/traces with a token "
        "of its project (docs/traces.md)"
    )


def not_logged(run: MonitorPass, model_id: int, name: str) -> dict[str, Any]:
    """The reason for a model with no prediction log at all."""
    with run.ws.db.session() as s:
        production = s.scalar(
            select(ModelVersion.version).where(
                ModelVersion.model_id == model_id, ModelVersion.stage == "production"
            )
        )
        llm_app = s.scalar(
            select(ModelVersion.id)
            .where(ModelVersion.model_id == model_id, ModelVersion.flavour == LLM_APP)
            .limit(1)
        )
    if llm_app is not None:
        reason = awaiting_traces(name, production)
    elif production is None:
        reason = (
            f"no version in production and no predictions logged: promote one "
            f"('aims promote {name}@VERSION --stage production'), serve it ('aims serve') "
            "and send requests"
        )
    else:
        reason = (
            f"no predictions logged yet for {name}@{production}: serve it ('aims serve') "
            "and send requests"
        )
    return {"model": name, "reason": reason, "next_close": None}


def nothing_new(run: MonitorPass, name: str, hours: list[datetime]) -> dict[str, Any]:
    """The reason for a model with a log whose pass computed no window."""
    closes = next_close(run)
    open_start = window_start(run.now - run.settings.grace, run.seconds)
    recent = [h for h in hours if h + timedelta(hours=1) > open_start]
    lookback = run.settings.lookback
    if recent:
        reason = (
            f"predictions are logged in the window {_span(open_start, run.seconds)}, which is "
            f"still open: its results come at {hhmm(closes)} (window end + monitor.grace "
            f"{_grace(run)}); 'aims monitor run --once --now' computes provisional figures now"
        )
    elif not hours:
        days = lookback.total_seconds() / 86400
        reason = (
            f"no predictions in the last {days:g} day(s) (monitor.lookback); send requests "
            "to the server"
        )
    else:
        newest = max(hours)
        reason = (
            "up to date: every closed window with predictions is computed (the newest were "
            f"logged in the hour from {newest.strftime('%Y-%m-%d %H:%M UTC')}); the next window "
            f"closes at {hhmm(closes)}"
        )
    return {"model": name, "reason": reason, "next_close": closes.isoformat()}


__all__ = ["awaiting_traces", "hhmm", "next_close", "not_logged", "nothing_new"]
