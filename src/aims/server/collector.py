"""The garbage collector while the server runs: what is alive at the start stays out of it,
and the youngest generation is collected less often.

A server's libraries and loaded models are alive for as long as it runs: frozen once
the server has started, a full collection no longer walks them, which would otherwise
pause requests for milliseconds. The thresholds are put back when the server stops, so
a process that runs a server for a while (a test, a notebook) keeps its own.
"""

from __future__ import annotations

import gc

__all__ = ["GC_THRESHOLD", "quieten"]

GC_THRESHOLD = (50_000, 10, 10)
"""The collector's thresholds while the server runs (Python's default: 700, 10, 10).

A request makes a few hundred container objects, almost none of them in a
cycle; at the default, the youngest generation was collected every request or
two, and an older one every ten of those. Collected every 50,000 allocations
instead, the MCP gateway's CPU per call fell by about 3 % (0.745-0.764 ms to
0.721-0.744 ms, ``benchmarks/gateway.py``); what waits is at most a few
megabytes of cyclic garbage.
"""


def quieten() -> tuple[int, int, int]:
    """Freeze every object alive now and set :data:`GC_THRESHOLD`; returns the thresholds
    it replaced, for ``gc.set_threshold`` when the server stops."""
    gc.freeze()
    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)
    return before
