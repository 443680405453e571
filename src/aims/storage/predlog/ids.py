"""Prediction ids: 32 hex digits, a millisecond timestamp then 80 random bits.

Ids sort by creation time (to the millisecond), like a ULID, so the log's files
and a key-ordered index stay roughly in arrival order; the random part makes a
collision between two servers as unlikely as a UUID's.
"""

from __future__ import annotations

import os
import time

__all__ = ["new_id", "new_ids"]


def new_id() -> str:
    """A prediction id: 32 hex digits, a millisecond timestamp then 80 random bits.

    Ids sort by creation time (to the millisecond), like a ULID.

    Examples
    --------
    >>> a = new_id(); len(a), a < new_id() or a[:12] == new_id()[:12]
    (32, True)
    """
    return new_ids(1)[0]


def new_ids(n: int) -> list[str]:
    """``n`` ids as :func:`new_id` makes them, with one call to the random source."""
    prefix = f"{time.time_ns() // 1_000_000:012x}"
    noise = os.urandom(10 * n).hex()
    return [prefix + noise[20 * i : 20 * i + 20] for i in range(n)]
