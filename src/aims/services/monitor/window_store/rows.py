"""Writing stored windows, replacing provisional ones, and reading them by id."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from aims.clock import now_utc
from aims.services.monitor.window_store._flags import provisional_only
from aims.storage.schema import MonitorWindow

__all__ = ["add_window", "drop_provisional", "version_of", "window", "windows_by_id"]


def add_window(
    s: Session,
    *,
    model_id: int,
    version: int,
    role: str,
    start: datetime,
    seconds: int,
    n_predictions: int,
    n_labelled: int,
    results: dict[str, Any],
    profile: bytes | None,
) -> MonitorWindow:
    """Add one window's results to the session (flushed with the caller's transaction)."""
    row = MonitorWindow(
        model_id=model_id,
        version=version,
        role=role,
        window_start=start,
        window_seconds=seconds,
        n_predictions=n_predictions,
        n_labelled=n_labelled,
        results=results,
        profile=profile,
        computed_at=now_utc(),
    )
    s.add(row)
    return row


def drop_provisional(s: Session, model_id: int, seconds: int, start: datetime) -> int:
    """Delete the provisional windows of ``start`` (before its final or a fresher provisional one)."""
    result = s.execute(
        delete(MonitorWindow).where(
            MonitorWindow.model_id == model_id,
            MonitorWindow.window_seconds == seconds,
            MonitorWindow.window_start == start,
            provisional_only(),
        )
    )
    # A DELETE answers a CursorResult, which holds the number of rows it removed.
    return int(cast("CursorResult[Any]", result).rowcount or 0)


def window(s: Session, window_id: int) -> MonitorWindow | None:
    """One stored window by id."""
    return s.get(MonitorWindow, window_id)


def windows_by_id(s: Session, ids: Iterable[int]) -> list[MonitorWindow]:
    """The stored windows with these ids."""
    return list(s.scalars(select(MonitorWindow).where(MonitorWindow.id.in_(list(ids)))).all())


def version_of(s: Session, window_id: int) -> int | None:
    """The model version a stored window belongs to."""
    return s.scalar(select(MonitorWindow.version).where(MonitorWindow.id == window_id))
