#!/usr/bin/env python
"""Drift-detection benchmark of aims against its peers, plus accuracy and memory checks.

One command reproduces every figure in ``docs/benchmarks.md`` (## Drift detection)::

    .venv/bin/python benchmarks/drift.py --all

Steps (each can be run alone):

``--setup``
    Create the peers' virtual environments ``benchmarks/venv-<peer>`` if missing
    (they pin clashing numpy/pandas/pyarrow versions, so each gets its own).
``--peers``
    Generate ``benchmarks/data/{ref,cur}_<n>.parquet`` with the shared generator
    and run ``bench_peers.py`` (aims and every peer, each in a fresh process).
``--null``
    False-alarm check: reference and current drawn from the *same* distribution
    (the generator's reference distribution), 1,000,000 rows, 20 seeds.
``--stream``
    Write a 10,000,000-row Parquet file and profile it by streaming, in a fresh
    process, reporting the time and the peak resident memory.

Results go to ``benchmarks/results/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DATA = HERE / "data"

# peer -> pip requirements (pins from the shared harness notes: each peer's
# own numpy / pandas / pyarrow constraints)
PEER_ENVS: dict[str, list[str]] = {
    "evidently": ["evidently==0.7.23", "pandas<3", "pyarrow", "polars"],
    "nannyml": ["nannyml==0.13.1", "statsmodels", "plotly", "pyarrow", "polars"],
    "alibi": ["alibi-detect==0.13.0", "numpy<2", "pandas<3", "pyarrow<22"],
    "whylogs": ["whylogs[viz]==1.6.4", "numpy<2", "pyarrow<22", "pandas<3"],
}
DEFAULT_TOOLS = "aims,numpy_psi,scipy_tests,evidently,nannyml,whylogs,alibi_detect"


def setup() -> None:
    """Create missing peer environments (a few minutes the first time)."""
    for env, reqs in PEER_ENVS.items():
        python = HERE / f"venv-{env}" / "bin" / "python"
        if python.exists():
            print(f"venv-{env}: present")
            continue
        print(f"venv-{env}: creating", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(python.parent.parent)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *reqs], check=True)


def peers(ns: list[int], tools: str, repeats: int) -> None:
    """Run the shared harness (with its aims entry) for each N."""
    cmd = [
        sys.executable,
        str(HERE / "bench_peers.py"),
        "--n",
        *map(str, ns),
        "--tools",
        tools,
        "--repeats",
        str(repeats),
        "--data-dir",
        str(DATA),
        "--results-dir",
        str(RESULTS),
    ]
    subprocess.run(cmd, check=True)


def null_check(n: int, seeds: int) -> dict:
    """Flags raised when both samples come from the same distribution."""
    sys.path.insert(0, str(HERE))
    import gen_drift_data as gen
    import numpy as np
    import polars as pl

    from aims.core.drift import compare

    truth = gen.truth_dict()
    kinds = {c: "numeric" for c in truth["numerical_columns"]}
    kinds.update({c: "categorical" for c in truth["categorical_columns"]})
    flagged: dict[str, int] = {}
    largest: dict[str, float] = {}
    runs = []
    for seed in range(seeds):
        rng = np.random.default_rng([1000 + seed, n])
        ref = pl.from_arrow(gen.make_frame(n, rng, current=False))
        cur = pl.from_arrow(gen.make_frame(n, rng, current=False))
        t0 = time.perf_counter()
        report = compare(ref, cur, kinds=kinds)
        runs.append(time.perf_counter() - t0)
        for c in report.columns:
            flagged[c.name] = flagged.get(c.name, 0) + int(c.drifted)
            largest[c.name] = max(largest.get(c.name, 0.0), float(c.statistic or 0.0))
        print(f"null seed {seed}: {report.n_drifted} flagged in {runs[-1]:.2f}s", flush=True)
    total = sum(flagged.values())
    cols = len(flagged)
    return {
        "n": n,
        "seeds": seeds,
        "columns": cols,
        "false_alarms": total,
        "false_alarm_rate": total / (cols * seeds),
        "largest_statistic": max(largest.values()),
        "largest_by_column": largest,
        "drift_s_median": sorted(runs)[len(runs) // 2],
    }


def _write_big(path: Path, rows: int, chunk: int) -> None:
    sys.path.insert(0, str(HERE))
    import gen_drift_data as gen
    import numpy as np
    import pyarrow.parquet as pq

    writer = None
    try:
        for i in range(rows // chunk):
            table = gen.make_frame(chunk, np.random.default_rng([7, i]), current=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=250_000)
    finally:
        if writer is not None:
            writer.close()


def _stream_worker(path: str) -> None:
    import resource

    from aims.core.profile import dumps, profile

    t0 = time.perf_counter()
    prof = profile(path)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    out = {
        "rows": prof.rows,
        "seconds": seconds,
        "peak_rss_mb": peak,
        "profile_bytes": len(dumps(prof)),
        "columns": len(prof.columns),
    }
    print("@@STREAM " + json.dumps(out), flush=True)


def stream_check(rows: int) -> dict:
    """Profile a ``rows``-row Parquet file by streaming; peak RSS of a fresh process."""
    path = DATA / f"stream_{rows}.parquet"
    if not path.exists():
        print(f"writing {path} ...", flush=True)
        _write_big(path, rows, min(rows, 1_000_000))
    proc = subprocess.run(
        [sys.executable, __file__, "--stream-worker", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("@@STREAM "))
    out = json.loads(line.split(" ", 1)[1])
    out["file_mb"] = path.stat().st_size / 2**20
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--all", action="store_true", help="setup, peers, null and stream")
    ap.add_argument("--setup", action="store_true")
    ap.add_argument("--peers", action="store_true")
    ap.add_argument("--null", action="store_true")
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--tools", default=DEFAULT_TOOLS)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--null-n", type=int, default=1_000_000)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--stream-rows", type=int, default=10_000_000)
    ap.add_argument("--stream-worker", help=argparse.SUPPRESS)
    ap.add_argument(
        "--quick",
        action="store_true",
        help="aims and the baselines that need no peer environment on 20,000 rows, a 2-seed "
        "null check and a 500,000-row stream; "
        "results in benchmarks/results/quick/, not comparable with the full run",
    )
    args = ap.parse_args()
    if args.stream_worker:
        _stream_worker(args.stream_worker)
        return
    if args.quick:
        global RESULTS, DATA
        RESULTS, DATA = RESULTS / "quick", DATA / "quick"
        args.peers = args.null = args.stream = True
        args.n, args.tools, args.repeats = [20_000], "aims,numpy_psi,scipy_tests", 1
        args.null_n, args.seeds, args.stream_rows = 20_000, 2, 500_000
    RESULTS.mkdir(parents=True, exist_ok=True)
    DATA.mkdir(parents=True, exist_ok=True)
    if args.all or args.setup:
        setup()
    if args.all or args.peers:
        peers(args.n, args.tools, args.repeats)
    extra_path = RESULTS / "drift_extra.json"
    extra = json.loads(extra_path.read_text()) if extra_path.exists() else {}
    if args.all or args.null:
        extra["null"] = null_check(args.null_n, args.seeds)
        extra_path.write_text(json.dumps(extra, indent=1))
        print(json.dumps({k: v for k, v in extra["null"].items() if k != "largest_by_column"}))
    if args.all or args.stream:
        extra["stream"] = stream_check(args.stream_rows)
        extra_path.write_text(json.dumps(extra, indent=1))
        print(json.dumps(extra["stream"]))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
