"""A small bounded memory of what a page derived from one stored window.

A stored window's results and profile never change (a provisional window is
replaced by a new row, with a new id), so what a page derives from them (the
newest window's summary, its output distributions) can be kept, keyed by the
window's id and the time it was computed, instead of decoding the window's
results and profile again on every view.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["WindowMemo"]


class WindowMemo:
    """Values by key, the least recently used dropped past ``limit``; safe across threads."""

    def __init__(self, limit: int = 64) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], tuple[Any, bool]]) -> Any:
        """The value kept for ``key``, else ``make()``'s; ``make`` says whether to keep it."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value, keep = make()
        if keep:
            with self._lock:
                self._items[key] = value
                while len(self._items) > self._limit:
                    self._items.popitem(last=False)
        return value
