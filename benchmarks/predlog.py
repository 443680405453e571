#!/usr/bin/env python
"""Prediction log benchmark: request-path cost of logging, write throughput, streaming reads.

One command reproduces the figures in ``docs/benchmarks.md`` (## Prediction log)::

    .venv/bin/python benchmarks/predlog.py

Steps, each measured in a fresh process so peak memory is its own:

``append``
    Single-prediction appends with 25 features from one thread while the
    background thread writes: the time each ``append`` call takes, unpaced
    (with the rows per second sustained until ``close`` returns) and paced at
    1,000 and 5,000 requests/s (p50, p99, p99.9, max). Then 100-row requests.
``generate``
    Writes a log of ``--rows`` rows x ``--features`` features through the
    writer: 1,000-row appends spread over 24 hours, a flush after each (the
    files 1,000 predictions/s make with the default 1 s flush window).
``stream``
    Reads the whole log with ``iter_batches`` and merges per-column sums and
    counts batch by batch (what a monitor run does): time and peak RSS.
``count`` / ``scan``
    ``count()`` and a lazy per-hour aggregate collected with Polars' streaming
    engine: time and peak RSS.
``compact``
    ``compact_closed`` over the generated log, then the stream step again.

Results go to ``benchmarks/results/predlog.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DATA = HERE / "data"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step_append(root: str, features: int, n: int) -> dict[str, float]:
    import numpy as np

    from aims.storage.predlog import PredictionLogWriter

    rng = np.random.default_rng(0)
    rows = [
        {f"f{j}": float(v) for j, v in enumerate(rng.normal(size=features))} for _ in range(1000)
    ]

    def one(writer: PredictionLogWriter, i: int) -> int:
        t = time.perf_counter_ns()
        writer.append(
            "bench", 1, "production", [rows[i % 1000]], [i % 2], scores=[0.5], latency_ms=1.0
        )
        return time.perf_counter_ns() - t

    out: dict[str, float] = {"appends": n}
    # Unpaced: as fast as one thread can append, until close() has written everything.
    cost = np.empty(n)
    writer = PredictionLogWriter(root, flush_interval=1.0)
    start = time.perf_counter()
    for i in range(n):
        cost[i] = one(writer, i)
    appended = time.perf_counter() - start
    writer.close()
    total = time.perf_counter() - start
    out |= {
        "append_us_median": float(np.median(cost) / 1000),
        "append_us_p99": float(np.percentile(cost, 99) / 1000),
        "rows_per_s_enqueue": n / appended,
        "rows_per_s_to_disk": n / total,
    }
    # Paced, as a server under steady traffic: the per-call cost while flushes run.
    for rate in (1_000, 5_000):
        count = rate * 5
        cost = np.empty(count)
        writer = PredictionLogWriter(f"{root}-{rate}", flush_interval=1.0)
        start = time.perf_counter()
        for i in range(count):
            wait = start + i / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            cost[i] = one(writer, i)
        writer.close()
        q = np.percentile(cost, [50, 99, 99.9, 100]) / 1000
        out |= {
            f"paced{rate}_us_p50": float(q[0]),
            f"paced{rate}_us_p99": float(q[1]),
            f"paced{rate}_us_p999": float(q[2]),
            f"paced{rate}_us_max": float(q[3]),
        }
    # 100-row requests.
    batch = rows[:100]
    writer = PredictionLogWriter(root + "-batch", flush_interval=1.0)
    k = max(1, n // 100)
    start = time.perf_counter()
    for i in range(k):
        writer.append("bench", 1, "production", batch, [i % 2] * 100, scores=[0.5] * 100)
    appended = time.perf_counter() - start
    writer.close()
    total = time.perf_counter() - start
    out |= {
        "batch100_us_per_request": appended / k * 1e6,
        "batch100_rows_per_s_to_disk": 100 * k / total,
    }
    return out


def step_generate(root: str, features: int, rows: int) -> dict[str, float]:
    from datetime import UTC, datetime, timedelta

    import numpy as np
    import polars as pl

    from aims.storage.predlog import PredictionLogWriter

    rng = np.random.default_rng(1)
    chunk = 1000
    frame = pl.DataFrame({f"f{j}": rng.normal(size=chunk) for j in range(features)})
    preds = (rng.random(chunk) > 0.5).astype(int).tolist()
    scores = rng.random(chunk).tolist()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    n_chunks = rows // chunk
    start = time.perf_counter()
    with PredictionLogWriter(root, flush_interval=60) as writer:
        for i in range(n_chunks):
            ts = t0 + timedelta(seconds=86_400 * i / n_chunks)  # spread over 24 hours
            writer.append("bench", 1, "production", frame, preds, scores=scores, ts=ts)
            # One file per 1,000 rows, as 1,000 predictions/s flushed every second make.
            writer.flush()
    seconds = time.perf_counter() - start
    files = list(Path(root).rglob("part-*.parquet"))
    return {
        "rows": n_chunks * chunk,
        "seconds": seconds,
        "rows_per_s": n_chunks * chunk / seconds,
        "files": len(files),
        "mb_on_disk": sum(f.stat().st_size for f in files) / 2**20,
    }


def step_stream(root: str) -> dict[str, float]:
    import polars as pl

    from aims.storage.predlog import PredictionLogReader

    reader = PredictionLogReader(root)
    start = time.perf_counter()
    features = [c for c in reader.schema("bench") if c.startswith("f")]
    sums: dict[str, float] = dict.fromkeys(features, 0.0)
    rows = 0
    for batch in reader.iter_batches("bench", columns=features, batch_rows=250_000):
        totals = batch.select(pl.col(features).sum()).row(0)
        for name, value in zip(features, totals, strict=True):
            sums[name] += value
        rows += batch.height
    return {"rows": rows, "seconds": time.perf_counter() - start, "peak_rss_mb": _peak_mb()}


def step_count(root: str) -> dict[str, float]:
    from aims.storage.predlog import PredictionLogReader

    start = time.perf_counter()
    n = PredictionLogReader(root).count("bench")
    return {"rows": n, "seconds": time.perf_counter() - start, "peak_rss_mb": _peak_mb()}


def step_scan(root: str) -> dict[str, float]:
    import polars as pl

    from aims.storage.predlog import PredictionLogReader

    start = time.perf_counter()
    lazy = PredictionLogReader(root).scan("bench")
    out = (
        lazy.group_by(pl.col("ts").dt.truncate("1h"))
        .agg(pl.len(), pl.col("score").mean(), pl.col("f0").mean())
        .collect(engine="streaming")
    )
    return {"groups": out.height, "seconds": time.perf_counter() - start, "peak_rss_mb": _peak_mb()}


def step_compact(root: str) -> dict[str, float]:
    from datetime import UTC, datetime

    from aims.storage.predlog import compact_closed

    start = time.perf_counter()
    result = compact_closed(root, now=datetime(2026, 1, 3, tzinfo=UTC))
    files = len(list(Path(root).rglob("part-*.parquet")))
    return {
        "partitions": result.partitions,
        "files_merged": result.files_merged,
        "files_after": files,
        "seconds": time.perf_counter() - start,
        "peak_rss_mb": _peak_mb(),
    }


STEPS = {
    "append": step_append,
    "generate": step_generate,
    "stream": step_stream,
    "count": step_count,
    "scan": step_scan,
    "compact": step_compact,
}


def run(step: str, *args: object) -> dict[str, float]:
    """Run ``step`` in a fresh interpreter and return its JSON result."""
    cmd = [sys.executable, __file__, "--step", step, *map(str, args)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    print(f"{step}: {result}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--features", type=int, default=25)
    parser.add_argument("--appends", type=int, default=200_000)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="100,000 rows and 5,000 unpaced appends; "
        "results in benchmarks/results/quick/, not comparable with the full run",
    )
    opts = parser.parse_args()
    if opts.quick:
        global DATA, RESULTS
        DATA, RESULTS = DATA / "quick", RESULTS / "quick"
        opts.rows, opts.appends = 100_000, 5_000
    if opts.step:
        args = [int(a) if a.isdigit() else a for a in opts.args]
        print(json.dumps(STEPS[opts.step](*args)))
        return
    work = DATA / "predlog"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = str(work / "log")
    results = {
        "rows": opts.rows,
        "features": opts.features,
        "append": run("append", str(work / "append"), opts.features, opts.appends),
        "generate": run("generate", log, opts.features, opts.rows),
        "stream": run("stream", log),
        "count": run("count", log),
        "scan": run("scan", log),
        "compact": run("compact", log),
    }
    results["stream_compacted"] = run("stream", log)
    results["scan_compacted"] = run("scan", log)
    import platform

    import polars

    results["versions"] = {"python": platform.python_version(), "polars": polars.__version__}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"predlog_{opts.rows}.json").write_text(json.dumps(results, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
