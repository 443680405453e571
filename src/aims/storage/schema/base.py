"""The declarative base every table derives from, and the time column type."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from aims.storage.utc_column import UtcDateTime

__all__ = ["TS", "Base"]


class Base(DeclarativeBase):
    """Declarative base of every table."""


#: Every time column: aware UTC in and out, whatever the database keeps.
TS = UtcDateTime()
