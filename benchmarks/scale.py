#!/usr/bin/env python
"""Profiles and drift past one machine: the local engine, Dask with 1 and 2 workers, Spark, whylogs.

    python benchmarks/scale.py            # 30 million rows x 27 columns per side
    python benchmarks/scale.py --quick    # 2 million rows, for a first look

Data: two folders of Parquet files (reference and current, 1 million rows per
file, 27 columns) made with the shared drift generator's distributions
(/work/shared/bench/gen.py, else benchmarks/gen_drift_data.py), written file
by file so no process ever holds a whole side.

Each measurement is one real command in a fresh process (``aims profile``,
``aims drift``), timed from outside: wall time, CPU time of the process and
every process it waited for (Dask workers, the Spark JVM), the largest
resident set of any of them, and the load average before and after, since a
shared machine's other work shows in wall times. whylogs runs in its own
virtualenv (benchmarks/venv-whylogs, created on first use) on the same files,
merging one profile per file.

Results go to benchmarks/results/scale_<rows>.json and a Markdown table is
printed for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROWS_PER_FILE = 1_000_000
GENERATORS = [Path("/work/shared/bench/gen.py"), HERE / "gen_drift_data.py"]
AIMS = [sys.executable, "-m", "aims"]


def _generator() -> Any:
    for path in GENERATORS:
        if path.exists():
            spec = importlib.util.spec_from_file_location("drift_gen", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            if hasattr(module, "make_frame"):
                return module
    raise SystemExit("no drift data generator with make_frame() found")


def make_data(rows: int, folder: Path) -> tuple[Path, Path]:
    """Reference and current folders of ``rows`` rows each, one file per million rows."""
    import numpy as np
    import pyarrow.parquet as pq

    gen = _generator()
    sides = {"reference": folder / f"ref_{rows}", "current": folder / f"cur_{rows}"}
    for k, (side, path) in enumerate(sides.items()):
        path.mkdir(parents=True, exist_ok=True)
        files = (rows + ROWS_PER_FILE - 1) // ROWS_PER_FILE
        for i in range(files):
            target = path / f"part-{i:04d}.parquet"
            if target.exists():
                continue
            n = min(ROWS_PER_FILE, rows - i * ROWS_PER_FILE)
            rng = np.random.default_rng([42, k, i])
            table = gen.make_frame(n, rng, side == "current")
            tmp = target.with_suffix(".tmp")
            pq.write_table(table, tmp, row_group_size=250_000)
            tmp.rename(target)
        print(f"{side}: {files} files in {path}", file=sys.stderr)
    return sides["reference"], sides["current"]


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd``; wall and CPU seconds, peak RSS of the largest process, load before and after.

    CPU time and peak RSS come from ``wait4``: the command's own and those of every
    process it waited for (Dask worker processes, the Spark JVM and Python workers).
    """
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        errors = err.read().strip()
        out.seek(0)
        output = out.read()
    result: dict[str, Any] = {
        "cmd": " ".join(str(c) for c in cmd[3:]),
        "ok": proc.returncode == 0,
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "stdout_tail": output.strip().splitlines()[-1:] if output.strip() else [],
    }
    if proc.returncode != 0:
        result["error"] = errors.splitlines()[-1:] if errors else ["(no message)"]
    return result


def run_aims(ref: Path, cur: Path, out: Path) -> list[dict[str, Any]]:
    engines: list[tuple[str, list[str]]] = [
        ("local (1 process)", ["--engine", "local"]),
        ("dask, 1 worker", ["--engine", "dask", "--workers", "1"]),
        ("dask, 2 workers", ["--engine", "dask", "--workers", "2"]),
        ("spark local[2]", ["--engine", "spark", "--scheduler", "local[2]"]),
    ]
    rows = []
    for name, flags in engines:
        prof = measure([*AIMS, "profile", str(ref), "--out", str(out / "ref.profile"), *flags])
        drift = measure([*AIMS, "drift", str(ref), str(cur), "--format", "json", *flags])
        rows.append({"engine": name, "profile": prof, "drift": drift})
        print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


