#!/usr/bin/env python
"""Monitoring benchmark: one monitor pass over a large prediction log, time and peak memory.

One command reproduces the figures in ``docs/benchmarks.md`` (## Monitoring)::

    .venv/bin/python benchmarks/monitor.py

Steps (each can be run alone):

``--generate``
    Create a workspace in ``benchmarks/data/monitor/``: a 100,000-row training
    set with 25 features (20 numeric, 5 categorical) and a binary label, a
    scikit-learn pipeline trained on it (registered, in production), and a
    prediction log of ``--rows`` predictions (default 10,000,000) made by that
    model over ``--hours`` hourly partitions, in the log's own layout and
    columns. The last quarter of the hours has a covariate shift in 5 features.
    ``--labelled`` of the predictions (default 20 %) get labels through
    ``LabelStore.ingest``.
``--run``
    Run ``aims monitor run --once`` in a fresh process (every window is
    computed: profiles, drift, sanity, data health, volume, performance) and
    report wall time, peak resident memory and what it found; then a second,
    idempotent pass over the same windows.

Results go to ``benchmarks/results/monitor.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "monitor"
RESULTS = HERE / "results"
ROOT = HERE.parent
START = datetime(2026, 3, 2, tzinfo=UTC)
NUMERIC = [f"num_{i:02d}" for i in range(20)]
CATEGORICAL = [f"cat_{i}" for i in range(5)]
FEATURES = NUMERIC + CATEGORICAL
SHIFTED = NUMERIC[:5]


def _frame(rng: np.random.Generator, n: int, shift: float = 0.0) -> pl.DataFrame:
    x = rng.normal(0.0, 1.0, (n, len(NUMERIC)))
    x[:, : len(SHIFTED)] += shift
    cols: dict[str, object] = {name: x[:, i] for i, name in enumerate(NUMERIC)}
    for i, name in enumerate(CATEGORICAL):
        values = np.array([f"v{j}" for j in range(4 + 3 * i)])
        cols[name] = values[rng.integers(0, values.size, n)]
    frame = pl.DataFrame(cols)
    logit = x[:, 0] - 0.8 * x[:, 1] + 0.5 * x[:, 2] + 0.3 * (frame["cat_0"] == "v0").to_numpy()
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return frame.with_columns(pl.Series("y", y))


def generate(rows: int, hours: int, labelled: float) -> None:
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from skops.io import dump

    from aims.services import lifecycle, registry
    from aims.storage.predlog import LabelStore
    from aims.workspace import Workspace, init_workspace

    if DATA.exists():
        shutil.rmtree(DATA)
    DATA.mkdir(parents=True)
    rng = np.random.default_rng(0)
    train = _frame(rng, 100_000)
    train.write_parquet(DATA / "train.parquet")
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), CATEGORICAL), remainder="passthrough"),
        LogisticRegression(max_iter=200),
    ).fit(train.select(FEATURES).to_pandas(), train["y"].to_numpy())
    dump(model, DATA / "model.skops")

    root = init_workspace(DATA / "ws")
    import yaml

    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["policy"] = {
        "default_tier": "minimal",
        "tiers": {"minimal": {}, "limited": {}, "high": {}, "unacceptable": {"prohibited": True}},
    }
    config["monitor"] = {"lookback": "30d"}
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    ws = Workspace.open(root)
    registry.register_dataset(ws, DATA / "train.parquet", "bench", actor="bench@example.org")
    registry.register_model(
        ws,
        DATA / "model.skops",
        "bench",
        actor="bench@example.org",
        datasets=["bench@1"],
        owners={"monitoring": "oncall@example.org", "deployment": "ops@example.org"},
        metrics={"accuracy": 0.7},
    )
    lifecycle.promote(ws, "bench@1", "production", actor="ops@example.org")

    log = Path(ws.settings.prediction_log_url) / "model=bench" / "version=1"
    per_hour = rows // hours
    labels = []
    t0 = time.perf_counter()
    for h in range(hours):
        n = per_hour + (1 if h < rows % hours else 0)
        shift = 1.0 if h >= hours * 3 // 4 else 0.0
        data = _frame(rng, n, shift)
        proba = model.predict_proba(data.select(FEATURES).to_pandas())
        ts = START + timedelta(hours=h)
        ids = [f"{h:06d}{i:010d}" for i in range(n)]
        frame = pl.DataFrame(
            {
                "prediction_id": ids,
                "request_id": [f"r{h}-{i // 100}" for i in range(n)],
                "role": ["production"] * n,
                "ts": pl.datetime_range(
                    ts,
                    ts + timedelta(seconds=3599),
                    interval="1ms",
                    eager=True,
                    time_unit="us",
                    time_zone="UTC",
                )[:n]
                if n <= 3_600_000
                else [ts] * n,
                "latency_ms": rng.gamma(2.0, 2.0, n),
                "prediction": proba.argmax(axis=1).astype(str),
                "score": proba[:, 1],
                "proba": proba.tolist(),
                "key": [None] * n,
            },
            schema_overrides={"key": pl.String},
        ).with_columns(data.select(FEATURES))
        folder = log / f"hour={ts.strftime('%Y-%m-%dT%H')}"
        folder.mkdir(parents=True)
        frame.write_parquet(
            folder / "part-00000000T000000000000-bench.parquet",
            compression="zstd",
            row_group_size=100_000,
        )
        pick = rng.random(n) < labelled
        labels.append(
            pl.DataFrame(
                {"prediction_id": np.array(ids)[pick], "label": data["y"].to_numpy()[pick]}
            )
        )
        print(f"\rhour {h + 1}/{hours}", end="", flush=True)
    print(f"\nlog written: {rows:,} predictions in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    out = LabelStore(ws.settings.prediction_log_url).ingest("bench", pl.concat(labels))
    print(f"labels ingested: {out.matched:,} in {time.perf_counter() - t0:.1f} s")
    ws.close()


CHILD = r"""
import json, resource, sys, time
from aims.workspace import Workspace
from aims.services.monitor import run_once
ws = Workspace.open(sys.argv[1])
now = __import__("datetime").datetime.fromisoformat(sys.argv[2])
t0 = time.perf_counter()
summary = run_once(ws, now=now)
wall = time.perf_counter() - t0
print(json.dumps({"seconds": wall, "summary": summary.to_dict(),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _pass(now: datetime) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(DATA / "ws"), now.isoformat()],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        sys.exit(f"monitor pass failed:\n{proc.stderr}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_seconds"] = time.perf_counter() - t0
    out["process_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return out


def run() -> dict:
    from aims.workspace import Workspace

    ws = Workspace.open(DATA / "ws")
    from aims.storage.predlog import PredictionLogReader

    reader = PredictionLogReader(ws.settings.prediction_log_url)
    rows = reader.count("bench")
    hours = len(reader.partitions("bench"))
    ws.close()
    now = START + timedelta(hours=hours + 1)
    first = _pass(now)
    second = _pass(now)
    summary = first["summary"]
    result = {
        "measured": datetime.now(UTC).date().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        "polars": pl.__version__,
        "rows": rows,
        "features": len(FEATURES),
        "windows": summary["windows"],
        "seconds": round(first["seconds"], 1),
        "rows_per_second": round(rows / first["seconds"]),
        "peak_rss_mb": round(first["peak_rss_mb"]),
        "incidents_opened": len(summary["incidents_opened"]),
        "rerun_seconds": round(second["seconds"], 2),
        "rerun_windows": second["summary"]["windows"],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "monitor.json").write_text(
        json.dumps({**result, "first": first}, indent=2, default=str)
    )
    from aims.services.monitor import list_incidents

    ws = Workspace.open(DATA / "ws")
    kinds = sorted({(i["trigger"], i["first_window"]) for i in list_incidents(ws, status="all")})
    ws.close()
    print(json.dumps(result, indent=2))
    print("incidents:", kinds)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--generate", action="store_true")
    parser.add_argument("--run", action="store_true")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--hours", type=int, default=48)
    parser.add_argument("--labelled", type=float, default=0.2)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="generate 200,000 predictions over 8 hours and run once; "
        "data and results under quick/, not comparable with the full run",
    )
    args = parser.parse_args()
    if args.quick:
        global DATA, RESULTS
        DATA, RESULTS = DATA.parent / "quick" / "monitor", RESULTS / "quick"
        args.rows, args.hours = 200_000, 8
    both = not (args.generate or args.run)
    if args.generate or both:
        generate(args.rows, args.hours, args.labelled)
    if args.run or both:
        run()


if __name__ == "__main__":
    main()
