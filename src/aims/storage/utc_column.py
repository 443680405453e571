"""The column type of every time in the metadata store: aware UTC in, aware UTC out.

PostgreSQL keeps the zone of a ``timestamp with time zone``; SQLite keeps none
and hands back naive values. This type converts what is written to UTC (so
SQLite stores UTC wall time, not whatever zone the caller used) and marks what
is read as UTC, so code above the store never sees a naive time from it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from aims.clock import utc

__all__ = ["UtcDateTime"]


class UtcDateTime(TypeDecorator[datetime]):
    """A ``DateTime(timezone=True)`` column whose values are always aware UTC.

    Examples
    --------
    >>> from datetime import timedelta, timezone
    >>> from sqlalchemy.dialects import sqlite
    >>> col = UtcDateTime()
    >>> col.process_result_value(datetime(2026, 3, 1, 9), sqlite.dialect()).isoformat()
    '2026-03-01T09:00:00+00:00'
    >>> paris = timezone(timedelta(hours=1))
    >>> col.process_bind_param(datetime(2026, 3, 1, 10, tzinfo=paris), sqlite.dialect()).hour
    9
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert a time on its way into the store to aware UTC."""
        return utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Mark a time read back from the store as aware UTC."""
        return utc(value)
