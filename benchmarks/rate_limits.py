"""Benchmark: what a request pays for the rate limit, in one process and shared by workers.

Times ``wait_time`` (one token taken per call, as :meth:`aims.server.auth.Guard.permit`
takes one per request) for:

- ``in-process``: :class:`aims.server.ratelimit.RateLimiter`, a single server's buckets;
- ``shared``: :class:`aims.server.shared_buckets.SharedRateLimiter`, the buckets
  ``aims serve --workers N`` maps into every worker, from one process;
- ``shared, N processes``: N spawned processes calling at once on the same
  file, all for one key (the worst case: every call waits for the same lock)
  and each for its own key.

The limit is set high enough that no call is refused; the figure is the
median of ``--repeat`` runs of ``--calls`` calls, in microseconds per call.

    python benchmarks/rate_limits.py [--calls 200000] [--repeat 5] [--processes 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from aims.server.ratelimit import RateLimiter
from aims.server.shared_buckets import SharedBuckets, SharedRateLimiter, create_bucket_file

RATE = BURST = 1e12
"""Never refuses: the benchmark times taking a token, not refusing one."""


def _per_call(limiter: RateLimiter, key: str, calls: int) -> float:
    wait = limiter.wait_time
    started = time.perf_counter()
    for _ in range(calls):
        wait(key)
    return (time.perf_counter() - started) / calls * 1e6


def _worker(path: str, key: str, calls: int, start: Any, out: Any) -> None:
    limiter = SharedRateLimiter(SharedBuckets(path), "key", RATE, BURST)
    limiter.wait_time(key)  # placed before the clock starts
    start.wait()
    out.put(_per_call(limiter, key, calls))


def _together(path: Path, processes: int, calls: int, same_key: bool) -> float:
    """Microseconds per call, averaged over ``processes`` processes calling at once."""
    context = multiprocessing.get_context("spawn")
    start, out = context.Event(), context.Queue()
    pool = [
        context.Process(
            target=_worker,
            args=(str(path), "k" if same_key else f"k{n}", calls, start, out),
        )
        for n in range(processes)
    ]
    for p in pool:
        p.start()
    time.sleep(2.0)  # let every process import and attach before the start
    start.set()
    results = [out.get(timeout=600) for _ in pool]
    for p in pool:
        p.join()
    return statistics.mean(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    path = create_bucket_file()
    try:
        local = RateLimiter(RATE, BURST)
        shared = SharedRateLimiter(SharedBuckets(path), "key", RATE, BURST)
        rows = {
            "in-process": [_per_call(local, "k", args.calls) for _ in range(args.repeat)],
            "shared": [_per_call(shared, "k", args.calls) for _ in range(args.repeat)],
        }
        n = args.processes
        rows[f"shared, {n} processes, one key"] = [
            _together(path, n, args.calls, same_key=True) for _ in range(args.repeat)
        ]
        rows[f"shared, {n} processes, a key each"] = [
            _together(path, n, args.calls, same_key=False) for _ in range(args.repeat)
        ]
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    print(f"{'limiter':<36} {'us/call (median)':>16} {'min':>8} {'max':>8}")
    for name, values in rows.items():
        print(
            f"{name:<36} {statistics.median(values):>16.2f} {min(values):>8.2f} {max(values):>8.2f}"
        )


if __name__ == "__main__":
    main()
