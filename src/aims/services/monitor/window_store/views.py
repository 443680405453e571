"""Reads of stored windows for what people look at: final and provisional alike.

The dashboard, the evidence report, the metrics endpoint and the demo read
these and show the provisional mark themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aims.clock import utc
from aims.services.monitor.llm_policy import LLM_ROLE
from aims.services.monitor.window_store._flags import SHOWN_ROLES, final_only
from aims.storage.schema import Model, ModelVersion, MonitorWindow

__all__ = [
    "VersionWindows",
    "current_windows",
    "latest_final_everywhere",
    "latest_of_version",
    "latest_production_window",
    "latest_profiled",
    "latest_windows",
    "recent_windows",
    "role_series",
    "version_windows",
    "window_at",
]


def recent_windows(
    s: Session,
    model_id: int,
    *,
    version: int | None = None,
    role: str | None = None,
    limit: int = 24,
) -> list[MonitorWindow]:
    """The newest windows of a model (final and provisional), newest first."""
    stmt = select(MonitorWindow).where(
        MonitorWindow.model_id == model_id, MonitorWindow.role.in_((*SHOWN_ROLES, LLM_ROLE))
    )
    if version is not None:
        stmt = stmt.where(MonitorWindow.version == version)
    if role is not None:
        stmt = stmt.where(MonitorWindow.role == role)
    stmt = stmt.order_by(MonitorWindow.window_start.desc(), MonitorWindow.version.desc())
    return list(s.scalars(stmt.limit(limit)).all())


def role_series(s: Session, model_id: int, role: str, limit: int = 500) -> list[MonitorWindow]:
    """One window per start for ``role``, oldest first, at most ``limit`` of the newest.

    When two versions held the role within one window (a promotion in the
    middle of it), the version holding the role now wins, else the busier one,
    so a series never mixes an archived version's few predictions in.
    """
    current = s.scalar(
        select(ModelVersion.version).where(
            ModelVersion.model_id == model_id, ModelVersion.stage == role
        )
    )
    rows = s.scalars(
        select(MonitorWindow)
        .where(MonitorWindow.model_id == model_id, MonitorWindow.role == role)
        .order_by(MonitorWindow.window_start.desc())
        .limit(limit * 2)
    ).all()
    best: dict[datetime, MonitorWindow] = {}
    for row in rows:
        start = utc(row.window_start)
        held = best.get(start)
        if held is None or _rank(row, current) > _rank(held, current):
            best[start] = row
    return [best[t] for t in sorted(best)][-limit:]


def _rank(row: MonitorWindow, current: int | None) -> tuple[bool, int]:
    return (row.version == current, row.n_predictions)


def window_at(
    s: Session, model_id: int, role: str, start: datetime, seconds: int
) -> MonitorWindow | None:
    """The window of ``role`` starting at ``start`` (final or provisional), the busiest if two versions shared it."""
    return s.scalar(
        select(MonitorWindow)
        .where(
            MonitorWindow.model_id == model_id,
            MonitorWindow.role == role,
            MonitorWindow.window_seconds == seconds,
            MonitorWindow.window_start == utc(start),
        )
        .order_by(MonitorWindow.n_predictions.desc(), MonitorWindow.version.desc())
        .limit(1)
    )


def latest_of_version(s: Session, model_id: int, version: int, role: str) -> MonitorWindow | None:
    """The newest window (final or provisional) of one version in one role."""
    return s.scalar(
        select(MonitorWindow)
        .where(
            MonitorWindow.model_id == model_id,
            MonitorWindow.version == version,
            MonitorWindow.role == role,
        )
        .order_by(MonitorWindow.window_start.desc())
        .limit(1)
    )


def latest_production_window(
    s: Session, model_id: int, role: str = "production"
) -> MonitorWindow | None:
    """The newest window of the version holding ``role`` now (None: no holder, or no window).

    After a promotion the archived version's last window is not "the latest
    window" of the model any more, however recent it is.
    """
    version = s.scalar(
        select(ModelVersion.version).where(
            ModelVersion.model_id == model_id, ModelVersion.stage == role
        )
    )
    return None if version is None else latest_of_version(s, model_id, version, role)


def current_windows(s: Session, model_id: int) -> list[MonitorWindow]:
    """The newest window of each version holding a served stage now, in that role.

    What a model's health is judged on: production, canary and shadow as
    they are now, not versions archived since.
    """
    holders = s.execute(
        select(ModelVersion.version, ModelVersion.stage).where(
            ModelVersion.model_id == model_id, ModelVersion.stage.in_(SHOWN_ROLES)
        )
    ).all()
    out = []
    for version, stage in holders:
        row = latest_of_version(s, model_id, version, stage)
        if row is not None:
            out.append(row)
    return out


def latest_windows(s: Session, model_id: int) -> list[MonitorWindow]:
    """The newest window of each (version, role) of a model, archived versions included."""
    newest = (
        select(MonitorWindow.version, MonitorWindow.role, func.max(MonitorWindow.window_start))
        .where(MonitorWindow.model_id == model_id)
        .group_by(MonitorWindow.version, MonitorWindow.role)
    ).subquery()
    return list(
        s.scalars(
            select(MonitorWindow)
            .join(
                newest,
                (MonitorWindow.version == newest.c.version)
                & (MonitorWindow.role == newest.c.role)
                & (MonitorWindow.window_start == newest.c[2]),
            )
            .where(MonitorWindow.model_id == model_id)
        ).all()
    )


def latest_final_everywhere(s: Session) -> list[tuple[str, MonitorWindow]]:
    """The newest final window of every (model, version, role), with the model's name (metrics)."""
    newest = (
        select(
            MonitorWindow.model_id,
            MonitorWindow.version,
            MonitorWindow.role,
            func.max(MonitorWindow.window_start).label("start"),
        )
        .where(MonitorWindow.role.in_((*SHOWN_ROLES, LLM_ROLE)), final_only())
        .group_by(MonitorWindow.model_id, MonitorWindow.version, MonitorWindow.role)
        .subquery()
    )
    rows = s.execute(
        select(Model.name, MonitorWindow)
        .join(Model, Model.id == MonitorWindow.model_id)
        .join(
            newest,
            (newest.c.model_id == MonitorWindow.model_id)
            & (newest.c.version == MonitorWindow.version)
            & (newest.c.role == MonitorWindow.role)
            & (newest.c.start == MonitorWindow.window_start),
        )
        .order_by(Model.name, MonitorWindow.version, MonitorWindow.role)
    ).all()
    return [(name, row) for name, row in rows]


