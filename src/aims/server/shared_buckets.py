"""Token buckets shared by the worker processes of ``aims serve --workers N``.

A rate limit held per process lets N workers admit N times what one admits.
Here every worker maps the same file of fixed-size slots (in ``/dev/shm``
where it exists, so it is memory and never written back to a disk), created
by the supervisor before it starts the workers and removed when it stops:

- a slot is ``(fingerprint, tokens, last refill)``: 24 bytes. A caller's slot
  is found by a stable 64-bit hash of its name (Python's own ``hash`` differs
  from process to process), looked up among :data:`PROBES` neighbouring
  slots; a full neighbourhood gives up the slot that refilled longest ago,
  which carries the least state (a bucket idle long enough is full again).
- every read-modify-write of a slot holds an exclusive ``flock`` on the file.
  The kernel drops that lock when its process dies, so a worker killed in the
  middle of an update cannot leave the others waiting forever, as a lock kept
  in the shared memory itself would. Threads of one process share the file's
  lock, so they also take a :class:`threading.Lock` first.
- refills are computed from ``time.monotonic``, one clock for the whole
  machine, so any worker may refill a bucket another one drained.

Each worker remembers where its callers' slots are, so a request hashes its
caller once and then costs one locked read and write of 24 bytes
(``benchmarks/bench_shared_buckets.py`` measures it).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import mmap
import os
import struct
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from aims.server.ratelimit import RateLimiter

__all__ = ["PROBES", "SharedBuckets", "SharedRateLimiter", "create_bucket_file"]

SLOT = struct.Struct("<Qdd")
"""One bucket: its caller's fingerprint (0: free), tokens left, time of the last refill."""
PROBES = 8
"""Neighbouring slots a caller's bucket may be in."""
DEFAULT_SLOTS = 65_536
"""Buckets kept at once (1.5 MB); more callers than that share out the idlest slots."""


def create_bucket_file(slots: int = DEFAULT_SLOTS) -> Path:
    """A new zeroed bucket file for the workers to share, in a folder of its own.

    The caller removes the folder (``path.parent``) once every worker has stopped.
    """
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    folder = Path(tempfile.mkdtemp(prefix="aims-limits-", dir=base))
    path = folder / "buckets"
    with path.open("wb") as f:
        f.truncate((slots + PROBES) * SLOT.size)
    return path


def fingerprint(caller: str) -> int:
    """A stable, non-zero 64-bit hash of ``caller``, the same in every process.

    Examples
    --------
    >>> fingerprint("key:k0123") == fingerprint("key:k0123") != fingerprint("key:k0124")
    True
    """
    digest = hashlib.blake2b(caller.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") or 1


class SharedBuckets:
    """The bucket file mapped into this process (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_RDWR)
        size = os.fstat(self._fd).st_size
        if size < (PROBES + 1) * SLOT.size or size % SLOT.size:
            os.close(self._fd)
            raise ValueError(f"{self.path} is not a bucket file ({size} bytes)")
        self._map = mmap.mmap(self._fd, size)
        self.slots = size // SLOT.size - PROBES
        self._threads = threading.Lock()

    def acquire(self) -> None:
        """Hold the file for one update, against other threads and other workers.

        A pair of calls rather than a context manager: this is on every
        request's path, and a generator-based ``with`` costs as much as the lock.
        """
        self._threads.acquire()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        """Let the next update in (after :meth:`acquire`)."""
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def read(self, index: int) -> tuple[int, float, float]:
        """Slot ``index``: fingerprint, tokens, last refill. Hold :meth:`acquire`."""
        return SLOT.unpack_from(self._map, index * SLOT.size)

    def write(self, index: int, fp: int, tokens: float, last: float) -> None:
        """Set slot ``index``. Hold :meth:`acquire`."""
        SLOT.pack_into(self._map, index * SLOT.size, fp, tokens, last)

    def find(self, fp: int) -> tuple[int, bool]:
        """The slot of fingerprint ``fp`` and whether it holds it already. Hold :meth:`acquire`.

        A caller not found gets the first free slot of its neighbourhood, else
        the one refilled longest ago.
        """
        start = fp % self.slots
        free = -1
        oldest, oldest_at = start, float("inf")
        for index in range(start, start + PROBES):
            held, _, last = self.read(index)
            if held == fp:
                return index, True
            if held == 0:
                if free < 0:
                    free = index
            elif last < oldest_at:
                oldest, oldest_at = index, last
        return (free if free >= 0 else oldest), False

    def close(self) -> None:
        """Unmap the file (the supervisor removes it)."""
        with contextlib.suppress(BufferError, ValueError):
            self._map.close()
        with contextlib.suppress(OSError):
            os.close(self._fd)


class SharedRateLimiter(RateLimiter):
    """A :class:`~aims.server.ratelimit.RateLimiter` whose buckets every worker shares.

    ``namespace`` keeps apart the callers of limiters sharing one file (API
    keys and client addresses). ``rate`` and ``burst`` are this limiter's own;
    every worker builds its limiters from the same settings.
    """

    def __init__(
        self,
        buckets: SharedBuckets,
        namespace: str,
        rate: float,
        burst: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(rate, burst, clock=clock)
        self.buckets = buckets
        self.namespace = namespace
        self._where: dict[str, tuple[int, int]] = {}
        """Caller -> (fingerprint, slot), so the hash is computed once per caller."""

    def wait_time(self, caller: str) -> float:
        """Take a token for ``caller`` from the shared bucket: 0.0 when allowed, else the wait."""
        where = self._where.get(caller)
        if where is None:
            if len(self._where) >= self.max_callers:
                self._where.clear()
            where = (fingerprint(f"{self.namespace}:{caller}"), -1)
        fp, index = where
        buckets = self.buckets
        buckets.acquire()
        try:
            now = self._clock()
            held, tokens, last = buckets.read(index) if index >= 0 else (0, 0.0, 0.0)
            if held != fp:  # not placed yet, or given up to another caller meanwhile
                index, found = buckets.find(fp)
                if found:
                    _, tokens, last = buckets.read(index)
                else:
                    tokens, last = self.burst, now
                self._where[caller] = (fp, index)
            tokens = min(self.burst, tokens + max(0.0, now - last) * self.rate)
            if tokens >= 1.0:
                buckets.write(index, fp, tokens - 1.0, now)
                return 0.0
            buckets.write(index, fp, tokens, now)
        finally:
            buckets.release()
        return (1.0 - tokens) / self.rate
