"""Aware UTC times: the one reading of a given or stored time, and the time now.

Every part of aims that reads a time from the store, a file, a request or a
caller goes through :func:`utc`, so that comparisons and arithmetic never mix
naive and aware values. The rule is one: a naive time is read as UTC (that is
how aims writes times, and SQLite forgets the zone); an aware time is converted
to UTC. The module sits in the package's lowest layer, beside ``aims.errors``,
so core, storage, services and interfaces can all use it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

__all__ = ["now_utc", "utc"]


@overload
def utc(ts: datetime) -> datetime: ...


@overload
def utc(ts: None) -> None: ...


def utc(ts: datetime | None) -> datetime | None:
    """``ts`` as an aware UTC time: naive means UTC, aware is converted; ``None`` stays ``None``.

    Examples
    --------
    >>> utc(datetime(2026, 3, 1, 9, 30)).isoformat()
    '2026-03-01T09:30:00+00:00'
    >>> from datetime import timedelta, timezone
    >>> utc(datetime(2026, 3, 1, 11, 30, tzinfo=timezone(timedelta(hours=2)))).isoformat()
    '2026-03-01T09:30:00+00:00'
    >>> utc(None) is None
    True
    """
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def now_utc() -> datetime:
    """The current time, aware UTC.

    Examples
    --------
    >>> now_utc().utcoffset()
    datetime.timedelta(0)
    """
    return datetime.now(UTC)
