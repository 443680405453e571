"""The monitor's own reads of stored windows: final windows only.

Triggers, baselines, late labels and the choice of windows still to compute
read these; a provisional window never feeds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.clock import utc
from aims.services.monitor.window_store._flags import final_only
from aims.storage.schema import MonitorWindow

__all__ = [
    "busy_starts",
    "computed",
    "earlier_windows",
    "labelled_candidates",
    "predictions_of_role",
    "production_window",
]


def computed(s: Session, model_id: int, seconds: int, since: datetime) -> set[tuple[int, datetime]]:
    """``(version, start)`` of every final window from ``since`` on."""
    rows = s.execute(
        select(MonitorWindow.version, MonitorWindow.window_start).where(
            MonitorWindow.model_id == model_id,
            MonitorWindow.window_seconds == seconds,
            MonitorWindow.window_start >= since,
            final_only(),
        )
    ).all()
    return {(v, utc(t)) for v, t in rows}


def busy_starts(
    s: Session,
    model_id: int,
    seconds: int,
    roles: Sequence[str],
    first: datetime,
    last: datetime,
) -> set[datetime]:
    """Starts in ``[first, last]`` of final windows where one of ``roles`` had predictions."""
    return {
        utc(t)
        for t in s.scalars(
            select(MonitorWindow.window_start).where(
                MonitorWindow.model_id == model_id,
                MonitorWindow.window_seconds == seconds,
                MonitorWindow.role.in_(roles),
                MonitorWindow.n_predictions > 0,
                MonitorWindow.window_start >= first,
                MonitorWindow.window_start <= last,
                final_only(),
            )
        ).all()
    }


def predictions_of_role(
    s: Session, model_id: int, role: str, seconds: int, start: datetime
) -> int | None:
    """Predictions of ``role`` (all versions) in the final window ``start``; None if not stored."""
    rows = s.scalars(
        select(MonitorWindow.n_predictions).where(
            MonitorWindow.model_id == model_id,
            MonitorWindow.role == role,
            MonitorWindow.window_seconds == seconds,
            MonitorWindow.window_start == start,
            final_only(),
        )
    ).all()
    return sum(rows) if rows else None


def production_window(
    s: Session, model_id: int, seconds: int, start: datetime
) -> MonitorWindow | None:
    """Production's final window at ``start`` (the busiest version's, if two served it)."""
    return s.scalar(
        select(MonitorWindow)
        .where(
            MonitorWindow.model_id == model_id,
            MonitorWindow.role == "production",
            MonitorWindow.window_seconds == seconds,
            MonitorWindow.window_start == start,
            final_only(),
        )
        .order_by(MonitorWindow.n_predictions.desc())
        .limit(1)
    )


def earlier_windows(
    s: Session, row: MonitorWindow, seconds: int, depth: int
) -> dict[datetime, MonitorWindow]:
    """The final windows of ``row``'s version and role in the ``depth`` windows before it."""
    start = utc(row.window_start)
    step = timedelta(seconds=seconds)
    earlier = s.scalars(
        select(MonitorWindow).where(
            MonitorWindow.model_id == row.model_id,
            MonitorWindow.version == row.version,
            MonitorWindow.role == row.role,
            MonitorWindow.window_seconds == seconds,
            MonitorWindow.window_start >= start - step * depth,
            MonitorWindow.window_start < start,
            final_only(),
        )
    ).all()
    return {utc(w.window_start): w for w in earlier}


def labelled_candidates(
    s: Session, model_id: int, seconds: int, since: datetime, roles: Sequence[str]
) -> list[tuple[int, int, str, datetime, dict[str, Any]]]:
    """``(id, version, role, start, results)`` of final windows from ``since`` on (late labels)."""
    rows = s.execute(
        select(
            MonitorWindow.id,
            MonitorWindow.version,
            MonitorWindow.role,
            MonitorWindow.window_start,
            MonitorWindow.results,
        ).where(
            MonitorWindow.model_id == model_id,
            MonitorWindow.window_seconds == seconds,
            MonitorWindow.window_start >= since,
            MonitorWindow.role.in_(roles),
            final_only(),
        )
    ).all()
    return [(wid, v, r, utc(t), res) for wid, v, r, t, res in rows]
