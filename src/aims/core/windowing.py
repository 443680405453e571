"""Monitoring windows in time: which window a moment falls in, and when it closes.

A window of ``seconds`` starts at a whole multiple of ``seconds`` since the
Unix epoch (1970-01-01 00:00 UTC). Window lengths divide a day (or are whole
days), so windows are also aligned to midnight UTC. Every part of aims that
buckets a time into a window (the monitor over the prediction log, over the
labels, the dashboard) goes through this module, in Python or as a Polars
expression, so they cannot disagree about where a window starts.

Polars is imported inside :func:`window_column` only: reading incidents and
windows does not load the dataframe stack.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aims.clock import utc

if TYPE_CHECKING:
    import polars as pl

#: Where windows are counted from.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_start(ts: datetime, seconds: int) -> datetime:
    """Start of the window of length ``seconds`` holding ``ts``.

    Examples
    --------
    >>> window_start(datetime(2026, 3, 1, 9, 59, tzinfo=UTC), 3600)
    datetime.datetime(2026, 3, 1, 9, 0, tzinfo=datetime.timezone.utc)
    """
    offset = math.floor((utc(ts) - EPOCH).total_seconds() / seconds) * seconds
    return EPOCH + timedelta(seconds=offset)


def window_end(start: datetime, seconds: int) -> datetime:
    """End (exclusive) of the window starting at ``start``.

    Examples
    --------
    >>> window_end(datetime(2026, 3, 1, 9, tzinfo=UTC), 900).time().isoformat()
    '09:15:00'
    """
    return utc(start) + timedelta(seconds=seconds)


def windows_of_hour(hour: datetime, seconds: int) -> list[datetime]:
    """Starts of the windows that overlap the log hour starting at ``hour``.

    Examples
    --------
    >>> [s.minute for s in windows_of_hour(datetime(2026, 3, 1, 9, tzinfo=UTC), 1800)]
    [0, 30]
    """
    out = []
    start = window_start(hour, seconds)
    end = utc(hour) + timedelta(hours=1)
    while start < end:
        out.append(start)
        start += timedelta(seconds=seconds)
    return out


def window_column(ts: pl.Expr, seconds: int) -> pl.Expr:
    """The start of each row's window, as an aware UTC datetime column.

    The same arithmetic as :func:`window_start`, on whole microseconds, so a
    row and the Python side agree on its window to the microsecond.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"ts": [datetime(2026, 3, 1, 9, 59, tzinfo=UTC)]})
    >>> frame.select(window_column(pl.col("ts"), 3600)).item()
    datetime.datetime(2026, 3, 1, 9, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC'))
    """
    import polars as pl

    micro = seconds * 1_000_000
    return ((ts.dt.epoch("us") // micro) * micro).cast(pl.Datetime("us", "UTC"))


__all__ = ["EPOCH", "window_column", "window_end", "window_start", "windows_of_hour"]
