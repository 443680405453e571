"""A bounded memory of recently seen keys, for dropping spans an exporter sends twice.

An OTLP exporter that gets no answer to an export (a timeout, a dropped
connection) sends the same batch again, although the first one may have been
stored. :class:`RecentKeys` remembers the keys of the last ``window`` spans
taken in, so the copy is recognised and dropped. Memory is bounded: keys are
kept in two generations of at most ``window`` each, and when the newer one is
full the older one is forgotten. At any time at least the last ``window``
keys claimed are remembered, and at most twice that many.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable

__all__ = ["RecentKeys"]


class RecentKeys:
    """The keys claimed lately; a key claimed again within the window is refused.

    Parameters
    ----------
    window
        Keys remembered at least (the last ones claimed); at most twice this
        many are held.

    Examples
    --------
    >>> seen = RecentKeys(window=2)
    >>> seen.claim(["a", "b", "a"])
    [True, True, False]
    >>> seen.claim(["b", "c", "d"])
    [False, True, True]
    >>> seen.claim(["e", "a", "c"])  # "e" starts a generation: "a" and "b" are forgotten
    [True, True, False]
    """

    def __init__(self, window: int) -> None:
        if window < 1:
            raise ValueError(f"window is a number of keys, 1 or more, not {window}")
        self.window = window
        self._new: set[Hashable] = set()
        self._old: set[Hashable] = set()
        self._lock = threading.Lock()

    def claim(self, keys: Iterable[Hashable]) -> list[bool]:
        """For each key, whether it is new (and now remembered) rather than seen lately.

        A key repeated within ``keys`` is new the first time only. Atomic: two
        threads claiming the same key cannot both get True.
        """
        out = []
        with self._lock:
            for key in keys:
                if key in self._new or key in self._old:
                    out.append(False)
                    continue
                if len(self._new) >= self.window:
                    self._old, self._new = self._new, set()
                self._new.add(key)
                out.append(True)
        return out

    def release(self, keys: Iterable[Hashable]) -> None:
        """Forget ``keys``: they were claimed but could not be kept, so a retry must be taken."""
        with self._lock:
            for key in keys:
                self._new.discard(key)
                self._old.discard(key)

    def __len__(self) -> int:
        return len(self._new) + len(self._old)
