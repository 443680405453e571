#!/usr/bin/env python
"""What two processes can do against one on this machine: the ceiling of any 2-vs-1 ratio.

    python benchmarks/cpu_ceiling.py            # about 30 s

Runs a fixed single-threaded job shaped like profiling (sorting, histogram
counts and sums over float arrays of 250,000 values, NumPy on one thread)
alone, then two copies at once in separate processes, and reports
``2 x time alone / time of the pair``. On two real cores it is about 2.0;
on two virtual CPUs that share one physical core (hyperthreads), or under a
hypervisor that does not give each a core of its own, it is lower, and no
engine can scale past it. The Dask scaling figures in docs/benchmarks.md
are read against this ratio, measured in the same quiet window.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

JOB = """
import os
os.environ["OMP_NUM_THREADS"] = "1"
import numpy as np
rng = np.random.default_rng(7)
x = rng.normal(size=250_000)
edges = np.linspace(-4, 4, 65)
t = 0.0
for i in range({rounds}):
    y = x * (1 + i * 1e-6)
    s = np.sort(y)
    h = np.histogram(y, edges)[0]
    t += float(s[125_000]) + float(h.sum()) + float(y.sum())
print(t)
"""


def _run(copies: int, rounds: int) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", JOB.format(rounds=rounds)], env=env, stdout=subprocess.DEVNULL
        )
        for _ in range(copies)
    ]
    for p in procs:
        if p.wait() != 0:
            raise SystemExit("the job failed")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=400, help="work per process (default 400)")
    parser.add_argument("--repeat", type=int, default=3, help="alternating measurements of each")
    args = parser.parse_args()
    alone, pair = [], []
    for _ in range(args.repeat):
        alone.append(_run(1, args.rounds))
        pair.append(_run(2, args.rounds))
    one, two = min(alone), min(pair)
    result = {
        "alone_s": [round(t, 2) for t in alone],
        "pair_s": [round(t, 2) for t in pair],
        "ceiling_2_vs_1": round(2 * one / two, 3),
        "load_after": os.getloadavg()[0],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