# the pins benchmarks/drift.py uses for the same peer
WHYLOGS_PINS = ["whylogs[viz]==1.6.4", "numpy<2", "pyarrow<22", "pandas<3"]
WHYLOGS_WORKER = r"""
import glob, sys, time
import pyarrow.parquet as pq
import whylogs as why
from whylogs.viz.drift.column_drift_algorithms import calculate_drift_scores
def view(folder):
    merged = None
    for path in sorted(glob.glob(folder + "/*.parquet")):
        v = why.log(pandas=pq.read_table(path).to_pandas()).view()
        merged = v if merged is None else merged.merge(v)
    return merged
t0 = time.perf_counter(); ref = view(sys.argv[1]); t1 = time.perf_counter()
cur = view(sys.argv[2]); scores = calculate_drift_scores(target_view=cur, reference_view=ref, with_thresholds=True)
print(t1 - t0, time.perf_counter() - t0, sum(1 for s in scores.values() if (s or {}).get("drift_category") == "DRIFT"))
"""


def run_whylogs(ref: Path, cur: Path) -> dict[str, Any]:
    venv = HERE / "venv-whylogs"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *WHYLOGS_PINS],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            return {"ok": False, "error": done.stderr.strip().splitlines()[-1:]}
    result = measure(
        [str(python), "-c", WHYLOGS_WORKER, str(ref), str(cur)],
        env={"WHYLOGS_NO_ANALYTICS": "True", "PYTHONWARNINGS": "ignore"},
    )
    return result


def table(data: dict[str, Any]) -> str:
    rows = data["rows"]
    lines = [
        "| engine | profile wall s | profile CPU s | drift wall s | drift CPU s | "
        "drift rows/s | peak RSS MB | load avg (before/after drift) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in data["aims"]:
        p, d = r["profile"], r["drift"]
        rate = f"{2 * rows / d['wall_s']:,.0f}" if d["ok"] else "failed"
        lines.append(
            f"| {r['engine']} | {p['wall_s']} | {p['cpu_s']} | {d['wall_s']} | {d['cpu_s']} | "
            f"{rate} | {max(p['peak_rss_mb'], d['peak_rss_mb'])} | "
            f"{d['load_before']} / {d['load_after']} |"
        )
    w = data.get("whylogs")
    if w:
        rate = f"{2 * rows / w['wall_s']:,.0f}" if w.get("ok") else "failed"
        lines.append(
            f"| whylogs (1 process) | - | - | {w.get('wall_s', '-')} | {w.get('cpu_s', '-')} | "
            f"{rate} | {w.get('peak_rss_mb', '-')} | {w.get('load_before', '-')} / "
            f"{w.get('load_after', '-')} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=30_000_000, help="rows per side")
    ap.add_argument("--quick", action="store_true", help="2 million rows per side")
    ap.add_argument("--data", type=Path, default=HERE / "data" / "scale")
    ap.add_argument("--no-whylogs", action="store_true", help="skip the whylogs run")
    ap.add_argument("--only-whylogs", action="store_true", help="rerun whylogs alone")
    args = ap.parse_args()
    rows = 2_000_000 if args.quick else args.rows
    ref, cur = make_data(rows, args.data)
    out = args.data / "profiles"
    out.mkdir(parents=True, exist_ok=True)
    results = HERE / "results"
    saved = results / f"scale_{rows}.json"
    if args.only_whylogs:
        data = json.loads(saved.read_text())
        data["whylogs"] = run_whylogs(ref, cur)
        saved.write_text(json.dumps(data, indent=2) + "\n")
        print(table(data))
        return
    data: dict[str, Any] = {
        "rows": rows,
        "columns": 27,
        "cores": os.cpu_count(),
        "machine": platform.platform(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "aims": run_aims(ref, cur, out),
    }
    if not args.no_whylogs:
        data["whylogs"] = run_whylogs(ref, cur)
    results.mkdir(exist_ok=True)
    saved.write_text(json.dumps(data, indent=2) + "\n")
    print(table(data))


if __name__ == "__main__":
    main()