def latest_profiled(s: Session, model_id: int, role: str) -> MonitorWindow | None:
    """The newest window of ``role`` that carries a profile (for distribution charts)."""
    return s.scalar(
        select(MonitorWindow)
        .where(
            MonitorWindow.model_id == model_id,
            MonitorWindow.role == role,
            MonitorWindow.profile.is_not(None),
        )
        .order_by(MonitorWindow.window_start.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class VersionWindows:
    """How much monitoring a version has had (the evidence report's facts)."""

    count: int = 0
    newest_end: datetime | None = None
    newest_labelled_end: datetime | None = None


def version_windows(s: Session, model_id: int, version: int) -> VersionWindows:
    """Count of a version's final windows, and the end of its newest (labelled) one."""
    where = (MonitorWindow.model_id == model_id, MonitorWindow.version == version, final_only())
    n = s.scalar(select(func.count()).select_from(MonitorWindow).where(*where)) or 0
    if not n:
        return VersionWindows()

    def newest(*extra: Any) -> datetime | None:
        row = s.execute(
            select(MonitorWindow.window_start, MonitorWindow.window_seconds)
            .where(*where, *extra)
            .order_by(MonitorWindow.window_start.desc())
            .limit(1)
        ).first()
        return None if row is None else utc(row[0]) + timedelta(seconds=row[1])

    return VersionWindows(int(n), newest(), newest(MonitorWindow.n_labelled > 0))
