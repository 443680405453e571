"""Worker threads for screening large values, shared fairly between agents.

Screening a large value (a megabyte of text takes a few hundred milliseconds)
runs off the event loop, on a small pool of threads. Without a rule of
sharing, one agent sending many large values at once would hold every thread
and the others' large calls would queue behind all of its work. Here each agent
holds at most one thread at a time: its further large values wait on the
agent's own lane, not in the pool's queue, so another agent's value starts as
soon as a thread is free.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["ScreeningLanes"]

T = TypeVar("T")


class ScreeningLanes:
    """``threads`` worker threads, of which each agent holds at most one at a time."""

    def __init__(self, threads: int = 2) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="aims-screening")
        self._lanes: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}

    async def run(self, agent: str, work: Callable[..., T], *args: object) -> T:
        """``work(*args)`` on a worker thread, once ``agent``'s earlier work there is done."""
        lane = self._lanes.setdefault(agent, asyncio.Lock())
        self._waiting[agent] = self._waiting.get(agent, 0) + 1
        try:
            async with lane:
                done = asyncio.get_running_loop().run_in_executor(self._pool, work, *args)
                try:
                    return await asyncio.shield(done)
                except asyncio.CancelledError:
                    # The caller went away (a client that hung up), but the thread still
                    # works: the lane stays held until it is free, or an agent hanging up
                    # again and again would hold every thread.
                    await asyncio.wait([done])
                    raise
        finally:
            # A lane lives while its agent has work in it, so the table stays as small as
            # the number of agents sending large values just now.
            self._waiting[agent] -= 1
            if not self._waiting[agent]:
                del self._waiting[agent]
                del self._lanes[agent]

    def active_lanes(self) -> int:
        """How many agents have work running or waiting here."""
        return len(self._lanes)

    def shutdown(self) -> None:
        """Stop the threads; work not yet started is cancelled."""
        self._pool.shutdown(wait=False, cancel_futures=True)
