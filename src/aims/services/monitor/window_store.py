"""The stored monitoring windows (``monitor_windows``): every query of them lives here.

A stored window is the result of one model version and role over one
window of time. It is *final* once its window closed and the monitor
computed it; a *provisional* window (``aims monitor run --now``) holds the
figures of a window still open, is marked ``"provisional": true`` in its
results, never fires a trigger, and is replaced by the final window when the
window closes. Queries that feed triggers, baselines and late labels read
final windows only; queries that feed what people look at return both and
let the caller show the mark.

Every function takes an open session; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, delete, false, func, select
from sqlalchemy.orm import Session

from aims.clock import utc
from aims.storage.schema import Model, ModelVersion, MonitorWindow

#: Roles that receive or shadow traffic; "none" marks a version's empty window.
SHOWN_ROLES = ("production", "canary", "shadow")


def is_provisional(results: dict[str, Any] | None) -> bool:
    """Whether stored ``results`` are those of a window still open."""
    return bool((results or {}).get("provisional"))


def _final() -> ColumnElement[bool]:
    # A JSON flag, not a column: older windows simply lack it (final).
    flag = MonitorWindow.results["provisional"].as_boolean()
    return func.coalesce(flag, false()) == false()


def _provisional() -> ColumnElement[bool]:
    return func.coalesce(MonitorWindow.results["provisional"].as_boolean(), false()) != false()


# --------------------------------------------------------------------------- writing
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
        computed_at=datetime.now(UTC),
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
            _provisional(),
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


# --------------------------------------------------------------------------- the monitor's own reads (final windows)
def computed(s: Session, model_id: int, seconds: int, since: datetime) -> set[tuple[int, datetime]]:
    """``(version, start)`` of every final window from ``since`` on."""
    rows = s.execute(
        select(MonitorWindow.version, MonitorWindow.window_start).where(
            MonitorWindow.model_id == model_id,
            MonitorWindow.window_seconds == seconds,
            MonitorWindow.window_start >= since,
            _final(),
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
                _final(),
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
            _final(),
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
            _final(),
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
            _final(),
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
            _final(),
        )
    ).all()
    return [(wid, v, r, utc(t), res) for wid, v, r, t, res in rows]


# --------------------------------------------------------------------------- what people look at
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
        MonitorWindow.model_id == model_id, MonitorWindow.role.in_(SHOWN_ROLES)
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
        .where(MonitorWindow.role.in_(SHOWN_ROLES), _final())
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
    where = (MonitorWindow.model_id == model_id, MonitorWindow.version == version, _final())
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


__all__ = [
    "SHOWN_ROLES",
    "VersionWindows",
    "add_window",
    "busy_starts",
    "computed",
    "current_windows",
    "drop_provisional",
    "earlier_windows",
    "is_provisional",
    "labelled_candidates",
    "latest_final_everywhere",
    "latest_of_version",
    "latest_production_window",
    "latest_profiled",
    "latest_windows",
    "predictions_of_role",
    "production_window",
    "recent_windows",
    "role_series",
    "version_of",
    "version_windows",
    "window",
    "window_at",
    "windows_by_id",
]
