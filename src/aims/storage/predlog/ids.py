"""Prediction ids: 32 hex digits, a millisecond timestamp then 80 random bits.

Ids sort by creation time (to the millisecond), like a ULID, so the log's files
and a key-ordered index stay roughly in arrival order; the random part makes a
collision between two servers as unlikely as a UUID's.
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["new_id", "new_ids", "random_hex"]


def new_id() -> str:
    """A prediction id: 32 hex digits, a millisecond timestamp then 80 random bits.

    Ids sort by creation time (to the millisecond), like a ULID.

    Examples
    --------
    >>> a, b = new_id(), new_id()  # the timestamp of a later id is never earlier
    >>> len(a), a[:12] <= b[:12]
    (32, True)
    """
    return new_ids(1)[0]


def new_ids(n: int) -> list[str]:
    """``n`` ids as :func:`new_id` makes them."""
    prefix = f"{time.time_ns() // 1_000_000:012x}"
    noise = random_hex(10 * n)
    return [prefix + noise[20 * i : 20 * i + 20] for i in range(n)]


POOL_BYTES = 4096
"""Random bytes read from the operating system at a time."""

_pool = ""
_at = 0
_lock = threading.Lock()


def random_hex(nbytes: int) -> str:
    """``nbytes`` bytes from the operating system's random source, as hex digits.

    The bytes are read :data:`POOL_BYTES` at a time: each read is a system
    call that gives up the interpreter lock, and on a busy server getting the
    lock back could cost more than the read. The pool is emptied in a forked
    child, so no two processes hand out the same bytes.

    Examples
    --------
    >>> len(random_hex(10)), random_hex(16) != random_hex(16)
    (20, True)
    """
    global _pool, _at
    digits = 2 * nbytes
    with _lock:
        if _at + digits > len(_pool):
            _pool, _at = os.urandom(max(POOL_BYTES, nbytes)).hex(), 0
        taken = _pool[_at : _at + digits]
        _at += digits
    return taken


def _forget_pool() -> None:
    global _pool, _at, _lock
    _pool, _at, _lock = "", 0, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)
